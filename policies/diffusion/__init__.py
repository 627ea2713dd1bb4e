"""Diffusion (DDPM/DDIM) and flow-matching action-chunk policies."""
from .policy import DiffusionPolicy, build_schedule

__all__ = ["DiffusionPolicy", "build_schedule"]

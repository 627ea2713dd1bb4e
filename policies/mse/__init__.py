"""Plain L2 behaviour cloning of action chunks (the non-generative baseline)."""
from .policy import MseBcPolicy

__all__ = ["MseBcPolicy"]

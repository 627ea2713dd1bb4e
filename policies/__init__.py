"""Chunked behaviour-cloning policies: diffusion / flow-matching (``DiffusionPolicy``) and plain L2
regression (``MseBcPolicy``) over action chunks, with their networks (1-D U-Net, transformer),
schedules, the one sequential sampling loop, data windows, training, checkpoints and the control-loop
adapter (``ChunkedPolicy``).

Imports nothing from ``parapolicy.envs``, ``parapolicy.planners`` or ``parapolicy.scripts``.
"""
from .base import ChunkPolicyBase
from .checkpoint import (CheckpointError, load_policy, load_training_state, read_checkpoint_config,
                         save_checkpoint, save_training_state)
from .config import PolicyConfig, TrainConfig
from .data import ChunkDataset, min_episode_length
from .diffusion import DiffusionPolicy
from .ema import EMA
from .factory import make_policy
from .mse import MseBcPolicy
from .networks import count_parameters, make_network
from .normalizer import Normalizer, RangeNormalizer
from .runner import ChunkedPolicy
from .sampling import SampleOutcome, denoise
from .schedules import DDIMSchedule, DDPMSchedule, FlowSchedule, StepOutput, make_schedule
from .trainer import train
from .transformer import TransformerDenoiser
from .unet1d import ConditionalUnet1D

__all__ = [
    "CheckpointError", "ChunkDataset", "ChunkPolicyBase", "ChunkedPolicy", "ConditionalUnet1D", "DDIMSchedule",
    "DDPMSchedule", "DiffusionPolicy", "EMA", "FlowSchedule", "MseBcPolicy", "Normalizer", "PolicyConfig",
    "RangeNormalizer", "SampleOutcome", "StepOutput", "TrainConfig", "TransformerDenoiser", "count_parameters",
    "denoise", "load_policy", "load_training_state", "make_network", "make_policy", "make_schedule",
    "min_episode_length", "read_checkpoint_config", "save_checkpoint", "save_training_state", "train",
]

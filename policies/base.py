"""What every chunked policy shares: config, normalizer, backbone network and its EMA copy,
observation encoding and action un-normalization.

Subclasses (``DiffusionPolicy``, ``MseBcPolicy``) add the training loss and ``predict_chunk``.
The module's ``state_dict`` holds the live network under ``model.`` and the EMA network under
``ema.`` — exactly what ``model.safetensors`` stores.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from .config import PolicyConfig
from .networks import count_parameters, make_network
from .normalizer import Normalizer


class ChunkPolicyBase(nn.Module):
    """Base of chunked BC policies. ``normalizer`` None means identity statistics (data already in
    [-1, 1]); use the dataset's ``ChunkDataset.normalizer`` for real data. ``use_ema`` (default True)
    makes inference use the EMA weights."""

    def __init__(self, config: PolicyConfig, normalizer: Normalizer | None = None) -> None:
        super().__init__()
        if not isinstance(config, PolicyConfig):
            raise ValueError(f"config must be a PolicyConfig, got {type(config).__name__}")
        if normalizer is None:
            normalizer = Normalizer.identity(obs=config.obs_dim, action=config.action_dim)
        for key, d in (("obs", config.obs_dim), ("action", config.action_dim)):
            if key not in normalizer or normalizer[key].dim != d:
                got = normalizer[key].dim if key in normalizer else "missing"
                raise ValueError(f"normalizer {key} dim must be {d} (config), got {got}")
        self.config = config
        self.normalizer = normalizer
        self.model = make_network(config)
        self.ema = copy.deepcopy(self.model).requires_grad_(False).eval()
        self.use_ema = True
        self.__dict__["_traced"] = None  # the traced network from trace_inference; not a submodule

    # -- shapes ------------------------------------------------------------------------------------
    @property
    def obs_horizon(self) -> int:
        """To: observation frames per prediction."""
        return self.config.obs_horizon

    @property
    def pred_horizon(self) -> int:
        """H: actions per predicted chunk."""
        return self.config.pred_horizon

    @property
    def action_horizon(self) -> int:
        """Ta: actions executed per chunk by a controller."""
        return self.config.action_horizon

    @property
    def action_offset(self) -> int:
        """Chunk index of the action for the current step (``To - 1``: the chunk starts at the first
        observation frame)."""
        return self.config.obs_horizon - 1

    @property
    def device(self) -> torch.device:
        """Where the weights live. The first weight is looked up once and kept (walking the module
        tree costs about 40 µs, several times per replan); moving or reloading the policy forgets it."""
        first = self.__dict__.get("_first_param")
        if first is None:
            first = next(self.model.parameters())
            self.__dict__["_first_param"] = first
        return first.device

    def _forget_weights(self) -> None:
        """The weights are about to move or change: drop the cached first weight and a traced copy
        (its frozen weights would be stale, or on the old device)."""
        self.__dict__["_first_param"] = None
        self.__dict__["_traced"] = None

    def _apply(self, fn: Any, recurse: bool = True) -> "ChunkPolicyBase":
        self._forget_weights()  # .to()/.cuda()/.double() may replace the parameters
        return super()._apply(fn, recurse)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """``nn.Module.load_state_dict``; drops the cached first weight and a traced copy."""
        self._forget_weights()
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def num_parameters(self) -> int:
        """Trainable parameters of the network (the EMA copy is not counted)."""
        return count_parameters(self.model)

    def train(self, mode: bool = True) -> "ChunkPolicyBase":
        """Set the live network's mode; the EMA copy always stays in eval mode. Training mode drops
        a traced copy (``trace_inference``), whose weights would go stale."""
        super().train(mode)
        self.ema.eval()
        if mode:
            self.__dict__["_traced"] = None
        return self

    @property
    def inference_net(self) -> nn.Module:
        """The EMA network when ``use_ema``, else the live one."""
        return self.ema if self.use_ema else self.model

    @property
    def traced(self) -> bool:
        """Whether inference runs a traced copy of ``inference_net`` (``trace_inference``; training
        mode, a move and a weight load drop it)."""
        return self.__dict__.get("_traced") is not None

    @property
    def inference_call(self) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
        """What inference calls: the traced copy after ``trace_inference()``, else ``inference_net``."""
        held = self.__dict__.get("_traced")
        return held if held is not None else self.inference_net

    def example_network_time(self) -> Tensor:
        """A ``(1,)`` network time of the dtype inference passes (for tracing)."""
        return torch.zeros((1,), device=self.device)

    def trace_inference(self) -> "ChunkPolicyBase":
        """Run inference through a frozen TorchScript trace of ``inference_net`` (``traced.py``):
        about twice as fast at batch 1 on a CPU, same outputs. Checked against the eager network;
        raises ``traced.TraceMismatchError`` (and keeps the eager one) when they differ."""
        from .experts import LevelExperts
        from .traced import trace_network

        cfg = self.config
        g = torch.Generator().manual_seed(0)
        obs = torch.randn((1, cfg.obs_horizon, cfg.obs_dim), generator=g)  # (1, To, Do)
        x = torch.randn((1, cfg.pred_horizon, cfg.action_dim), generator=g).to(self.device)  # (1, H, Da)
        with torch.no_grad():
            example = (x, self.example_network_time(), self.encode_obs(obs))
        net = self.inference_net
        if isinstance(net, LevelExperts):
            # a trace would freeze the routing taken for the example's level: trace each expert and
            # keep the routing in Python (one comparison per call)
            experts = [trace_network(e, example) for e in net.experts]
            self.__dict__["_traced"] = LevelExperts(experts, net.levels.tolist()).to(self.device)
        else:
            self.__dict__["_traced"] = trace_network(net, example)
        return self

    # -- observations and actions ----------------------------------------------------------------------
    def normalize_obs(self, obs: Tensor) -> Tensor:
        """Raw observations ``(..., Do)`` → normalized."""
        return self.normalizer.normalize("obs", obs)

    def unnormalize_action(self, actions: Tensor) -> Tensor:
        """Normalized actions ``(..., Da)`` → raw units."""
        return self.normalizer.unnormalize("action", actions)

    def encode_obs(self, obs_hist: Tensor) -> Tensor:
        """Raw observation history ``(B, To, Do)`` → condition ``(B, To·Do)`` (normalized, flattened)."""
        To, Do = self.config.obs_horizon, self.config.obs_dim
        if obs_hist.dim() != 3 or tuple(obs_hist.shape[1:]) != (To, Do):
            raise ValueError(f"obs history must be (B, {To}, {Do}), got {tuple(obs_hist.shape)}")
        x = obs_hist.to(device=self.device, dtype=torch.float32)
        return self.normalize_obs(x).reshape(x.shape[0], To * Do)  # (B, To·Do)

    def prepare_obs_history(self, obs_history: np.ndarray | Tensor) -> tuple[Tensor, bool]:
        """Validate a raw history ``(To, Do)`` or ``(B, To, Do)``: (float32 tensor ``(B, To, Do)`` on the
        policy's device, whether the input was unbatched)."""
        x = obs_history if isinstance(obs_history, Tensor) else torch.as_tensor(np.asarray(obs_history))
        To, Do = self.config.obs_horizon, self.config.obs_dim
        shape = tuple(x.shape)
        single = x.dim() == 2
        if single:
            x = x.unsqueeze(0)
        if x.dim() != 3 or tuple(x.shape[1:]) != (To, Do):
            raise ValueError(f"obs history must be ({To}, {Do}) or (B, {To}, {Do}), got {shape}")
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise ValueError(f"obs history must be real numbers, got dtype {x.dtype}")
        x = x.to(device=self.device, dtype=torch.float32)  # (B, To, Do)
        if not torch.isfinite(x).all():
            raise ValueError("obs history contains NaN or inf")
        return x, single

    def _finish(self, x0: Tensor, single: bool) -> np.ndarray:
        """Normalized chunk ``(B, H, Da)`` → raw float32 numpy (``(H, Da)`` for unbatched input)."""
        actions = self.unnormalize_action(x0.float()).detach().cpu().numpy().astype(np.float32)  # (B, H, Da)
        return actions[0] if single else actions

    def extra_repr(self) -> str:
        c = self.config
        return (f"kind={c.kind}, denoiser={c.denoiser}, To={c.obs_horizon}, H={c.pred_horizon}, "
                f"Ta={c.action_horizon}, Do={c.obs_dim}, Da={c.action_dim}, params={self.num_parameters():,}")

    def describe(self) -> dict[str, Any]:
        """A JSON-able summary (kind, shapes, parameter count)."""
        return {"kind": self.config.kind, "denoiser": self.config.denoiser, "params": self.num_parameters(),
                "obs_dim": self.config.obs_dim, "action_dim": self.config.action_dim}

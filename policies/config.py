"""Configuration dataclasses for chunked behaviour-cloning policies and their training.

``PolicyConfig`` says *what* a policy is (kind, shapes, horizons, objective, sampler, network size);
``TrainConfig`` says *how* it is trained (optimizer, schedule, EMA, logging, checkpoints). Both are
validated in ``__post_init__`` with messages that list the allowed values, and both round-trip
through plain dicts (``to_dict`` / ``from_dict``) so they can live in ``config.json`` beside the
weights and in Hydra configs.

Defaults (chosen for small state-based tasks on a 2-core CPU):

* Diffusion Policy alignment (Chi et al. 2023): ``obs_horizon`` To = 2, ``pred_horizon`` H = 16,
  ``action_horizon`` Ta = 8; DDPM with 100 squared-cosine training levels and ε-prediction.
* Inference: a DDPM-trained model samples with **DDIM, 10 steps** by default (deterministic, ~10x
  cheaper than DDPM-100 at similar quality); ``sampler="ddpm", inference_steps=100`` reproduces the
  paper's ancestral sampler. A flow-trained model samples with Euler, 10 steps.
* U-Net ``down_dims = (32, 64, 128)``, kernel 5, 8 groups, step embedding 32: 1.05 M parameters for
  a Fork-like task (Do = 6, Da = 2). Chi et al.'s paper size is (256, 512, 1024) / 256 (65 M here).
  On this 2-core CPU (one torch thread) it trains at ~6 steps/s at batch 256 and answers a DDIM-10
  chunk in ~35 ms at batch 1; Fork-v0 reaches ~90 % success after 600 steps at lr 1e-3.
* Transformer: 4 layers, 4 heads, 128-wide embedding, dropout 0.1, causal: 1.19 M parameters; it
  trains ~3x slower than the U-Net on this CPU and needs far more steps (after 600 steps on Fork-v0
  its closed-loop success was poor), so the U-Net is the default denoiser.
* Threads: on a shared 2-core machine use ``torch.set_num_threads(1)``; two threads competing with
  other processes made training and sampling 5-20x slower in our measurements.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

POLICY_KINDS = ("diffusion", "mse")
DENOISERS = ("unet", "transformer", "mlp")
# The PolicyConfig fields that say which network a policy runs and how large it is.
NETWORK_FIELDS = ("denoiser", "down_dims", "kernel_size", "n_groups", "step_embed_dim", "mid_blocks", "level_blocks",
                  "n_layer", "n_head", "n_emb", "p_drop", "causal_attn", "mlp_width", "mlp_blocks", "x0_skip")
OBJECTIVES = ("ddpm", "flow")
SAMPLERS = ("ddpm", "ddim", "flow")
DEVICES = ("auto", "cpu", "cuda")
# Which samplers can run a model trained with each objective.
SAMPLERS_FOR_OBJECTIVE = {"ddpm": ("ddpm", "ddim"), "flow": ("flow",)}
DEFAULT_SAMPLER = {"ddpm": "ddim", "flow": "flow"}
DEFAULT_INFERENCE_STEPS = 10


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_int(name: str, v: Any, lo: int) -> None:
    if not _is_int(v) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")


def _check_choice(name: str, v: Any, allowed: tuple[str, ...]) -> None:
    if v not in allowed:
        raise ValueError(f"unknown {name} {v!r}; allowed: {', '.join(allowed)}")


def _check_real(name: str, v: Any, lo: float, hi: float = math.inf, *, lo_open: bool = False) -> None:
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isnan(float(v))
    if ok:
        ok = (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        bound = f"{'>' if lo_open else '>='} {lo}" + ("" if math.isinf(hi) else f" and <= {hi}")
        raise ValueError(f"{name} must be a number {bound}, got {v!r}")


def _from_dict(cls: type, data: dict[str, Any], what: str) -> Any:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys with the list of known ones."""
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a mapping, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"unknown {what} field(s) {', '.join(unknown)}; allowed: {', '.join(names)}")
    return cls(**data)


@dataclass
class PolicyConfig:
    """What a chunked policy is: kind, shapes, horizons, objective, sampler and network size.

    ``timesteps``: an explicit list of K+1 inference levels (noisiest first, ending at the terminal
    level ``-1`` for DDPM/DDIM or ``0.0`` for flow) that overrides ``inference_steps``; a distilled
    student is just a policy with its own ``timesteps`` (and ``teacher``, the path of the checkpoint
    it was distilled from). ``level_experts``: one network per step of ``timesteps`` instead of one
    shared by all (``policies.experts``; students only). ``expert_nets``: with ``level_experts``, one
    mapping of network fields (``NETWORK_FIELDS``) per step that its expert overrides (null or ``{}``:
    this config's network), so the steps' networks may differ in size (``planners.finisher``).
    """

    obs_dim: int
    action_dim: int
    kind: str = "diffusion"
    obs_horizon: int = 2
    pred_horizon: int = 16
    action_horizon: int = 8
    denoiser: str = "unet"
    objective: str = "ddpm"
    num_train_steps: int = 100
    sampler: str | None = None  # None: "ddim" for objective ddpm, "flow" for objective flow
    inference_steps: int = DEFAULT_INFERENCE_STEPS
    timesteps: list[float] | None = None
    teacher: str | None = None
    clip_sample: bool = True  # clip DDPM/DDIM x0 estimates to the normalized range [-1, 1]
    # U-Net size
    down_dims: tuple[int, ...] = (32, 64, 128)
    kernel_size: int = 5
    n_groups: int = 8
    step_embed_dim: int = 32
    mid_blocks: int = 2  # residual blocks at the U-Net's bottleneck
    level_blocks: int = 2  # residual blocks per U-Net level (1: the second, same-width one left out)
    # transformer size
    n_layer: int = 4
    n_head: int = 4
    n_emb: int = 128
    p_drop: float = 0.1
    causal_attn: bool = True
    # residual-MLP size (``policies.mlp``; a cheap network for few-step students)
    mlp_width: int = 512
    mlp_blocks: int = 3
    # output form: the network predicts a correction to x_t, x0 = x_t + r (``policies.skip``; flow only)
    x0_skip: bool = False
    env_id: str | None = None
    level_experts: bool = False
    expert_nets: list[Any] | None = None

    def __post_init__(self) -> None:
        _check_choice("policy kind", self.kind, POLICY_KINDS)
        _check_choice("denoiser", self.denoiser, DENOISERS)
        _check_choice("objective", self.objective, OBJECTIVES)
        for name in ("obs_dim", "action_dim", "obs_horizon", "pred_horizon", "action_horizon",
                     "num_train_steps", "inference_steps", "kernel_size", "n_groups", "step_embed_dim",
                     "n_layer", "n_head", "n_emb", "mlp_width"):
            _check_int(name, getattr(self, name), 1)
        _check_int("mlp_blocks", self.mlp_blocks, 0)
        _check_int("mid_blocks", self.mid_blocks, 0)
        if not _is_int(self.level_blocks) or self.level_blocks not in (1, 2):
            raise ValueError(f"level_blocks must be 1 or 2, got {self.level_blocks!r}")
        if self.obs_horizon - 1 + self.action_horizon > self.pred_horizon:
            raise ValueError(
                f"need obs_horizon - 1 + action_horizon <= pred_horizon (the executed actions start at chunk "
                f"index obs_horizon - 1), got To={self.obs_horizon} Ta={self.action_horizon} H={self.pred_horizon}")
        if self.sampler is None:
            self.sampler = DEFAULT_SAMPLER[self.objective]
        _check_choice("sampler", self.sampler, SAMPLERS)
        allowed = SAMPLERS_FOR_OBJECTIVE[self.objective]
        if self.sampler not in allowed:
            raise ValueError(f"sampler {self.sampler!r} cannot run a model trained with objective "
                             f"{self.objective!r}; allowed: {', '.join(allowed)}")
        if self.objective == "ddpm" and self.inference_steps > self.num_train_steps:
            raise ValueError(f"inference_steps must be <= num_train_steps ({self.num_train_steps}) for "
                             f"ddpm/ddim, got {self.inference_steps}")
        if not isinstance(self.x0_skip, bool):
            raise ValueError(f"x0_skip must be a boolean, got {self.x0_skip!r}")
        if self.x0_skip and self.objective != "flow":
            raise ValueError(f"x0_skip needs objective flow (it divides by the flow time), got {self.objective!r}")
        if not isinstance(self.clip_sample, bool) or not isinstance(self.causal_attn, bool):
            raise ValueError(f"clip_sample and causal_attn must be booleans, got {self.clip_sample!r}, "
                             f"{self.causal_attn!r}")
        if isinstance(self.down_dims, (str, bytes)) or not hasattr(self.down_dims, "__iter__"):
            raise ValueError(f"down_dims must be a list of channel counts, got {self.down_dims!r}")
        self.down_dims = tuple(self.down_dims)
        if not self.down_dims or not all(_is_int(d) and d >= 1 for d in self.down_dims):
            raise ValueError(f"down_dims must be a non-empty list of integers >= 1, got {self.down_dims!r}")
        if any(d % self.n_groups for d in self.down_dims):
            raise ValueError(f"every down_dims entry must be divisible by n_groups={self.n_groups}, "
                             f"got {self.down_dims}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same-length convolutions), got {self.kernel_size}")
        if self.step_embed_dim % 2:
            raise ValueError(f"step_embed_dim must be even (sin/cos halves), got {self.step_embed_dim}")
        if self.denoiser == "unet":
            factor = 2 ** (len(self.down_dims) - 1)
            if self.pred_horizon % factor:
                raise ValueError(f"pred_horizon must be divisible by 2**(len(down_dims) - 1) = {factor} for "
                                 f"the U-Net, got {self.pred_horizon}")
        if self.n_emb % self.n_head or self.n_emb % 2:
            raise ValueError(f"n_emb must be even and divisible by n_head={self.n_head}, got {self.n_emb}")
        _check_real("p_drop", self.p_drop, 0.0, 1.0)
        if self.p_drop >= 1.0:
            raise ValueError(f"p_drop must be < 1, got {self.p_drop}")
        if self.timesteps is not None:
            self.timesteps = self._validated_timesteps(self.timesteps)
        if not isinstance(self.level_experts, bool):
            raise ValueError(f"level_experts must be a boolean, got {self.level_experts!r}")
        if self.level_experts and self.timesteps is None:
            raise ValueError("level_experts needs explicit timesteps (one network per step)")
        if self.expert_nets is not None:
            self.expert_nets = self._validated_expert_nets(self.expert_nets)
        for name in ("teacher", "env_id"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{name} must be a string or None, got {v!r}")

    def _validated_expert_nets(self, nets: Any) -> list[dict[str, Any]]:
        if not self.level_experts:
            raise ValueError("expert_nets needs level_experts (one network per step)")
        if isinstance(nets, (str, bytes)) or not hasattr(nets, "__iter__"):
            raise ValueError(f"expert_nets must be a list of network-field mappings, one per step, got {nets!r}")
        out = [dict(n) if n is not None and hasattr(n, "keys") else n for n in nets]
        steps = len(self.timesteps or []) - 1
        if len(out) != steps:
            raise ValueError(f"expert_nets needs one entry per step ({steps}), got {len(out)}")
        for n in out:
            if n is None:
                continue
            if not isinstance(n, dict):
                raise ValueError(f"each expert_nets entry must be a mapping of network fields or null, got {n!r}")
            unknown = sorted(set(n) - set(NETWORK_FIELDS))
            if unknown:
                raise ValueError(f"unknown expert_nets field(s) {unknown}; allowed: {', '.join(NETWORK_FIELDS)}")
        return [n or {} for n in out]

    def expert_config(self, i: int) -> "PolicyConfig":
        """The single-network config of step ``i``'s expert (``expert_nets[i]`` applied)."""
        over = dict(self.expert_nets[i]) if self.expert_nets is not None else {}
        if "down_dims" in over:
            over["down_dims"] = tuple(over["down_dims"])
        return dataclasses.replace(self, level_experts=False, expert_nets=None, **over)

    def _validated_timesteps(self, ts: Any) -> list[float]:
        if isinstance(ts, (str, bytes)) or not hasattr(ts, "__iter__"):
            raise ValueError(f"timesteps must be a list of K+1 levels, got {ts!r}")
        vals = [float(v) for v in ts]
        if len(vals) < 2:
            raise ValueError(f"timesteps must hold K+1 >= 2 levels (noisiest first), got {vals}")
        if any(b >= a for a, b in zip(vals, vals[1:])):
            raise ValueError(f"timesteps must be strictly decreasing (noisiest first), got {vals}")
        if self.objective == "ddpm":
            T = self.num_train_steps
            if any(v != int(v) for v in vals) or vals[0] > T - 1 or vals[-1] != -1:
                raise ValueError(f"ddpm/ddim timesteps must be integers in [-1, {T - 1}] ending at -1, got {vals}")
            return [int(v) for v in vals]
        if vals[0] > 1.0 or vals[-1] != 0.0:
            raise ValueError(f"flow timesteps must lie in [0, 1] and end at 0, got {vals}")
        return vals

    @property
    def num_inference_steps(self) -> int:
        """K: steps of the default sampler (``len(timesteps) - 1`` when explicit timesteps are set)."""
        return len(self.timesteps) - 1 if self.timesteps is not None else self.inference_steps

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["down_dims"] = list(self.down_dims)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PolicyConfig":
        """Inverse of ``to_dict``; unknown keys raise ``ValueError`` listing the allowed ones."""
        return _from_dict(cls, data, "policy config")


@dataclass
class TrainConfig:
    """How a policy is trained (Chi et al. reference values unless noted).

    ``steps``: optimizer steps in total. ``batch_size``: global batch (split across DDP ranks).
    ``warmup_steps`` linear warm-up, then cosine decay to 0 at ``steps``. EMA: decay
    ``1 - (1 + step/ema_inv_gamma)^-ema_power`` clipped to [ema_min_decay, ema_max_decay].
    ``grad_clip``: max global grad norm (None: no clipping, as the reference). ``log_every`` /
    ``ckpt_every`` / ``eval_every``: period in steps (0 disables checkpoints / evals during training;
    the final checkpoint is always written). ``keep_step_checkpoints``: also keep ``step_<n>`` copies.
    ``device``: auto (CUDA when present, else CPU), cpu or cuda.
    """

    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-4
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    betas: tuple[float, float] = (0.95, 0.999)
    eps: float = 1e-8
    ema_power: float = 0.75
    ema_inv_gamma: float = 1.0
    ema_min_decay: float = 0.0
    ema_max_decay: float = 0.9999
    ema_update_after_step: int = 0
    grad_clip: float | None = None
    log_every: int = 50
    ckpt_every: int = 1000
    eval_every: int = 0
    keep_step_checkpoints: bool = False
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_int("steps", self.steps, 1)
        _check_int("batch_size", self.batch_size, 1)
        for name in ("warmup_steps", "ema_update_after_step", "log_every", "ckpt_every", "eval_every",
                     "seed", "num_workers"):
            _check_int(name, getattr(self, name), 0)
        _check_real("lr", self.lr, 0.0, lo_open=True)
        _check_real("weight_decay", self.weight_decay, 0.0)
        _check_real("eps", self.eps, 0.0, lo_open=True)
        if isinstance(self.betas, (str, bytes)) or not hasattr(self.betas, "__len__") or len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        for i, b in enumerate(self.betas):
            _check_real(f"betas[{i}]", b, 0.0, 1.0)
        _check_real("ema_power", self.ema_power, 0.0, lo_open=True)
        _check_real("ema_inv_gamma", self.ema_inv_gamma, 0.0, lo_open=True)
        _check_real("ema_min_decay", self.ema_min_decay, 0.0, 1.0)
        _check_real("ema_max_decay", self.ema_max_decay, 0.0, 1.0)
        if self.ema_min_decay > self.ema_max_decay:
            raise ValueError(f"ema_min_decay ({self.ema_min_decay}) must be <= ema_max_decay ({self.ema_max_decay})")
        if self.grad_clip is not None:
            _check_real("grad_clip", self.grad_clip, 0.0, lo_open=True)
        if not isinstance(self.keep_step_checkpoints, bool):
            raise ValueError(f"keep_step_checkpoints must be a boolean, got {self.keep_step_checkpoints!r}")
        _check_choice("device", self.device, DEVICES)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of ``to_dict``; unknown keys raise ``ValueError`` listing the allowed ones."""
        return _from_dict(cls, data, "train config")


__all__ = ["PolicyConfig", "TrainConfig", "POLICY_KINDS", "DENOISERS", "NETWORK_FIELDS", "OBJECTIVES", "SAMPLERS",
           "SAMPLERS_FOR_OBJECTIVE"]

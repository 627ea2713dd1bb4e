"""Distill a 1–4 step student from a trained teacher ``DiffusionPolicy``.

Method: *one-stage step distillation of the teacher's deterministic sampler* (progressive
distillation's step-matching target, Salimans & Ho 2022, applied to all student steps at once). The
teacher's own sampler made deterministic — DDIM (η = 0) over its inference steps for DDPM/DDIM teachers
(the probability-flow ODE of the same network), Euler for flow teachers — maps an initial noise x_T and
an observation to a trajectory and a chunk x0*. The student is a copy of the teacher (initialised from
its weights) with N levels t_0 > … > t_N. Step n of the student, taken from the teacher's trajectory
point at t_n, must land exactly where the teacher's sampler is at t_{n+1}; since a DDIM/Euler step is
affine in the x0 the network implies, that landing point defines an x0 target, and the loss is the MSE
in x0 space (the last step's target is x0* itself, so a 1-step student regresses the teacher's whole
noise → x0 map). Sampling the student is N ordinary DDIM/Euler steps.

Why this and not halving progressive distillation: one training stage instead of log2(K/N), each of
which would need its own teacher rollouts; every student step is trained against what the teacher's
actual sampler does over the same span, so a student that starts from the teacher's weights starts
near the optimum wherever the teacher is already accurate with coarse steps (training on an x0*-only
target for every level instead made 4-step students *worse* than the untrained teacher at 4 steps in
our probes); and the teacher's cost is paid once — a bank of (obs, trajectory, x0*) pairs is
generated up front and the student trains many epochs over it, which matters on a 2-core CPU.
Consistency Policy / OneDP report 1–3 step students near teacher success on low-dimensional chunks.

ε-prediction is badly conditioned at the very top of the DDPM schedule (x0 = (x − √(1−ᾱ)·ε)/√ᾱ with
√ᾱ ≈ 5e-4 amplifies output errors 2000×), so a diffusion student's first level is the highest one with
ᾱ ≥ ``min_alpha_bar`` (default 0.02, √ᾱ ≈ 0.14); its input there is still the pure initial noise (the
marginal at that level is N(0, 1 − ᾱ + ᾱ·Var x0) ≈ N(0, 1)), exactly what the training pairs used.
Flow students use the plain uniform grid (velocity prediction is well conditioned at t = 1).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor

from parapolicy.policies.sampling import check_temperature
from parapolicy.policies.schedules import DDIMSchedule, FlowSchedule

from .schedule_math import output_from_x0, x0_from_output


LOSS_SPACES = ("x0", "landing")  # where a student step's error is measured (``StudentFit``)
LOSSES = ("mse", "pseudo_huber")  # how a chunk's error is penalised (``StudentFit``, ``chunk_loss``)
OBJECTIVES = ("trajectory", "reflow")  # what a student step is trained to reproduce (``StudentFit``)


def chunk_loss(diff: Tensor, loss: str = "mse", c: float = 0.003) -> Tensor:
    """Per-chunk penalty of x0 errors ``diff (..., H·Da)`` → ``(...)``.

    ``mse``: the mean squared error over the chunk. ``pseudo_huber``: sqrt(e² + c²) − c on the chunk's
    RMS error e (improved consistency training, Song & Dhariwal 2023, uses it on the whole sample): about
    e²/(2c) below c and e above it, so a few chunks far from their label (histories where the teacher's
    map jumps between modes) pull the fit linearly, not quadratically — the student is drawn toward
    the majority's chunk instead of the mean of the modes, which no mode contains."""
    sq = diff.pow(2).mean(dim=-1)  # (...)
    if loss == "mse":
        return sq
    if loss == "pseudo_huber":
        return (sq + c * c).sqrt() - c
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def check_student_net(net: Any, name: str = "student network") -> dict[str, Any]:
    """``net`` (None or a mapping of ``PolicyConfig.NETWORK_FIELDS``) as a plain dict; ``ValueError``
    naming ``name`` for anything else or an unknown field."""
    from parapolicy.policies.config import NETWORK_FIELDS

    if net is None:
        return {}
    if not hasattr(net, "keys"):
        raise ValueError(f"{name} must be a mapping of network fields, e.g. {{denoiser: mlp}}, got {net!r}")
    unknown = sorted(set(net) - set(NETWORK_FIELDS))
    if unknown:
        raise ValueError(f"unknown {name} field(s) {unknown}; allowed: {', '.join(NETWORK_FIELDS)}")
    return dict(net)


def check_number(name: str, v: Any, lo: float, hi: float = math.inf, *, strict: bool = False) -> float:
    """``v`` as a float if it is a finite number in [lo, hi] (> lo when ``strict``), else ``ValueError``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v > hi or (v <= lo if strict else v < lo):
        bounds = f"> {lo:g}" if strict else (f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]")
        raise ValueError(f"{name} must be a number {bounds}, got {v!r}")
    return float(v)


def executed_weights(H: int, To: int, Ta: int, weight: float) -> Tensor:
    """Per-position loss weights ``(H, 1)``, mean 1: the Ta positions a replan executes (from index
    To − 1) weigh ``weight`` times the rest."""
    pos_w = torch.ones(H, 1)  # (H, 1)
    pos_w[To - 1:To - 1 + Ta] = float(weight)
    return pos_w / pos_w.mean()


def check_fit_options(loss: str, huber_c: Any, executed_weight: Any, anchor: Any, objective: str,
                      reflow_uniform: Any) -> None:
    """One-line ``ValueError`` for a bad ``StudentFit`` fitting option (shared with ``parapolicy-distill``'s
    config, which checks before loading anything)."""
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    check_number("huber_c", huber_c, 0, strict=True)
    check_number("executed_weight", executed_weight, 0, strict=True)
    check_number("anchor", anchor, 0)
    check_number("reflow_uniform", reflow_uniform, 0, 1)


def student_timesteps(schedule: Any, steps: int, *, min_alpha_bar: float = 0.02,
                      inner: Sequence[float] | None = None) -> Tensor:
    """The ``steps + 1`` levels a student visits, noisiest first, ending in the terminal level.

    ``inner``: the ``steps - 1`` levels between the first and the terminal one, strictly decreasing,
    in the schedule's units (flow time in (0, 1); a diffusion training level in [0, top)). Default:
    evenly spaced (flow: 1, 1 - 1/N, …; diffusion: top … 0)."""
    if not 1 <= steps <= 8:
        raise ValueError(f"student_steps must be in [1, 8] (a few-step student), got {steps}")
    flow = isinstance(schedule, FlowSchedule)
    if flow:
        top: float = 1.0
    else:
        ok = (schedule.alphas_cumprod >= min_alpha_bar).nonzero()
        top = int(ok.max()) if ok.numel() else 0
        if top + 1 < steps:
            raise ValueError(f"only {top + 1} levels have alpha_bar >= {min_alpha_bar}; fewer than {steps} steps")
    if inner is None:
        if flow:
            return torch.linspace(1.0, 0.0, steps + 1)
        levels = torch.linspace(top, 0, steps).round().long() if steps > 1 else torch.tensor([top])
        return torch.cat([levels, torch.tensor([-1])])  # (N+1,)
    inner = [float(v) for v in inner]
    in_span = (lambda v: 0.0 < v < 1.0) if flow else (lambda v: 0 <= v < top and v == int(v))
    if len(inner) != steps - 1 or not all(map(in_span, inner)) or any(a <= b for a, b in zip(inner, inner[1:])):
        span = "flow times strictly between 0 and 1" if flow else f"integer training levels in [0, {top})"
        raise ValueError(f"inner levels of a {steps}-step student must be {steps - 1} strictly decreasing {span}, "
                         f"got {inner}")
    if flow:
        return torch.tensor([1.0, *inner, 0.0])  # (N+1,)
    return torch.tensor([top, *[int(v) for v in inner], -1])  # (N+1,)


def deterministic_schedule(schedule: Any) -> Any:
    """The teacher's sampler made deterministic: DDIM η=0 on the same trained levels, or flow as is."""
    if isinstance(schedule, FlowSchedule):
        return schedule
    return DDIMSchedule(num_train_steps=schedule.num_train_steps, clip_sample=schedule.clip_sample,
                        clip_range=schedule.clip_range, eta=0.0)


def _merge_levels(teacher_ts: Tensor, student_ts: Tensor) -> Tensor:
    """The teacher's grid restricted to the student's span, plus the student's levels, noisiest
    first: it starts at the student's first level (where both see the same pure noise)."""
    top = student_ts[0].to(teacher_ts.dtype)
    inner = torch.cat([teacher_ts, student_ts[1:].to(teacher_ts.dtype)])
    inner = inner[inner < top]
    return torch.cat([top.reshape(1), torch.unique(inner, sorted=True).flip(0)])


@torch.no_grad()
def teacher_trajectories(teacher: Any, obs: Tensor, x_T: Tensor, teacher_ts: Tensor, student_ts: Tensor
                         ) -> tuple[Tensor, Tensor]:
    """Run the teacher's deterministic sampler from ``x_T (B, H, Da)`` for ``obs (B, To, Do)``,
    starting at the student's first level (for flow and most diffusion students that is the
    teacher's first level too; see the module docstring for the top DDPM levels).

    Returns ``(states (N+1, B, H, Da), x0 (B, H, Da))``: the student's inputs at its N levels (level 0:
    ``x_T`` itself; level n > 0: the teacher's trajectory at ``student_ts[n]``) followed by the
    teacher's chunk x0* (= the state at the terminal level), and x0* again.
    """
    sch = deterministic_schedule(teacher.schedule)
    grid = _merge_levels(teacher_ts, student_ts)  # (K'+1,)
    cond = teacher.encode_obs(obs)  # (B, Dc)
    B = x_T.shape[0]
    want = {float(t): n for n, t in enumerate(student_ts[1:-1].tolist(), start=1)}
    states = [x_T]
    found: dict[int, Tensor] = {}
    x = x_T
    for k in range(grid.numel() - 1):
        t = grid[k].expand(B).clone()  # (B,)
        tp = grid[k + 1].expand(B).clone()  # (B,)
        x = sch.step(teacher.denoiser(x, t, cond), t, tp, x).prev
        n = want.get(float(grid[k + 1]))
        if n is not None:
            found[n] = x
    states += [found[n] for n in range(1, student_ts.numel() - 1)] + [x]
    return torch.stack(states), x  # (N+1, B, H, Da), (B, H, Da)


def step_affine(schedule: Any, x_t: Tensor, t: Tensor, t_prev: Tensor) -> tuple[Tensor, Tensor]:
    """One deterministic step t → t_prev is affine in the x0 the network implies (inside the clip
    range): ``prev = A·x0 + c(x_t)``. Returns ``(A, c)``, each ``(B, H, Da)``."""
    zero = torch.zeros_like(x_t)
    c = schedule.step(output_from_x0(schedule, zero, x_t, t), t, t_prev, x_t).prev  # (B, H, Da)
    one = schedule.step(output_from_x0(schedule, torch.ones_like(x_t), x_t, t), t, t_prev, x_t).prev
    return one - c, c


def _raw_obs_batches(data: Iterable[Any], normalizer: Any) -> Iterator[Tensor]:
    """Raw observation histories ``(B, To, Do)`` from a loader, cycling it.

    A dict batch (``ChunkDataset`` / its DataLoader: ``{"obs", "action"}``) holds *normalized*
    observations and is un-normalized with the policy's normalizer; a bare tensor (or the first item
    of a tuple) is taken as raw.
    """
    while True:
        empty = True
        for batch in data:
            empty = False
            if isinstance(batch, dict):
                if "obs" not in batch:
                    raise ValueError(f"distill: a data batch dict needs an 'obs' entry, got keys {list(batch)}")
                yield normalizer.unnormalize("obs", torch.as_tensor(batch["obs"], dtype=torch.float32))
                continue
            if isinstance(batch, (tuple, list)):
                batch = batch[0]
            yield torch.as_tensor(batch, dtype=torch.float32)
        if empty:
            raise ValueError("distill: the data loader yielded no batches")
        if isinstance(data, Iterator):
            raise ValueError("distill: the data iterator ran out before the bank was full; pass a re-iterable loader")


@dataclass
class DistillLog:
    """Training trace of one distillation."""

    losses: list[float]
    bank_size: int
    teacher_nfe_per_sample: int
    seconds: float


def _matching(net: torch.nn.Module, state: dict[str, Tensor]) -> list[tuple[str, torch.nn.Module, dict[str, Tensor]]]:
    """``(name prefix, module, tensors of state it takes)`` for each module ``state`` is matched against:
    every expert of a ``LevelExperts`` when ``state`` is a single network's, else ``net`` itself; a tensor
    is taken when its name and shape match one of the module's own."""
    from parapolicy.policies.experts import LevelExperts

    single = not any(k.startswith("experts.") for k in state)
    targets = ([(f"experts.{i}.", e) for i, e in enumerate(net.experts)]
               if isinstance(net, LevelExperts) and single else [("", net)])
    out = []
    for prefix, module in targets:
        own = module.state_dict()
        out.append((prefix, module, {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}))
    return out


def load_matching(net: torch.nn.Module, state: dict[str, Tensor]) -> int:
    """Copy into ``net`` every tensor of ``state`` whose name and shape match one of its own (into each
    expert of a ``LevelExperts`` when ``state`` is a single network's); the rest keep their values.
    Returns how many tensors were copied (per expert)."""
    copied = 0
    for _, module, keep in _matching(net, state):
        module.load_state_dict(keep, strict=False)
        copied = len(keep)
    return copied


def identity_new_blocks(net: torch.nn.Module, state: dict[str, Tensor]) -> list[str]:
    """Make every residual block of ``net`` that takes none of its tensors from ``state`` (a source
    network's weights, matched as ``load_matching`` matches them) start as the identity: a U-Net block
    whose skip is the identity gets its last GroupNorm's scale and shift zeroed, so it adds 0 to its
    input until training moves them (Net2DeeperNet, Chen et al. 2016; zero-γ residual starts, Goyal et
    al. 2017). Returns the names of the blocks it zeroed."""
    from parapolicy.policies.unet1d import FiLMResidualBlock

    zeroed = []
    for prefix, module, keep in _matching(net, state):
        for name, block in module.named_modules():
            if not isinstance(block, FiLMResidualBlock) or not isinstance(block.skip, torch.nn.Identity):
                continue
            if any(k.startswith(name + ".") for k in keep):
                continue
            norm = block.conv2[1]  # Conv1d → GroupNorm → Mish: GroupNorm(·) = 0 and Mish(0) = 0
            with torch.no_grad():
                norm.weight.zero_()
                norm.bias.zero_()
            zeroed.append(prefix + name)
    return zeroed


def grow_from(net: torch.nn.Module, state: dict[str, Tensor]) -> tuple[int, list[str]]:
    """Start ``net`` from a source network's ``state``: copy what it shares (``load_matching``) and start
    its added residual blocks as the identity (``identity_new_blocks``), so a network grown with more
    blocks than its source (``{mid_blocks: 6}`` over the teacher's 2) computes exactly the source's
    function. Returns (tensors copied, blocks started as the identity)."""
    return load_matching(net, state), identity_new_blocks(net, state)


def teacher_levels(teacher_policy: Any, det: Any, teacher_steps: int | None, time_power: float = 1.0) -> Tensor:
    """The teacher's deterministic-sampler levels: ``teacher_steps`` of them, else its own.
    ``time_power`` ρ ≠ 1 (flow teachers only) places ``teacher_steps`` Euler steps at (1 - k/K)^ρ."""
    if time_power != 1:
        if not isinstance(det, FlowSchedule):
            raise ValueError(f"a teacher time power needs a flow teacher, not {type(det).__name__}")
        if teacher_steps is None:
            raise ValueError("a teacher time power needs teacher_steps (the number of Euler steps it spaces)")
        det = dataclasses.replace(det, time_power=time_power)
    if teacher_steps is not None:
        return det.timesteps(int(teacher_steps))
    if teacher_policy.config.sampler in ("ddim", "flow"):
        return teacher_policy.timesteps
    return det.timesteps(teacher_policy.config.num_inference_steps)  # a DDPM teacher: its ODE (DDIM)


class StudentFit:
    """A student under distillation: the teacher-labelled bank, the student network, its optimizer
    and EMA. The bank can grow between training rounds (``label`` more observation histories), which
    is what on-policy distillation (``planners.onpolicy_distill``) does; ``distill`` is one fill and
    one round.

    ``init``: a student of this teacher to continue from (its levels must be the ones
    ``student_steps`` gives); default: the teacher's own inference weights. ``teacher_time_power``:
    label with ``teacher_steps`` flow Euler steps on the grid (1 - k/K)^ρ (``teacher_levels``).
    ``loss``/``huber_c``: the per-chunk penalty (``chunk_loss``). ``executed_weight`` w: the chunk
    positions a replan executes (To − 1 … To − 2 + Ta, Ta = ``action_horizon`` or the teacher's) count w
    times as much as the rest. ``anchor`` λ: after each optimizer step every weight moves a fraction
    lr·λ back toward the teacher's inference weights (decoupled like AdamW's decay, but toward the
    teacher, not zero — L2-SP), so the student departs from its teacher's features, which generalise
    across histories, only where the labels keep asking it to.

    ``objective``: ``trajectory`` (default) — step n from the teacher's state at t_n must land on the
    teacher's state at t_{n+1}. ``reflow`` (flow teachers; rectified flow's reflow, Liu et al. 2022) —
    the bank's (noise z, teacher endpoint x0*) pairs are joined by straight lines and the student
    predicts x0* from x_t = (1 − t)·x0* + t·z: at the student's own levels for a share
    1 − ``reflow_uniform`` of each batch, at uniform t in [0, 1] for the rest. A student Euler step
    from z lands on such a straight point, so its later steps see inputs of the kind they trained on,
    and the uniform levels supervise it like the teacher's own training (denoising at every t)
    instead of at N fixed levels only.

    ``level_experts``: the student holds one network per step (``policies.experts.LevelExperts``),
    each started from the same weights (the teacher's, or ``init``'s); every training row reaches only
    its own step's expert, so the last step no longer shares its capacity with the first. Sampling
    cost per step is unchanged; the checkpoint holds N networks.

    ``net``: ``PolicyConfig`` network fields (``NETWORK_FIELDS``) that the student overrides, to make
    it cheaper per call than its teacher: ``{"mid_blocks": 0}`` drops the U-Net's bottleneck blocks,
    ``{"denoiser": "mlp"}`` swaps in a residual MLP. Such a student starts from fresh weights seeded by
    ``seed``, then takes every tensor of ``init`` (default: the teacher) whose name and shape it shares
    (``load_matching``), so a U-Net with blocks removed keeps the rest of its source (DistilBERT's
    layer-dropping start, Sanh et al. 2019). A student grown beyond its source (``{"mid_blocks": 6}``)
    starts as its source: each added residual block starts as the identity (``grow_from``;
    ``identity_blocks`` names them). It cannot be anchored. ``shared_tensors`` counts the tensors taken.
    """

    def __init__(self, teacher_policy: Any, student_steps: int = 1, *, teacher_steps: int | None = None,
                 teacher_path: str | None = None, init: Any = None, batch_size: int = 256, lr: float = 1e-4,
                 weight_decay: float = 1e-6, grad_clip: float | None = 1.0, min_alpha_bar: float = 0.02,
                 seed: int = 0, temperature: float = 1.0, inner_levels: Sequence[float] | None = None,
                 loss_space: str = "x0", teacher_time_power: float = 1.0, loss: str = "mse",
                 huber_c: float = 0.003, executed_weight: float = 1.0, action_horizon: int | None = None,
                 anchor: float = 0.0, objective: str = "trajectory", reflow_uniform: float = 0.5,
                 level_experts: bool = False, net: dict[str, Any] | None = None) -> None:
        from parapolicy.policies.config import NETWORK_FIELDS
        from parapolicy.policies.ema import EMA
        from parapolicy.policies.experts import load_into, shared_name
        from parapolicy.policies.factory import make_policy

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.temperature = check_temperature(temperature)
        cfg = teacher_policy.config
        if getattr(cfg, "kind", "diffusion") != "diffusion":
            raise ValueError(f"distill needs a diffusion teacher, got kind {cfg.kind!r}")
        self.teacher = teacher_policy
        self.gen = torch.Generator().manual_seed(seed)
        self.seed = seed
        self.device = teacher_policy.device
        self.det = deterministic_schedule(teacher_policy.train_schedule)
        self.teacher_time_power = float(teacher_time_power)
        self.teacher_ts = teacher_levels(teacher_policy, self.det, teacher_steps, self.teacher_time_power)
        self.K = int(self.teacher_ts.numel()) - 1
        self.student_ts = student_timesteps(self.det, student_steps, min_alpha_bar=min_alpha_bar, inner=inner_levels)
        self.N = self.student_ts.numel() - 1
        self.H, self.Da = int(cfg.pred_horizon), int(cfg.action_dim)
        self.batch_size, self.grad_clip = int(batch_size), grad_clip
        self.clip = self.det.clip_range if getattr(self.det, "clip_sample", False) else None
        check_fit_options(loss, huber_c, executed_weight, anchor, objective, reflow_uniform)
        if objective == "reflow" and not isinstance(self.det, FlowSchedule):
            raise ValueError("objective=reflow needs a flow teacher (straight noise-to-data paths)")
        self.loss, self.huber_c, self.anchor = loss, float(huber_c), float(anchor)
        self.objective, self.reflow_uniform = objective, float(reflow_uniform)
        To, Ta = int(cfg.obs_horizon), int(action_horizon or cfg.action_horizon)
        if To - 1 + Ta > int(cfg.pred_horizon):
            raise ValueError(f"action_horizon={Ta} does not fit the chunk: at most {int(cfg.pred_horizon) - To + 1}")
        pos_w = executed_weights(int(cfg.pred_horizon), To, Ta, executed_weight).to(self.device)  # (H, 1)
        self._pos_w = pos_w.expand(-1, int(cfg.action_dim)).reshape(-1)  # (H·Da,) mean 1
        self.step_weight = self._step_weights(loss_space)  # (N,)
        self._loss_w = self.step_weight / self.step_weight.sum()  # (N,) normalized once, not per training step
        self.obs = torch.zeros((0, int(cfg.obs_horizon), int(cfg.obs_dim)), device=self.device)  # (M, To, Do) raw
        self.states = torch.zeros((self.N + 1, 0, self.H, self.Da), device=self.device)  # (N+1, M, H, Da)
        self.targets = torch.zeros((self.N, 0, self.H, self.Da), device=self.device)  # (N, M, H, Da)
        self.losses: list[float] = []
        self.seconds = 0.0
        self._rounds = 0

        # the student: the teacher's network and normalizer with its own timesteps
        flow = isinstance(self.det, FlowSchedule)
        levels = [float(t) for t in self.student_ts] if flow else [int(t) for t in self.student_ts]
        net = check_student_net(net)
        scfg = dataclasses.replace(cfg, sampler="flow" if flow else "ddim", inference_steps=self.N,
                                   timesteps=levels, level_experts=bool(level_experts),
                                   teacher=teacher_path or f"in-memory teacher ({cfg.sampler}, {self.K} steps)", **net)
        own_net = any(getattr(scfg, f) != getattr(cfg, f) for f in NETWORK_FIELDS)  # not the teacher's network
        if own_net and anchor:
            raise ValueError("anchor pulls the student toward the teacher's weights; a student with its own network "
                             "(net=...) has none to be pulled toward")
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # a fresh network's weights depend on the seed only
            self.student = make_policy(scfg, teacher_policy.normalizer).to(self.device)
        start = teacher_policy.inference_net
        if init is not None:
            if [float(t) for t in init.config.timesteps or []] != [float(t) for t in levels]:
                raise ValueError(f"the initial student's levels {init.config.timesteps} differ from the "
                                 f"{self.N}-step student's {levels}")
            start = init.inference_net
            own_net = own_net or any(getattr(init.config, f) != getattr(scfg, f) for f in NETWORK_FIELDS)
        if own_net:
            self.shared_tensors, self.identity_blocks = grow_from(self.student.model, start.state_dict())
            if init is not None and self.shared_tensors == 0:
                raise ValueError("the initial student shares no weights with this student's network")
            start = self.student.model
        else:
            self.shared_tensors = len(start.state_dict())
            self.identity_blocks = []
        load_into(self.student.model, start.state_dict())
        load_into(self.student.ema, start.state_dict())
        self.params = [p for p in self.student.model.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(self.params, lr=lr, weight_decay=weight_decay)
        self.lr = float(lr)
        teacher_w = teacher_policy.inference_net.state_dict()
        named = self.student.model.named_parameters()  # expert i's weights pull toward the same teacher weights
        self._anchor_to = ([teacher_w[shared_name(n)].detach().clone() for n, p in named if p.requires_grad]
                           if self.anchor > 0 else [])  # aligned with self.params
        self.ema = EMA()
        self.student.use_ema = True
        self.student.eval()

    def _step_weights(self, loss_space: str) -> Tensor:
        """Per-step weights of the training loss ``(N,)``. ``x0``: every step's error counts in x0
        space (equal weights). ``landing``: in the space where the step lands (the state at its next
        level; the last step lands on x0), i.e. weight A_n², A_n being the step's affine gain on the
        x0 it implies: an early step's x0 error only moves its landing point by A_n < 1, so this
        shifts the fit toward the final steps."""
        if loss_space == "x0":
            return torch.ones(self.N, device=self.device)
        if loss_space not in LOSS_SPACES:
            raise ValueError(f"loss_space must be one of {', '.join(LOSS_SPACES)}, got {loss_space!r}")
        x = torch.zeros((self.N, self.H, self.Da), device=self.device)  # (N, H, Da)
        s_ts = self.student_ts.to(self.device)
        A, _ = step_affine(self.det, x, s_ts[:-1], s_ts[1:])  # (N, H, Da)
        return A.mean(dim=(1, 2)).pow(2)  # (N,)

    @property
    def bank_size(self) -> int:
        """Labelled observation histories in the bank."""
        return int(self.obs.shape[0])

    @torch.no_grad()
    def _labelled(self, o: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher labels for raw histories ``o (b, To, Do)`` on the device: trajectory states
        ``(N+1, b, H, Da)`` from N(0, T²·I) noise and per-step x0 targets ``(N, b, H, Da)``."""
        H, Da, N, b = self.H, self.Da, self.N, o.shape[0]
        s_ts = self.student_ts.to(self.device)
        x_T = torch.randn((b, H, Da), generator=self.gen).mul_(self.temperature).to(self.device)  # (b, H, Da)
        states, _ = teacher_trajectories(self.teacher, o, x_T, self.teacher_ts.to(self.device), s_ts)
        # step n from states[n] must land on states[n+1]: its x0-equivalent target
        t_rows = s_ts[:N].repeat_interleave(b)  # (N·b,)
        tp_rows = s_ts[1:].repeat_interleave(b)  # (N·b,)
        A, c = step_affine(self.det, states[:N].reshape(N * b, H, Da), t_rows, tp_rows)  # (N·b, H, Da) each
        targets = (states[1:].reshape(N * b, H, Da) - c) / A  # A > 0: x0 ↦ landing is monotone
        if self.clip is not None:  # the closest landing a clipped step can reach
            targets = targets.clamp(-self.clip, self.clip)
        return states, targets.reshape(N, b, H, Da)

    def _append(self, parts: list[tuple[Tensor, Tensor, Tensor]]) -> None:
        """Add labelled ``(obs, states, targets)`` pieces to the bank with one concatenation."""
        if parts:
            self.obs = torch.cat([self.obs] + [o for o, _, _ in parts])
            self.states = torch.cat([self.states] + [st for _, st, _ in parts], dim=1)
            self.targets = torch.cat([self.targets] + [tg for _, _, tg in parts], dim=1)

    def label(self, obs: Tensor, *, chunk: int = 1024) -> int:
        """Label raw observation histories ``obs (b, To, Do)`` with the teacher's deterministic
        sampler from N(0, T²·I) noise (``chunk`` at a time) and append them to the bank; returns the
        new bank size."""
        t0 = time.perf_counter()
        parts = []
        for i in range(0, obs.shape[0], chunk):
            o = obs[i:i + chunk].to(self.device, torch.float32)  # (b, To, Do)
            parts.append((o, *self._labelled(o)))
        self._append(parts)
        self.seconds += time.perf_counter() - t0
        return self.bank_size

    def fill(self, data: Iterable[Any], bank_size: int, *, chunk: int = 1024, obs_noise: float = 0.0) -> int:
        """Label ``bank_size`` histories drawn from ``data`` (see ``distill``; the loader is cycled,
        so a bank larger than the data labels histories again with fresh noise), ``chunk`` per
        teacher batch; returns the bank size.

        ``obs_noise`` σ > 0: every drawn history is first moved by N(0, σ²) noise per element in
        normalized observation units (the normalizer's [-1, 1] range). The teacher can label any
        history, so the student is then also fitted beside the demonstrations, where its own errors
        take it in closed loop — function matching on perturbed inputs, the "patient and consistent
        teacher" recipe of Beyer et al. 2022."""
        if bank_size < 1:
            raise ValueError(f"bank_size must be >= 1, got {bank_size}")
        noise = check_number("obs_noise", obs_noise, 0.0)
        t0 = time.perf_counter()
        drawn, n = [], 0
        for obs in _raw_obs_batches(data, self.teacher.normalizer):
            drawn.append(obs[: bank_size - n])  # (b, To, Do) raw
            n += drawn[-1].shape[0]
            if n >= bank_size:
                break
        obs = torch.cat(drawn)  # (bank_size, To, Do) raw
        if noise > 0:
            norm = self.teacher.normalizer
            jitter = torch.randn(obs.shape, generator=self.gen).mul_(noise)  # (bank_size, To, Do) normalized units
            obs = norm.unnormalize("obs", norm.normalize("obs", obs) + jitter)
        self.seconds += time.perf_counter() - t0
        return self.label(obs, chunk=chunk)

    def train(self, steps: int, log: Callable[[int, float], None] | None = None) -> list[float]:
        """``steps`` AdamW iterations on uniform minibatches of the whole bank (EMA on the inference
        weights); returns this round's losses. The student is left in eval mode on its EMA weights."""
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        M = self.bank_size
        if M == 0:
            raise ValueError("the distillation bank is empty; label observation histories first")
        t0 = time.perf_counter()
        H, Da, N, st = self.H, self.Da, self.N, self.student
        s_ts = self.student_ts.to(self.device)
        st.train()
        st.use_ema = False  # ``denoiser`` runs the live network while training
        losses: list[float] = []
        torch_state = torch.random.get_rng_state()
        torch.manual_seed(self.seed + self._rounds)  # dropout in the live network
        self._rounds += 1
        try:
            for _ in range(steps):
                idx = torch.randint(0, M, (min(self.batch_size, M),), generator=self.gen).to(self.device)
                b = idx.numel()
                if self.objective == "reflow":
                    x_n, t_n, target = self._reflow_rows(idx)  # (N·b, H, Da), (N·b,), (N·b, H, Da)
                else:
                    x_n = self.states[:N, idx].reshape(N * b, H, Da)  # (N·b, H, Da), row n·b+i
                    t_n = s_ts[:N].repeat_interleave(b)  # (N·b,)
                    target = self.targets[:, idx].reshape(N * b, H, Da)  # (N·b, H, Da)
                cond = st.encode_obs(self.obs[idx]).repeat(N, 1)  # (N·b, Dc)
                x0_hat = x0_from_output(self.det, st.denoiser(x_n, t_n, cond), x_n, t_n)  # (N·b, H, Da)
                if self.clip is not None:  # the value sampling uses (clipped), with a straight-through gradient
                    x0_hat = x0_hat + (x0_hat.clamp(-self.clip, self.clip) - x0_hat).detach()
                diff = (x0_hat - target).reshape(N, b, H * Da) * self._pos_w.sqrt()  # (N, b, H·Da) position-weighted
                per = chunk_loss(diff, self.loss, self.huber_c)  # (N, b)
                loss = (self._loss_w * per.mean(dim=1)).sum()  # per-step means, weighted over the N steps
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
                self.opt.step()
                if self.anchor > 0:
                    with torch.no_grad():
                        for p, p0 in zip(self.params, self._anchor_to):
                            p.add_(p - p0, alpha=-self.lr * self.anchor)
                self.ema.update(st.model, st.ema)
                losses.append(loss.item())
                if log is not None:
                    log(len(self.losses) + len(losses) - 1, losses[-1])
        finally:
            torch.random.set_rng_state(torch_state)
            st.use_ema = True
            st.eval()
            self.losses += losses
            self.seconds += time.perf_counter() - t0
        return losses

    def _reflow_rows(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Reflow training rows for bank entries ``idx (b,)``: N rows per entry, on the straight line
        from the teacher's endpoint x0* (t = 0) to its initial noise z (t = 1); each row's t is one
        of the student's levels t_0 … t_{N-1} (row block n: t_n) or, with probability
        ``reflow_uniform``, uniform in [0, 1]. Returns x_t ``(N·b, H, Da)``, t ``(N·b,)`` and the
        x0 target x0* ``(N·b, H, Da)``."""
        N, b = self.N, idx.numel()
        z = self.states[0, idx].repeat(N, 1, 1)  # (N·b, H, Da) the labels' initial noise (already × T)
        x0 = self.states[N, idx].repeat(N, 1, 1)  # (N·b, H, Da) the teacher's endpoint
        t = self.student_ts[:N].to(self.device).repeat_interleave(b)  # (N·b,)
        uniform = torch.rand(N * b, generator=self.gen).to(self.device) < self.reflow_uniform  # (N·b,)
        t = torch.where(uniform, torch.rand(N * b, generator=self.gen).to(self.device), t)
        return self.det.add_noise(x0, z, t), t, x0

    def bank_tensors(self) -> tuple[dict[str, Tensor], dict[str, str]]:
        """The bank as safetensors-ready ``(tensors, metadata)``: ``obs (M, To, Do)``, ``states
        (N+1, M, H, Da)``, ``targets (N, M, H, Da)``, ``student_ts (N+1,)``, and what labelled it."""
        tensors = {"obs": self.obs, "states": self.states, "targets": self.targets,
                   "student_ts": self.student_ts.to(torch.float32)}
        meta = {"temperature": repr(self.temperature), "teacher_nfe": str(self.K),
                "teacher_time_power": repr(self.teacher_time_power)}
        return tensors, meta

    def load_bank(self, tensors: dict[str, Tensor], meta: dict[str, str]) -> int:
        """Append a bank saved by ``bank_tensors`` (labelled by this teacher with the same levels,
        teacher steps and temperature; ``ValueError`` otherwise); returns the new bank size."""
        need = {"obs", "states", "targets", "student_ts"}
        if not need <= set(tensors):
            raise ValueError(f"a distillation bank needs tensors {sorted(need)}, got {sorted(tensors)}")
        if not torch.equal(tensors["student_ts"].to(torch.float32), self.student_ts.to(torch.float32)):
            raise ValueError(f"the bank was labelled for student levels {tensors['student_ts'].tolist()}, "
                             f"not {self.student_ts.tolist()}")
        power = meta.get("teacher_time_power", "1.0")  # banks from before the option: uniform grid
        if (meta.get("teacher_nfe") != str(self.K) or meta.get("temperature") != repr(self.temperature)
                or float(power) != self.teacher_time_power):
            raise ValueError(f"the bank was labelled with {meta.get('teacher_nfe')} teacher steps (time power {power}) "
                             f"at temperature {meta.get('temperature')}, not {self.K} (time power "
                             f"{self.teacher_time_power!r}) at {self.temperature!r}")
        obs, states, targets = tensors["obs"], tensors["states"], tensors["targets"]
        M = obs.shape[0]
        if (tuple(obs.shape[1:]) != tuple(self.obs.shape[1:])
                or tuple(states.shape) != (self.N + 1, M, self.H, self.Da)
                or tuple(targets.shape) != (self.N, M, self.H, self.Da)):
            raise ValueError(f"bank shapes obs {tuple(obs.shape)}, states {tuple(states.shape)}, targets "
                             f"{tuple(targets.shape)} do not fit this student")
        self._append([(obs.to(self.device), states.to(self.device), targets.to(self.device))])
        return self.bank_size

    def result(self) -> Any:
        """The student policy (EMA weights, eval mode) with its ``distill_log``."""
        self.student.distill_log = DistillLog(losses=list(self.losses), bank_size=self.bank_size,
                                              teacher_nfe_per_sample=self.K, seconds=self.seconds)
        return self.student


def distill(teacher_policy: Any, data: Iterable[Any], steps: int, student_steps: int = 1, *,
            teacher_steps: int | None = None, teacher_path: str | None = None, bank_size: int = 2048,
            batch_size: int = 256, lr: float = 1e-4, weight_decay: float = 1e-6, grad_clip: float | None = 1.0,
            min_alpha_bar: float = 0.02, seed: int = 0, temperature: float = 1.0, init: Any = None,
            inner_levels: Sequence[float] | None = None, loss_space: str = "x0",
            log: Callable[[int, float], None] | None = None) -> Any:
    """Distill ``teacher_policy`` (a ``DiffusionPolicy``) into a ``student_steps``-step student.

    ``data``: observation histories — a ``ChunkDataset`` DataLoader (dict batches, normalized obs)
    or any re-iterable of raw ``(B, To, Do)`` tensors. ``bank_size`` histories are labelled by the
    teacher's deterministic sampler (``teacher_steps`` steps; default the teacher's own timesteps),
    from initial noise drawn from N(0, ``temperature``²·I) — the distribution the student will be sampled
    at, so a student meant for ``temperature=0.8`` learns the teacher's map where that noise lies —
    then the student trains ``steps`` AdamW iterations over the bank, with the policies package's EMA
    (Diffusion Policy warm-up schedule) on its inference weights. Returns a new ``DiffusionPolicy``
    (same network, initialised from the teacher's inference weights — or from ``init``, an earlier
    student of this teacher — on the teacher's device) whose config holds its own ``timesteps``,
    ``inference_steps``, deterministic ``sampler`` and ``teacher`` (``teacher_path``, or a
    description of the in-memory teacher).
    """
    if steps < 1 or bank_size < 1 or batch_size < 1:
        raise ValueError(f"steps, bank_size and batch_size must be >= 1, got {steps}, {bank_size}, {batch_size}")
    fit = StudentFit(teacher_policy, student_steps, teacher_steps=teacher_steps, teacher_path=teacher_path,
                     init=init, batch_size=batch_size, lr=lr, weight_decay=weight_decay, grad_clip=grad_clip,
                     min_alpha_bar=min_alpha_bar, seed=seed, temperature=temperature, inner_levels=inner_levels,
                     loss_space=loss_space)
    fit.fill(data, bank_size)
    fit.train(steps, log=log)
    return fit.result()

"""Core planner types: a time/NFE ``Budget``, the ``SampleResult`` every sampler returns, and the
``Sampler`` base class that owns no-grad, timing, the deadline and the statistics.

Every sampler is *anytime*: when its budget runs out it stops between two network passes and returns
its current estimate of the clean chunk x0 with ``converged=False``. A sampler always makes at least
one network pass (an x0 estimate needs one), so a budget can be overrun by at most one pass; the
deadline check is *anticipating* (it also stops when the previous pass would not fit in the time
left), so in steady state it is not overrun at all.

A sampler is a (schedule, timesteps) pair plus an algorithm; the denoiser is passed per call, so a
distilled student is just another (denoiser, timesteps) pair run by the same code.
"""
from __future__ import annotations

import math
import numbers
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch
from torch import Tensor

from parapolicy.policies.sampling import needs_step_noise


class Denoiser(Protocol):
    """A learned network: ``x_t (B, H, Da)``, schedule time ``t (B,)``, ``cond (B, Dc)`` → ``(B, H, Da)``."""

    def __call__(self, x_t: Tensor, t: Tensor, cond: Tensor) -> Tensor: ...


@dataclass(frozen=True)
class Budget:
    """How much a sampler may spend on one chunk: wall-clock seconds and/or network evaluations.

    ``clock`` is injectable so tests can drive the deadline with a fake clock.
    """

    wall_s: float = math.inf
    max_nfe: int | None = None
    clock: Callable[[], float] = time.perf_counter

    def __post_init__(self) -> None:
        w = self.wall_s
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or math.isnan(float(w)) or w <= 0:
            raise ValueError(f"Budget.wall_s must be a number > 0 (seconds; inf for no limit), got {w!r}")
        n = self.max_nfe
        if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise ValueError(f"Budget.max_nfe must be None or an integer >= 1, got {n!r}")
        if not callable(self.clock):
            raise ValueError(f"Budget.clock must be a callable returning seconds, got {self.clock!r}")

    def start(self) -> "Deadline":
        """Start the clock: returns the running ``Deadline`` for one sampling call."""
        return Deadline(self)


class Deadline:
    """A started budget: tracks elapsed time and NFE, and says whether the next pass may run."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.t0 = budget.clock()
        self.nfe: float = 0  # network evaluations spent so far (rows / B)
        self.passes = 0  # sequential network passes so far
        self.last_pass_s = 0.0  # duration of the most recent pass (for anticipation)
        self._pass_t0: float | None = None

    def elapsed(self) -> float:
        """Seconds since the deadline was started."""
        return self.budget.clock() - self.t0

    def remaining_s(self) -> float:
        """Seconds left (``inf`` without a wall limit; may be negative once overrun)."""
        return self.budget.wall_s - self.elapsed()

    def nfe_left(self) -> int | float:
        """Network evaluations left (``inf`` without an NFE limit)."""
        if self.budget.max_nfe is None:
            return math.inf
        return self.budget.max_nfe - self.nfe

    def expired(self) -> bool:
        """True once the wall-clock budget is used up."""
        return self.remaining_s() <= 0

    def may_start_pass(self, nfe_cost: float = 1) -> bool:
        """May another pass costing ``nfe_cost`` evaluations start now?

        The first pass is always allowed. Later passes need enough NFE left and enough time left
        for a pass as long as the previous one.
        """
        if self.passes == 0:
            return True
        if nfe_cost > self.nfe_left():
            return False
        return self.remaining_s() > self.last_pass_s

    def remaining_budget(self) -> Budget | None:
        """What is left as a fresh ``Budget`` on the same clock (for a nested sampler), or None
        when nothing is left."""
        wall = self.remaining_s()
        left = self.nfe_left()
        if wall <= 0 or left < 1:
            return None
        return Budget(wall_s=wall, max_nfe=None if math.isinf(left) else int(left), clock=self.budget.clock)

    def charge(self, nfe: float, passes: int, last_pass_s: float | None = None) -> None:
        """Account for work done by a nested sampler on this deadline's behalf."""
        self.nfe += nfe
        self.passes += int(passes)
        if last_pass_s is not None:
            self.last_pass_s = last_pass_s

    def begin_pass(self) -> None:
        """Mark the start of a network pass (for the anticipation estimate)."""
        self._pass_t0 = self.budget.clock()

    def end_pass(self, nfe_cost: float) -> None:
        """Account for a finished pass that evaluated ``nfe_cost`` rows per environment."""
        now = self.budget.clock()
        if self._pass_t0 is not None:
            self.last_pass_s = now - self._pass_t0
        self._pass_t0 = None
        self.nfe += nfe_cost
        self.passes += 1


@dataclass
class SampleResult:
    """What a sampler returns for one chunk."""

    x0: Tensor  # (B, H, Da) normalized clean chunk (estimate when not converged)
    nfe: float  # network evaluations per environment (rows evaluated / B; whole for one-batch samplers)
    depth: int  # sequential network passes (the hardware-independent latency)
    wall_s: float  # seconds spent inside ``sample``
    converged: bool  # False when the budget stopped it early
    extra: dict[str, Any] = field(default_factory=dict)  # sampler-specific statistics


def presample_noise(num_steps: int, shape: tuple[int, ...], *, generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> Tensor:
    """Per-step noise for a K-step sampler, drawn once: ``(K, *shape)``.

    Sequential and Picard samplers given the same tensor follow the same stochastic trajectory.
    """
    return torch.randn((num_steps, *shape), generator=generator, dtype=dtype).to(device)  # (K, B, H, Da)


def resolve_timesteps(schedule: Any, timesteps: Tensor | None, steps: int | None) -> Tensor:
    """The (K+1,) levels a sampler visits: explicit ``timesteps`` or ``schedule.timesteps(steps)``."""
    if timesteps is not None and steps is not None:
        raise ValueError("give either timesteps or steps, not both")
    if timesteps is None:
        if steps is None:
            raise ValueError("a sampler needs timesteps (K+1 levels) or steps (K)")
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        timesteps = schedule.timesteps(int(steps))
    ts = torch.as_tensor(timesteps)
    if ts.dim() != 1 or ts.numel() < 2:
        raise ValueError(f"timesteps must be a 1-D tensor of K+1 >= 2 levels, got shape {tuple(ts.shape)}")
    return ts


class Sampler(ABC):
    """Turns a denoiser into an x0 sampler under a ``Budget``.

    Subclasses implement ``_run``; ``sample`` validates inputs, resolves the per-step noise, owns
    ``torch.no_grad`` and the timing, and fills in ``wall_s``. ``label`` starts the default name
    (``<label>-<K>``; the class name when empty).
    """

    label = ""

    def __init__(self, schedule: Any, timesteps: Tensor | None = None, *, steps: int | None = None,
                 generator: torch.Generator | None = None, name: str | None = None) -> None:
        self.schedule = schedule
        self.timesteps = resolve_timesteps(schedule, timesteps, steps)  # (K+1,)
        self.generator = generator
        self.name = name or f"{self.label or type(self).__name__}-{self.num_steps}"

    @property
    def num_steps(self) -> int:
        """K: the number of denoising steps from the first level to the terminal one."""
        return int(self.timesteps.numel() - 1)

    def expected_depth(self, start_index: int = 0) -> float:
        """Predicted sequential passes for one call (used by the cost model to pick samplers)."""
        return float(self.num_steps - start_index)

    def rows_per_pass(self, start_index: int = 0) -> int:
        """Rows per environment evaluated in one pass (the batch-width multiplier)."""
        return 1

    @property
    def calibrated(self) -> bool:
        """Whether ``expected_depth`` rests on what this sampler does (False: a worst-case guess,
        e.g. Picard before its first call, that a planner should replace by one trial run)."""
        return True

    def sample(self, denoiser: Denoiser, cond: Tensor, *, x_init: Tensor, start_index: int = 0,
               budget: Budget = Budget(), noises: Tensor | None = None,
               generator: torch.Generator | None = None, **kwargs: Any) -> SampleResult:
        """Sample a clean chunk x0 ``(B, H, Da)`` starting from ``x_init`` at level ``timesteps[start_index]``.

        ``noises (K, B, H, Da)``: the per-step noise (if None and the schedule injects noise: drawn
        from ``generator``, else the sampler's own generator, else torch's global RNG).
        Extra keyword arguments go to the algorithm (e.g. Picard's ``init_trajectory``).
        """
        if not isinstance(budget, Budget):
            raise ValueError(f"budget must be a Budget, got {type(budget).__name__}")
        if x_init.dim() != 3:
            raise ValueError(f"x_init must be (B, H, Da), got shape {tuple(x_init.shape)}")
        if cond.shape[0] != x_init.shape[0]:
            raise ValueError(f"cond batch {cond.shape[0]} != x_init batch {x_init.shape[0]}")
        K = self.num_steps
        if isinstance(start_index, bool) or not isinstance(start_index, numbers.Integral) \
                or not 0 <= start_index < K:
            raise ValueError(f"start_index must be an integer in [0, {K - 1}] for a {K}-step sampler, "
                             f"got {start_index!r}")
        if noises is None and needs_step_noise(self.schedule):
            noises = presample_noise(K, tuple(x_init.shape), generator=generator or self.generator,
                                     dtype=x_init.dtype, device=x_init.device)  # (K, B, H, Da)
        elif noises is None:  # deterministic steps ignore the noise: no RNG is consumed
            noises = torch.zeros((K, *x_init.shape), dtype=x_init.dtype, device=x_init.device)  # (K, B, H, Da)
        elif tuple(noises.shape) != (K, *x_init.shape):
            raise ValueError(f"noises must be (K, B, H, Da) = {(K, *x_init.shape)}, got {tuple(noises.shape)}")
        deadline = budget.start()
        with torch.no_grad():
            result = self._run(denoiser, cond, x_init, int(start_index), noises, deadline, **kwargs)
        if result.x0.is_cuda:  # kernels run asynchronously: wall_s counts until the chunk exists
            torch.cuda.synchronize(result.x0.device)
        result.wall_s = deadline.elapsed()
        result.extra.setdefault("sampler", self.name)
        return result

    @abstractmethod
    def _run(self, denoiser: Denoiser, cond: Tensor, x_init: Tensor, start_index: int, noises: Tensor,
             deadline: Deadline, **kwargs: Any) -> SampleResult:
        """The algorithm: must call ``deadline.begin_pass/end_pass`` around each network pass and
        stop when ``deadline.may_start_pass`` says no."""

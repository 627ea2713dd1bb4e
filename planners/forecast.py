"""Delay compensation by observation forecasting: a learned Smith predictor for real-time chunking.

With an inference delay of d control ticks, a chunk planned from the observation at its request tick
n only starts to act at n + d, on an observation d ticks old; on a contact-rich task (Push-T) that
costs success that freezing or guiding the overlap cannot give back, because the plan itself was made
for a world that has moved on. The actions executed in between are known, though: they are the
committed ones of the old chunk. ``ObsForecaster`` is a small MLP, trained on the demonstrations,
that predicts the observation at n + k (k = 1 … ``max_delay``) from the To most recent observations
and those k actions. ``AsyncExecutor(forecaster=…)`` then plans the new chunk as if at tick n + d:
from the forecast observation history, with its time origin at n + d, so its first action is the one
for the tick at which it starts to act, and only the positions before that origin are frozen.

The network sees the observations and actions normalized by the demonstrations' statistics, the k
actions zero-padded to ``max_delay`` and a one-hot of k, and predicts the normalized change
obs[n + k] − obs[n]; one network serves every k. ``fit_forecaster`` trains it on every (t, k) of the
demonstrations and reports, on held-out episodes, its RMSE against the stale observation per k.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor, nn

CONFIG_FILE = "forecaster.json"
WEIGHTS_FILE = "forecaster.safetensors"


@dataclass
class ForecastConfig:
    """Shapes, normalization and provenance of a forecaster (``forecaster.json``)."""

    obs_dim: int
    action_dim: int
    obs_horizon: int
    max_delay: int
    hidden: int
    obs_mean: list[float]
    obs_std: list[float]
    act_mean: list[float]
    act_std: list[float]
    delta_std: list[float]
    env_id: str | None = None


class ObsForecaster(nn.Module):
    """Predicts the observation k ticks ahead from the To latest observations and k known actions."""

    def __init__(self, cfg: ForecastConfig) -> None:
        super().__init__()
        self.config = cfg
        width = cfg.obs_horizon * cfg.obs_dim + cfg.max_delay * cfg.action_dim + cfg.max_delay
        self.net = nn.Sequential(nn.Linear(width, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, cfg.hidden),
                                 nn.GELU(), nn.Linear(cfg.hidden, cfg.obs_dim))
        for name in ("obs_mean", "obs_std", "act_mean", "act_std", "delta_std"):
            self.register_buffer(name, torch.tensor(getattr(cfg, name), dtype=torch.float32), persistent=False)

    @property
    def max_delay(self) -> int:
        """The most ticks ahead it forecasts."""
        return self.config.max_delay

    def _inputs(self, hist: Tensor, actions: Tensor, k: Tensor) -> Tensor:
        """hist (B, To, Do), actions (B, max_delay, Da) raw and zero beyond k, k (B,) in 1..max_delay."""
        K = self.config.max_delay
        h = (hist - self.obs_mean) / self.obs_std  # (B, To, Do)
        a = (actions - self.act_mean) / self.act_std  # (B, K, Da)
        a = a * (torch.arange(K, device=a.device)[None, :] < k[:, None]).unsqueeze(-1)  # padding stays 0
        onehot = nn.functional.one_hot(k - 1, K).to(h.dtype)  # (B, K)
        return torch.cat([h.flatten(1), a.flatten(1), onehot], dim=1)

    def forward(self, hist: Tensor, actions: Tensor, k: Tensor) -> Tensor:
        """Normalized change (B, Do) of the observation k ticks after the last one in ``hist``."""
        return self.net(self._inputs(hist, actions, k))

    @torch.no_grad()
    def predict(self, hist: Tensor, actions: Tensor, k: Tensor) -> Tensor:
        """Raw observation (B, Do) k ticks after ``hist[:, -1]``."""
        return hist[:, -1] + self(hist, actions, k) * self.delta_std

    def forecast_history(self, hist: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The To-frame history ``(To, Do)`` as it will be after the d = len(actions) ticks of
        ``actions (d, Da)`` have run from the last frame of ``hist (To, Do)``: frames at or before
        the present are copied, later ones forecast (one batched call)."""
        To, d = hist.shape[0], actions.shape[0]
        if d > self.max_delay:
            raise ValueError(f"the forecaster predicts at most {self.max_delay} ticks ahead, asked for {d}")
        ks = [d - (To - 1 - j) for j in range(To)]  # ticks ahead of the present, oldest frame first
        out = [hist[To - 1 + k] if k <= 0 else None for k in ks]
        ahead = [k for k in ks if k > 0]
        if ahead:
            pad = np.zeros((self.max_delay, actions.shape[1]), dtype=np.float32)  # (K, Da)
            pad[:d] = actions
            n = len(ahead)
            h = torch.as_tensor(hist, dtype=torch.float32).unsqueeze(0).expand(n, -1, -1)  # (n, To, Do)
            a = torch.as_tensor(pad).unsqueeze(0).expand(n, -1, -1)  # (n, K, Da)
            pred = self.predict(h, a, torch.tensor(ahead)).numpy()  # (n, Do)
            it = iter(pred)
            out = [o if o is not None else next(it) for o in out]
        return np.stack(out).astype(np.float32)


# ------------------------------------------------------------------------------------------- data
def forecast_windows(episodes: Sequence[tuple[np.ndarray, np.ndarray]], obs_horizon: int,
                     max_delay: int) -> dict[str, np.ndarray]:
    """Every (t, k) of ``episodes [(obs (T, Do), actions (T, Da))]`` with t + k < T: the history
    ending at t (the first frame repeated before the start, as the executor does), the k actions
    from t (zero-padded to ``max_delay``), k, and the observation at t + k."""
    H, A, K, Y = [], [], [], []
    for obs, act in episodes:
        T = len(obs)
        for t in range(T - 1):
            idx = np.clip(np.arange(t - obs_horizon + 1, t + 1), 0, None)
            for k in range(1, min(max_delay, T - 1 - t) + 1):
                a = np.zeros((max_delay, act.shape[1]), dtype=np.float32)
                a[:k] = act[t:t + k]
                H.append(obs[idx])
                A.append(a)
                K.append(k)
                Y.append(obs[t + k])
    return {"hist": np.asarray(H, np.float32), "actions": np.asarray(A, np.float32),
            "k": np.asarray(K, np.int64), "target": np.asarray(Y, np.float32)}


def _std(x: np.ndarray) -> list[float]:
    return [float(v) for v in np.maximum(x.std(0), 1e-6)]


def heldout_rmse(model: ObsForecaster, w: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """Per k: RMSE (raw observation units, mean over dims) of the forecast and of the stale
    observation against the true one."""
    with torch.no_grad():
        pred = model.predict(torch.as_tensor(w["hist"]), torch.as_tensor(w["actions"]),
                             torch.as_tensor(w["k"])).numpy()  # (N, Do)
    rows = []
    for k in range(1, model.max_delay + 1):
        m = w["k"] == k
        if not m.any():
            continue
        y = w["target"][m]
        rows.append({"k": k, "windows": int(m.sum()),
                     "forecast_rmse": float(np.sqrt(((pred[m] - y) ** 2).mean())),
                     "stale_rmse": float(np.sqrt(((w["hist"][m, -1] - y) ** 2).mean()))})
    return rows


def fit_forecaster(train: Sequence[tuple[np.ndarray, np.ndarray]], heldout: Sequence[tuple[np.ndarray, np.ndarray]],
                   *, obs_horizon: int, max_delay: int, steps: int = 6000, batch_size: int = 512,
                   lr: float = 1e-3, hidden: int = 256, seed: int = 0, env_id: str | None = None,
                   log: Any = None) -> tuple[ObsForecaster, dict[str, Any]]:
    """Train an ``ObsForecaster`` on ``train`` episodes; report held-out RMSE per k."""
    w = forecast_windows(train, obs_horizon, max_delay)
    if len(w["k"]) == 0:
        raise ValueError("the demonstrations are too short to forecast anything (need episodes of >= 2 steps)")
    obs = np.concatenate([o for o, _ in train])
    act = np.concatenate([a for _, a in train])
    delta = w["target"] - w["hist"][:, -1]
    cfg = ForecastConfig(obs_dim=obs.shape[1], action_dim=act.shape[1], obs_horizon=obs_horizon,
                         max_delay=max_delay, hidden=hidden, obs_mean=[float(v) for v in obs.mean(0)],
                         obs_std=_std(obs), act_mean=[float(v) for v in act.mean(0)], act_std=_std(act),
                         delta_std=_std(delta), env_id=env_id)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ObsForecaster(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    hist, acts, ks = (torch.as_tensor(w[n]) for n in ("hist", "actions", "k"))
    target = torch.as_tensor(delta) / model.delta_std  # (N, Do) normalized change
    losses, t0 = [], time.perf_counter()
    for it in range(steps):
        idx = torch.randint(0, len(ks), (min(batch_size, len(ks)),), generator=g)
        loss = ((model(hist[idx], acts[idx], ks[idx]) - target[idx]) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if log is not None:
            log(it, losses[-1])
    model.eval()
    held = heldout_rmse(model, forecast_windows(heldout, obs_horizon, max_delay)) if heldout else []
    return model, {"windows": int(len(ks)), "steps": steps, "seconds": time.perf_counter() - t0,
                   "loss_first": losses[0] if losses else math.nan, "loss_last": losses[-1] if losses else math.nan,
                   "heldout": held}


# ------------------------------------------------------------------------------------------- files
def save_forecaster(model: ObsForecaster, directory: str | Path, *, extra: dict[str, Any] | None = None,
                    overwrite: bool = False) -> Path:
    """Write ``forecaster.json`` + ``forecaster.safetensors`` into ``directory`` atomically."""
    from safetensors.torch import save_file

    from parapolicy.policies.checkpoint import atomic_directory

    def write(tmp: Path) -> None:
        save_file({k: v.contiguous() for k, v in model.net.state_dict().items()}, str(tmp / WEIGHTS_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps({"config": asdict(model.config), **(extra or {})}, indent=2))

    return atomic_directory(directory, write, overwrite=overwrite)


def is_forecaster(directory: str | Path) -> bool:
    """Whether ``directory`` holds a saved forecaster's config."""
    return (Path(directory) / CONFIG_FILE).is_file()


def load_forecaster(directory: str | Path) -> ObsForecaster:
    """A saved forecaster (eval mode); ``ValueError`` (one line) when ``directory`` holds none."""
    from safetensors.torch import load_file

    d = Path(directory)
    if not is_forecaster(d) or not (d / WEIGHTS_FILE).is_file():
        raise ValueError(f"{d} is not a forecaster directory (no {CONFIG_FILE} / {WEIGHTS_FILE}); make one with "
                         f"parapolicy-forecast")
    meta = json.loads((d / CONFIG_FILE).read_text())
    model = ObsForecaster(ForecastConfig(**meta["config"]))
    model.net.load_state_dict(load_file(str(d / WEIGHTS_FILE)))
    return model.eval()


def check_forecaster(model: Any, *, action_dim: int, obs_horizon: int, obs_dim: int | None = None,
                     env_id: str | None = None) -> None:
    """``ValueError`` unless ``model`` is an ``ObsForecaster`` that sees the policy's observations and
    actions (``obs_dim``/``env_id``: checked when given)."""
    if not isinstance(model, ObsForecaster):
        raise ValueError(f"forecaster must be an ObsForecaster (load_forecaster), got {type(model).__name__}")
    c = model.config
    mine, theirs = (c.obs_dim, c.action_dim, c.obs_horizon), (obs_dim or c.obs_dim, action_dim, obs_horizon)
    if mine != theirs:
        raise ValueError(f"the forecaster was trained for Do={c.obs_dim}, Da={c.action_dim}, To={c.obs_horizon}; the "
                         f"policy has Do={theirs[0]}, Da={action_dim}, To={obs_horizon}")
    if env_id and c.env_id and env_id != c.env_id:
        raise ValueError(f"the forecaster was trained on {c.env_id}, the policy on {env_id}")

"""Training samples for chunked policies: (observation history, action chunk) windows over demos.

Alignment follows Diffusion Policy (Chi et al. 2023): a sample "at step s" holds the observations
``s - To + 1 … s`` (To frames ending at s) and the actions ``s - To + 1 … s - To + H`` (H actions
starting at the first observation frame), so the action for the current step sits at chunk index
``To - 1``. Windows that run past an episode's edges are padded by repeating the first frame
(before the start) or the last frame (after the end). As in the reference sampler, ``s`` ranges over
``0 … T - 1 - (H - To - Ta + 1)``: a window may pad at most ``Ta - 1`` actions past the end, so the
``Ta`` actions a controller executes are always real demonstration actions.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from .normalizer import Normalizer


def min_episode_length(obs_horizon: int, pred_horizon: int, action_horizon: int) -> int:
    """The fewest steps an episode needs to yield one sample: ``max(1, H - To - Ta + 2)``."""
    return max(1, pred_horizon - obs_horizon - action_horizon + 2)


class ChunkDataset(Dataset):
    """Normalized (obs history ``(To, Do)``, action chunk ``(H, Da)``) samples from per-episode arrays.

    ``obs_list[i]``: ``(T_i, Do)`` and ``actions_list[i]``: ``(T_i, Da)`` for episode i (the action taken
    after observation t is ``actions[t]``). ``normalizer``: statistics to use (None: fitted to this data,
    available as ``self.normalizer``). Items are dicts ``{"obs": (To, Do), "action": (H, Da)}`` of
    float32 tensors; ``get_batch(indices)`` (also ``__getitems__``, used by ``DataLoader``) returns the
    same keys stacked to ``(B, To, Do)`` / ``(B, H, Da)`` without a per-item Python loop.
    """

    def __init__(self, obs_list: Sequence[Any], actions_list: Sequence[Any], *, obs_horizon: int,
                 pred_horizon: int, action_horizon: int, normalizer: Normalizer | None = None) -> None:
        To, H, Ta = int(obs_horizon), int(pred_horizon), int(action_horizon)
        if min(To, H, Ta) < 1 or To - 1 + Ta > H:
            raise ValueError(f"need horizons >= 1 and obs_horizon - 1 + action_horizon <= pred_horizon, "
                             f"got To={To} H={H} Ta={Ta}")
        if len(obs_list) != len(actions_list):
            raise ValueError(f"got {len(obs_list)} observation episodes but {len(actions_list)} action episodes")
        if len(obs_list) == 0:
            raise ValueError("the dataset has no episodes")
        obs = [np.asarray(o, dtype=np.float64) for o in obs_list]
        act = [np.asarray(a, dtype=np.float64) for a in actions_list]
        need = min_episode_length(To, H, Ta)
        Do, Da = None, None
        short = []
        for i, (o, a) in enumerate(zip(obs, act)):
            if o.ndim != 2 or a.ndim != 2:
                raise ValueError(f"episode {i}: obs must be (T, Do) and actions (T, Da), got shapes "
                                 f"{o.shape} and {a.shape}")
            if o.shape[0] != a.shape[0]:
                raise ValueError(f"episode {i}: {o.shape[0]} observations but {a.shape[0]} actions")
            Do = o.shape[1] if Do is None else Do
            Da = a.shape[1] if Da is None else Da
            if o.shape[1] != Do or a.shape[1] != Da:
                raise ValueError(f"episode {i}: obs/action dims {o.shape[1]}/{a.shape[1]} differ from episode 0's "
                                 f"{Do}/{Da}")
            if not (np.isfinite(o).all() and np.isfinite(a).all()):
                raise ValueError(f"episode {i} contains NaN or inf")
            if o.shape[0] < need:
                short.append((i, o.shape[0]))
        if short:
            listed = ", ".join(f"{i} ({n} steps)" for i, n in short[:5]) + (" …" if len(short) > 5 else "")
            raise ValueError(f"{len(short)} episode(s) too short: need at least {need} steps "
                             f"(pred_horizon - obs_horizon - action_horizon + 2) but got {listed}")
        if normalizer is None:
            normalizer = Normalizer.fit(obs=obs, action=act)
        for key, d in (("obs", Do), ("action", Da)):
            if normalizer[key].dim != d:
                raise ValueError(f"normalizer {key} dim {normalizer[key].dim} != data {key} dim {d}")
        self.normalizer = normalizer
        self.obs_horizon, self.pred_horizon, self.action_horizon = To, H, Ta
        self.obs_dim, self.action_dim = int(Do), int(Da)
        self.num_episodes = len(obs)
        lengths = np.array([o.shape[0] for o in obs])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        # all frames of all episodes, normalized once
        self._obs = torch.from_numpy(normalizer.normalize("obs", np.concatenate(obs)).astype(np.float32))  # (N, Do)
        self._act = torch.from_numpy(normalizer.normalize("action", np.concatenate(act)).astype(np.float32))  # (N, Da)
        per_ep = lengths - (need - 1)  # samples per episode: s = 0 … T - need
        ep = np.repeat(np.arange(len(obs)), per_ep)
        s = np.concatenate([np.arange(n) for n in per_ep])
        self._ep_start = torch.from_numpy(starts[ep])  # (S,) first frame of the sample's episode
        self._ep_last = torch.from_numpy(starts[ep] + lengths[ep] - 1)  # (S,) last frame
        self._s = torch.from_numpy(starts[ep] + s)  # (S,) global frame index of step s
        self._obs_off = torch.arange(-To + 1, 1)  # (To,)
        self._act_off = torch.arange(-To + 1, -To + 1 + H)  # (H,)

    def __len__(self) -> int:
        return int(self._s.numel())

    def get_batch(self, indices: Sequence[int] | Tensor) -> dict[str, Tensor]:
        """Samples ``indices`` stacked: ``{"obs": (B, To, Do), "action": (B, H, Da)}`` (normalized)."""
        idx = torch.as_tensor(indices, dtype=torch.long).reshape(-1)  # (B,)
        s, lo, hi = self._s[idx, None], self._ep_start[idx, None], self._ep_last[idx, None]
        oi = torch.minimum(torch.maximum(s + self._obs_off, lo), hi)  # (B, To) edge-padded frame ids
        ai = torch.minimum(torch.maximum(s + self._act_off, lo), hi)  # (B, H)
        return {"obs": self._obs[oi], "action": self._act[ai]}

    def __getitems__(self, indices: Sequence[int]) -> dict[str, Tensor]:
        return self.get_batch(indices)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        n = len(self)
        if not -n <= int(i) < n:
            raise IndexError(f"sample index {i} out of range for {n} samples")
        b = self.get_batch([int(i) % n])
        return {"obs": b["obs"][0], "action": b["action"][0]}

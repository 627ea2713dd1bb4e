"""Min-max normalization of observations and actions to [-1, 1] per dimension.

Diffusion policies work in a normalized space whose data range matches the noise scale (and where
DDPM's x0 clipping to [-1, 1] is meaningful). ``RangeNormalizer`` handles one array kind from its
per-dimension dataset minimum and maximum; a dimension that is (nearly) constant in the data is
shifted to 0 and left unscaled, so it neither divides by zero nor blows up unseen values.
``Normalizer`` groups the named fields of a policy (``"obs"`` and ``"action"``) and serializes to a
plain dict for ``normalizer.json``. Both work on numpy arrays and torch tensors (any device/dtype).
"""
from __future__ import annotations

from typing import Any, Mapping, TypeVar

import numpy as np
import torch
from torch import Tensor

ArrayT = TypeVar("ArrayT", np.ndarray, Tensor)

RANGE_EPS = 1e-4  # ranges below this are treated as constant dimensions


class RangeNormalizer:
    """Affine map ``y = scale·x + offset`` sending each dimension's [min, max] to [-1, 1]."""

    def __init__(self, low: Any, high: Any, *, range_eps: float = RANGE_EPS) -> None:
        low = np.asarray(low, dtype=np.float64).reshape(-1)  # (D,)
        high = np.asarray(high, dtype=np.float64).reshape(-1)  # (D,)
        if low.shape != high.shape or low.size == 0:
            raise ValueError(f"low and high must be non-empty vectors of one shape, got {low.shape} and {high.shape}")
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError("normalizer statistics must be finite")
        if (high < low).any():
            raise ValueError("normalizer needs high >= low in every dimension")
        self.low, self.high, self.range_eps = low, high, float(range_eps)
        rng = high - low
        constant = rng < range_eps
        self.scale = np.where(constant, 1.0, 2.0 / np.where(constant, 1.0, rng))  # (D,)
        # constant dims: x - low (the data value maps to 0); others: low -> -1, high -> +1
        self.offset = np.where(constant, -low, -1.0 - self.scale * low)  # (D,)
        self._torch_cache: dict[tuple[Any, Any], tuple[Tensor, Tensor]] = {}

    @classmethod
    def fit(cls, data: Any, *, range_eps: float = RANGE_EPS) -> "RangeNormalizer":
        """Statistics from data of shape ``(..., D)`` (numpy, tensor, or a list of ``(T_i, D)`` arrays)."""
        if isinstance(data, (list, tuple)):
            data = np.concatenate([np.asarray(d, dtype=np.float64).reshape(-1, np.shape(d)[-1]) for d in data])
        arr = data.detach().cpu().double().numpy() if isinstance(data, Tensor) else np.asarray(data, np.float64)
        if arr.ndim < 1 or arr.size == 0:
            raise ValueError(f"cannot fit a normalizer to empty data of shape {arr.shape}")
        arr = arr.reshape(-1, arr.shape[-1])  # (N, D)
        return cls(arr.min(axis=0), arr.max(axis=0), range_eps=range_eps)

    @property
    def dim(self) -> int:
        """D: the number of dimensions."""
        return int(self.low.size)

    def _params(self, x: ArrayT) -> tuple[Any, Any]:
        if x.shape[-1] != self.dim:
            raise ValueError(f"expected last dimension {self.dim}, got shape {tuple(x.shape)}")
        if isinstance(x, Tensor):
            key = (x.device, x.dtype)
            if key not in self._torch_cache:
                self._torch_cache[key] = (torch.as_tensor(self.scale, dtype=x.dtype, device=x.device),
                                          torch.as_tensor(self.offset, dtype=x.dtype, device=x.device))
            return self._torch_cache[key]
        dt = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return self.scale.astype(dt), self.offset.astype(dt)

    def normalize(self, x: ArrayT) -> ArrayT:
        """Raw units → [-1, 1] (same type, shape and float dtype as ``x``)."""
        if not isinstance(x, Tensor):
            x = np.asarray(x)
        scale, offset = self._params(x)
        return x * scale + offset

    def unnormalize(self, y: ArrayT) -> ArrayT:
        """[-1, 1] → raw units (the exact inverse of ``normalize``)."""
        if not isinstance(y, Tensor):
            y = np.asarray(y)
        scale, offset = self._params(y)
        return (y - offset) / scale

    def state_dict(self) -> dict[str, Any]:
        """JSON-able statistics."""
        return {"low": self.low.tolist(), "high": self.high.tolist(), "range_eps": self.range_eps}

    @classmethod
    def from_state_dict(cls, d: Mapping[str, Any]) -> "RangeNormalizer":
        """Inverse of ``state_dict``."""
        try:
            return cls(d["low"], d["high"], range_eps=float(d.get("range_eps", RANGE_EPS)))
        except (KeyError, TypeError) as e:
            raise ValueError(f"bad normalizer statistics: {e!r}") from None


class Normalizer:
    """Named ``RangeNormalizer``s, e.g. ``{"obs": ..., "action": ...}``."""

    def __init__(self, fields: Mapping[str, RangeNormalizer]) -> None:
        self.fields = dict(fields)

    @classmethod
    def fit(cls, **data: Any) -> "Normalizer":
        """``Normalizer.fit(obs=obs_list, action=actions_list)``: one ``RangeNormalizer`` per keyword."""
        return cls({k: RangeNormalizer.fit(v) for k, v in data.items()})

    @classmethod
    def identity(cls, **dims: int) -> "Normalizer":
        """Statistics that map [-1, 1] to itself (e.g. ``identity(obs=6, action=2)``)."""
        return cls({k: RangeNormalizer(-np.ones(d), np.ones(d)) for k, d in dims.items()})

    def __getitem__(self, name: str) -> RangeNormalizer:
        if name not in self.fields:
            raise KeyError(f"normalizer has no field {name!r}; it has: {', '.join(self.fields)}")
        return self.fields[name]

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def normalize(self, name: str, x: ArrayT) -> ArrayT:
        """Normalize ``x`` as field ``name``."""
        return self[name].normalize(x)

    def unnormalize(self, name: str, y: ArrayT) -> ArrayT:
        """Un-normalize ``y`` as field ``name``."""
        return self[name].unnormalize(y)

    def state_dict(self) -> dict[str, Any]:
        """JSON-able ``{field: {low, high, range_eps}}``."""
        return {k: v.state_dict() for k, v in self.fields.items()}

    @classmethod
    def from_state_dict(cls, d: Mapping[str, Any]) -> "Normalizer":
        """Inverse of ``state_dict``."""
        if not isinstance(d, Mapping):
            raise ValueError(f"normalizer state must be a mapping, got {type(d).__name__}")
        return cls({k: RangeNormalizer.from_state_dict(v) for k, v in d.items()})

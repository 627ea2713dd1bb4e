"""What identifies the machine a measurement was taken on, and where such measurements are cached.

Shared by the planners' cost model (denoiser latency against batch size) and the traced networks'
convolution tuning (``conv_tuning.py``): both time this machine once and keep the result on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch


def default_cache_dir() -> Path:
    """``$PARAPOLICY_CACHE`` or ``~/.cache/parapolicy``."""
    return Path(os.environ.get("PARAPOLICY_CACHE", Path.home() / ".cache" / "parapolicy"))


def device_name(device: torch.device | str = "cpu") -> str:
    """A human-readable name of the compute device (GPU name or CPU model)."""
    dev = torch.device(device)
    if dev.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(dev)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"cpu:{cpu}"


def device_hash(device: torch.device | str = "cpu") -> str:
    """Eight hex digits naming the device model (``device_name``), for cache file names."""
    return hashlib.sha1(device_name(device).encode()).hexdigest()[:8]


def save_json_atomic(path: str | Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temp file and a rename, so a reader never sees a
    half-written file; the file gets the permissions a plain ``open`` would give."""
    from .checkpoint import default_mode

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2)
        os.chmod(tmp, default_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_cache(path: str | Path, data: Any) -> bool:
    """``save_json_atomic`` for a measurement cache: a cache that cannot be written (a read-only home,
    a full disk) costs a re-measurement next time, not the run. Returns whether it was written; warns
    once per path otherwise."""
    try:
        save_json_atomic(path, data)
        return True
    except OSError as err:
        if str(path) not in _unwritable:
            _unwritable.add(str(path))
            warnings.warn(f"could not write the measurement cache {path} ({err}); it will be measured again",
                          RuntimeWarning, stacklevel=2)
        return False


_unwritable: set[str] = set()

"""parapolicy-cache: show or clear this machine's measurement caches.

Two things are timed once per machine and then kept on disk under ``$PARAPOLICY_CACHE`` (default
``~/.cache/parapolicy``), so that later runs start fast and trace the same program:

- ``cost_model/``: each denoiser's latency against batch size (``planners.cost_model``), one file per
  model, device and torch thread count. A cached file is checked against a quick timing at start-up
  and measured again when it is off by more than ``STALE_FACTOR``.
- ``conv_bands/``: for each convolution layer shape, the batch sizes at which a traced CPU network
  computes it as a matrix product (``policies.conv_tuning``), one file per CPU model, thread count and
  torch version. These are never re-checked, so bands timed on a busy CPU stay until cleared.

Usage::

    parapolicy-cache                          # list every cache file and what it holds
    parapolicy-cache action=clear what=bands  # delete the convolution bands (timed again on next trace)
    parapolicy-cache action=clear             # delete both kinds
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from parapolicy.scripts.common import UserError, hydra_app

ACTIONS = ("show", "clear")
KIND_NAMES = ("cost_model", "bands")  # what= values besides all


def kind_folder(kind: str) -> str:
    """The folder under the cache root that the module writing ``kind`` keeps its files in."""
    if kind == "bands":
        from parapolicy.policies.conv_tuning import CACHE_SUBDIR
    else:
        from parapolicy.planners.cost_model import CACHE_SUBDIR
    return CACHE_SUBDIR


@dataclass
class CacheConfig:
    """``parapolicy-cache`` options."""

    action: str = "show"  # show | clear
    what: str = "all"  # all | cost_model | bands
    cache_dir: str | None = None  # null: $PARAPOLICY_CACHE or ~/.cache/parapolicy

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise UserError(f"action must be one of {', '.join(ACTIONS)}, got {self.action!r}")
        if self.what != "all" and self.what not in KIND_NAMES:
            raise UserError(f"what must be all, {' or '.join(KIND_NAMES)}, got {self.what!r}")

    @property
    def root(self) -> Path:
        """The cache folder these options name."""
        from parapolicy.policies.machine import default_cache_dir

        return Path(self.cache_dir) if self.cache_dir is not None else default_cache_dir()

    @property
    def kinds(self) -> list[str]:
        """The ``what=`` kinds selected, in a fixed order."""
        return list(KIND_NAMES) if self.what == "all" else [self.what]


def cache_files(root: Path, kinds: list[str]) -> list[tuple[str, Path]]:
    """(kind, path) of every cache file parapolicy wrote under ``root`` for ``kinds``: the JSON files and
    any temp file left by an interrupted write. Nothing else in those folders is listed."""
    found = []
    for kind in kinds:
        folder = root / kind_folder(kind)
        if folder.is_dir():
            found += [(kind, p) for p in sorted(folder.iterdir())
                      if p.is_file() and p.suffix in (".json", ".tmp")]
    return found


def describe(kind: str, path: Path) -> str:
    """One line on what a cache file holds (device, threads, what was measured, when); cost models are
    read with ``CostModel.load``, as a planner reads them."""
    from parapolicy.planners.cost_model import CostModel

    try:
        if kind == "bands":
            data = json.loads(path.read_text())
            meta, bands = data.get("meta") or {}, dict(data["bands"])
            used = sum(v is not None for v in bands.values())
            what = f"{len(bands)} layer shapes, {used} computed as products at some batch sizes"
        else:
            cm = CostModel.load(path)
            meta, n = cm.meta, min(cm.latency_s)
            sizes = f"batch {n}–{max(cm.latency_s)}" if len(cm.latency_s) > 1 else f"batch {n}"
            steady = (f", {cm.steady_cost(n) * 1e3:.3f} steady" if cm.steady_latency_s
                      else "; no steady cost (measured again when next used)")
            what = f"{sizes}, batch-{n} call {cm.cost(n) * 1e3:.3f} ms cold, {cm.warm_cost(n) * 1e3:.3f} warm{steady}"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "unreadable (measured again when next needed)"
    head = f"{meta.get('device', '?')}, {meta.get('threads', '?')} thread(s), torch {meta.get('torch', '?')}"
    when = meta.get("date") or time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(path.stat().st_mtime))
    return f"{head}; {what}; {when}"


def show(cfg: CacheConfig) -> list[str]:
    """The lines ``action=show`` prints."""
    files = cache_files(cfg.root, cfg.kinds)
    if not files:
        return [f"no {cfg.what if cfg.what != 'all' else 'measurement'} caches under {cfg.root}"]
    return [f"{cfg.root}:"] + [f"  {p.relative_to(cfg.root)}: {describe(kind, p)}" for kind, p in files]


def clear(cfg: CacheConfig) -> list[str]:
    """Delete the selected cache files; the lines ``action=clear`` prints."""
    files = cache_files(cfg.root, cfg.kinds)
    for _, p in files:
        p.unlink(missing_ok=True)
    if not files:
        return [f"nothing to clear under {cfg.root}"]
    return [f"removed {len(files)} file(s) under {cfg.root}: " + ", ".join(str(p.relative_to(cfg.root))
                                                                         for _, p in files)]


@hydra_app("cache", CacheConfig)
def main(cfg: CacheConfig) -> None:
    """Entry point of ``parapolicy-cache``."""
    for line in (show(cfg) if cfg.action == "show" else clear(cfg)):
        print(line)


if __name__ == "__main__":
    main()

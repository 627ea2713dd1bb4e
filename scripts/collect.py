"""``parapolicy-collect``: roll out a task's expert and write its demonstrations to one HDF5 file.

    parapolicy-collect env=Fork-v0 episodes=100
    parapolicy-collect env=Reacher-v5 expert=runs/experts/Reacher-v5-sac/model.zip episodes=50
    parapolicy-collect env=PushT-v0 episodes=500 action_noise=0.02   # DART: perturbed execution
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from parapolicy.scripts.common import EnvConfig, UserError, hydra_app, provenance


@dataclass
class CollectConfig:
    """Config of ``parapolicy-collect``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    episodes: int = 100
    expert: str = "scripted"
    algo: str | None = None
    seed: int = 0
    keep_failed: bool = False
    action_noise: float = 0.0
    out: str | None = None
    overwrite: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if not 0.0 <= self.action_noise <= 1.0:  # also refuses NaN
            raise ValueError(f"action_noise must be in [0, 1] (a fraction of the action half-range), "
                             f"got {self.action_noise}")

    @property
    def out_path(self) -> Path:
        """Where the HDF5 file goes."""
        return Path(self.out) if self.out else Path("runs/data") / f"{self.env.short}.hdf5"


def collect(cfg: CollectConfig) -> dict[str, Any]:
    """Roll out the expert for ``cfg.episodes`` seeded episodes and write the kept ones.

    With ``action_noise > 0`` the env executes the expert's actions with DART noise
    (:class:`~parapolicy.envs.action_noise.ActionNoise`) while the file records the expert's own.
    """
    from parapolicy.envs.action_noise import ActionNoise
    from parapolicy.envs.demos import Episode, write_demos
    from parapolicy.envs.experts import make_expert
    from parapolicy.planners.rollout import run_episode

    out = cfg.out_path
    if out.exists() and not cfg.overwrite:  # fail before spending minutes collecting
        raise FileExistsError(f"{out} exists; pass overwrite=true to replace it")
    env = cfg.env.make()
    expert = make_expert(env, cfg.expert, seed=cfg.seed, algo=cfg.algo)
    if cfg.action_noise > 0:
        env = ActionNoise(env, cfg.action_noise)
    kept: list[Episode] = []
    successes, modes, flagged = 0, Counter(), False
    t0 = time.perf_counter()
    for i in tqdm(range(cfg.episodes), desc=f"collect {cfg.env.short}", disable=not cfg.progress):
        rec = run_episode(env, expert, seed=cfg.seed + i)
        flagged = flagged or rec.success is not None
        ok = bool(rec.success) if rec.success is not None else True
        successes += ok
        mode = str(getattr(expert, "mode", "") or "")
        if ok or cfg.keep_failed:
            modes[mode] += 1
            kept.append(Episode(obs=rec.obs, actions=rec.actions, rewards=rec.rewards, dones=rec.dones,
                                success=ok, seed=cfg.seed + i, mode=mode))
    elapsed = time.perf_counter() - t0
    env.close()
    if not kept:
        raise UserError(f"the expert succeeded in none of {cfg.episodes} episodes; nothing to write "
                        "(keep_failed=true keeps them)")
    write_demos(out, kept, env_id=cfg.env.id, env_kwargs=dict(cfg.env.kwargs), expert=cfg.expert,
                seed=cfg.seed, action_noise=cfg.action_noise, overwrite=cfg.overwrite)
    steps = int(sum(len(e.actions) for e in kept))
    returns = [float(e.rewards.sum()) for e in kept]
    summary = {"env_id": cfg.env.id, "episodes": cfg.episodes,
               "expert_successes": successes if flagged else None,
               "expert_success_rate": successes / cfg.episodes if flagged else None,
               "action_noise": cfg.action_noise, "mean_return_kept": sum(returns) / len(returns), "kept": len(kept),
               "steps": steps, "modes": dict(modes), "seconds": elapsed, "file": str(out),
               "bytes": out.stat().st_size, "provenance": provenance(cfg.seed)}
    outcome = f"expert success {successes}/{cfg.episodes}" if flagged else "no success flag (all kept)"
    print(f"{cfg.env.id}: {outcome}, mean return {summary['mean_return_kept']:.2f}, kept {len(kept)} episodes "
          f"({steps} steps, modes {dict(modes)}) in {elapsed:.1f} s -> {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return summary


@hydra_app("collect", CollectConfig)
def main(cfg: CollectConfig) -> None:
    """Console entry point."""
    collect(cfg)


if __name__ == "__main__":
    main()

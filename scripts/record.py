"""``parapolicy-record``: roll out a policy and write one annotated video per episode.

    parapolicy-record env=PushT-v0 policy=expert episodes=2 gif=true
    parapolicy-record env=Fork-v0 checkpoint=runs/train/<time>/checkpoint episodes=2
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parapolicy.scripts.common import EnvConfig, hydra_app


@dataclass
class RecordConfig:
    """Config of ``parapolicy-record``."""

    env: EnvConfig = field(default_factory=EnvConfig)
    policy: dict[str, Any] = field(default_factory=lambda: {"kind": "expert"})
    checkpoint: str | None = None
    expert: str = "scripted"
    episodes: int = 2
    seed: int = 0
    out_dir: str | None = None
    width: int = 256
    height: int = 256
    fps: float | None = None
    gif: bool = False
    max_steps: int | None = None

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.checkpoint is None and self.policy.get("kind") != "expert":
            raise ValueError(f"policy={self.policy.get('kind')} needs checkpoint=<dir> of a trained policy "
                             "(or use policy=expert)")
        for name in ("width", "height"):
            value = getattr(self, name)
            if value < 16 or value % 2:
                raise ValueError(f"{name} must be an even number >= 16 (H.264), got {value}")


def record(cfg: RecordConfig) -> list[Path]:
    """Roll out ``cfg.episodes`` episodes and write their videos; returns the written paths."""
    from parapolicy.planners.rollout import run_episode
    from parapolicy.scripts.policy_loader import load_control_policy
    from parapolicy.scripts.video import episode_frames, write_video

    env = cfg.env.make(render_mode="rgb_array", width=cfg.width, height=cfg.height)
    policy, label = load_control_policy(cfg.checkpoint or "expert", env, expert=cfg.expert, seed=cfg.seed)
    fps = cfg.fps or env.metadata.get("render_fps", 10)
    out_dir = Path(cfg.out_dir) if cfg.out_dir else Path("videos") / cfg.env.short
    written = []
    for i in range(cfg.episodes):
        seed = cfg.seed + i
        rec = run_episode(env, policy, seed=seed, render=True, max_steps=cfg.max_steps)
        outcome = "" if rec.success is None else ("success" if rec.success else "fail")
        frames = episode_frames(rec.frames, rec.rewards, rec.notes, title=f"{cfg.env.short} | {label} | seed {seed}")
        stem = f"{cfg.env.short}_{label}_seed{seed}"
        written.append(write_video(out_dir / f"{stem}.mp4", frames, fps=fps))
        if cfg.gif:
            written.append(write_video(out_dir / f"{stem}.gif", frames[::2], fps=fps / 2))
        print(f"episode {i} seed {seed}: {rec.steps} steps, return {rec.ret:.2f} {outcome} -> {written[-1]}")
    env.close()
    return written


@hydra_app("record", RecordConfig)
def main(cfg: RecordConfig) -> None:
    """Console entry point."""
    record(cfg)


if __name__ == "__main__":
    main()

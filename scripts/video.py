"""Evaluation videos: annotate rendered frames and write MP4 (H.264 via imageio-ffmpeg) or GIF files.

Files are written to a temporary name and renamed, so an interrupted run leaves no broken video.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw, ImageFont


def even_frame(frame: np.ndarray) -> np.ndarray:
    """Crop a frame (h, w, 3) to even height and width, as H.264 with yuv420p requires."""
    h, w = frame.shape[:2]
    return frame[: h - h % 2, : w - w % 2]


def annotate(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Draw text lines in the top-left corner of a (h, w, 3) uint8 frame on a dark backing box."""
    img = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=max(10, frame.shape[0] // 22))  # scalable (Pillow >= 10.1)
    except TypeError:
        font = ImageFont.load_default()
    y = 2
    for line in lines:
        if not line:
            continue
        left, top, right, bottom = draw.textbbox((4, y), line, font=font)
        draw.rectangle((left - 2, top - 1, right + 2, bottom + 1), fill=(0, 0, 0))
        draw.text((4, y), line, fill=(255, 255, 255), font=font)
        y = bottom + 3
    return np.asarray(img)


def episode_frames(frames: Sequence[np.ndarray], rewards: Sequence[float],
                   notes: Sequence[str] | None = None, title: str = "") -> list[np.ndarray]:
    """Annotate each frame with the step count, the last reward and the return so far.

    ``frames`` has one more entry than ``rewards`` (the frame after reset comes first).
    """
    out, ret = [], 0.0
    for i, frame in enumerate(frames):
        r = float(rewards[i - 1]) if i > 0 else 0.0
        ret += r
        lines = [title, f"step {i} | reward {r:+.3f} | return {ret:.2f}"]
        if notes and 0 < i <= len(notes):
            lines.append(notes[i - 1])
        out.append(even_frame(annotate(frame, lines)))
    return out


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """Write frames to ``path`` (``.mp4`` → H.264, ``.gif`` → GIF), atomically."""
    path = Path(path)
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"video path must end in .mp4 or .gif, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{suffix}")
    try:
        if suffix == ".mp4":
            with imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7,
                                    pixelformat="yuv420p", macro_block_size=2) as writer:
                for frame in frames:
                    writer.append_data(even_frame(np.asarray(frame)))
        else:
            imageio.mimsave(tmp, [np.asarray(f) for f in frames], duration=1000.0 / fps, loop=0)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def count_frames(path: str | Path) -> int:
    """Decode a video and count its frames (used by tests and sanity checks)."""
    reader = imageio.get_reader(str(path))
    try:
        return sum(1 for _ in reader)
    finally:
        reader.close()

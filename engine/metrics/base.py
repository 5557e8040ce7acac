"""What every metric returns, and how generated frames are brought onto the shot's pixel grid.

Generated frames are resized to the passes' resolution (never the passes to the video's), so
every threshold in pixels means shot pixels for every generator, and the exact passes are never
interpolated. Frames are compared in 0..255 intensity units.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from physreel.conditioning.records import Passes

LOWER, HIGHER = "lower", "higher"


@dataclass(frozen=True)
class MetricResult:
    """One metric of one video against one shot.

    `per_frame` has one entry per frame transition t -> t+1 (N - 1 entries for an N-frame shot),
    or one per frame (N entries) for metrics of single frames (depth, depiction, Physics-IQ's),
    NaN where the metric is undefined there (its region is empty); None for metrics that only
    exist over the whole shot. `value` is the shot-level number.
    """

    name: str
    value: float
    direction: str
    """'lower' or 'higher': which is better."""
    unit: str
    per_frame: np.ndarray | None = None
    """float64 [N - 1] or [N], or None."""
    note: str | None = None
    """Why the metric was skipped or is undefined; None when it was measured."""
    per_object: dict[str, float] | None = None
    """The value per judged object (depiction metrics), by the spec's object name; None for the others."""

    @property
    def skipped(self) -> bool:
        return not np.isfinite(self.value)


def shot_mean(per_frame: np.ndarray) -> float:
    """Mean of the defined (finite) per-frame values; NaN when none is defined."""
    finite = per_frame[np.isfinite(per_frame)]
    return float(finite.mean()) if finite.size else float("nan")


def check_frames(frames: np.ndarray, passes: Passes) -> np.ndarray:
    """Validate generated frames (uint8 [T, H', W', 3]) and resize them to the passes' size.

    Returns uint8 [T, H, W, 3] with (W, H) = passes.size. Shrinking uses area averaging,
    enlarging bilinear interpolation. T must equal the shot's frame count.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    if len(frames) != passes.num_frames:
        raise ValueError(f"the video has {len(frames)} frames but the shot has {passes.num_frames}; they must match")
    if len(frames) < 2:
        raise ValueError("metrics need at least 2 frames (they measure motion between frames)")
    width, height = passes.size
    if frames.shape[1:3] == (height, width):
        return frames
    shrinking = frames.shape[1] * frames.shape[2] > width * height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation) for f in frames])


def require_passes(passes: Passes, names: tuple[str, ...], metric: str) -> None:
    missing = [n for n in names if getattr(passes, n) is None]
    if missing:
        raise ValueError(f"{metric} needs the passes {', '.join(missing)}; render them (physreel passes without --passes)")


def gray(frames: np.ndarray) -> np.ndarray:
    """float32 [T, H, W] luma (ITU-R BT.601 weights) in 0..255 of uint8 RGB frames [T, H, W, 3]."""
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return frames.astype(np.float32) @ weights


def masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 [T]: mean of values[t] (float [T, H, W]) over mask[t] (bool [T, H, W]); NaN where mask[t] is empty."""
    counts = mask.sum(axis=(1, 2))
    sums = np.where(mask, values, 0.0).sum(axis=(1, 2), dtype=np.float64)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def empty_note(per_frame: np.ndarray, why: str) -> str | None:
    """A note for a metric that is undefined on every transition, else None."""
    return None if np.isfinite(per_frame).any() else f"undefined: {why} in any frame"

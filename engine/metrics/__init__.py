"""Physics-adherence metrics of a video against a simulated shot's exact passes.

Each metric takes the video's frames (uint8 [N, H, W, 3], resized to the passes' size by
`check_frames`) and the shot's `Passes`, and returns `MetricResult`s that say whether lower or
higher is better. `compute_metrics` runs them all. Formulas: each module's docstring and
docs/compare.md.
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import HIGHER, LOWER, MetricResult, check_frames
from .depth_rank import DepthEstimator, depth_rank_correlation, load_depth_estimator, skipped_depth_rank
from .flicker import background_flicker
from .flow_error import flow_error
from .masks import SimMotion, sim_motion
from .motion_iou import motion_iou
from .warp_error import warp_error

METRIC_NAMES = (
    "flow_epe_object",
    "flow_epe_background",
    "flow_outlier_share",
    "warp_error",
    "motion_iou",
    "motion_iou_spatiotemporal",
    "background_flicker",
    "depth_rank_correlation",
)


def compute_metrics(
    frames: np.ndarray,
    passes: Passes,
    dynamic_ids: frozenset[int] | None = None,
    depth_estimator: DepthEstimator | None = None,
    depth_note: str | None = None,
    motion: SimMotion | None = None,
) -> dict[str, MetricResult]:
    """Every metric of `frames` (uint8 [N, H', W', 3], any size) against `passes`, by name.

    `dynamic_ids`: seg ids of non-static parts and particles (see `dynamic_seg_ids`); without
    them moving objects are found by |flow| alone. Without `depth_estimator` the depth metric
    is recorded as skipped with `depth_note`. `motion`: masks.sim_motion(passes), which depends
    on the passes only; give it when scoring several videos of one shot, else it is computed here.
    """
    frames = check_frames(frames, passes)
    motion = motion or sim_motion(passes)
    results = [
        *flow_error(frames, passes, dynamic_ids),
        *warp_error(frames, passes),
        *motion_iou(frames, passes, motion),
        *background_flicker(frames, passes, motion),
    ]
    if depth_estimator is not None:
        results += depth_rank_correlation(frames, passes, depth_estimator)
    else:
        results += skipped_depth_rank(depth_note or "skipped: no depth estimator")
    return {r.name: r for r in results}


def dynamic_seg_ids(shot) -> frozenset[int]:
    """Seg ids of every part that is not static, and of every particle emitter, of a sim Shot."""
    ids = {part.seg_id for part in shot.parts if not part.static}
    if shot.particles is not None:
        ids |= {int(i) for i in shot.particles.emitter_seg_ids}
    return frozenset(ids)


__all__ = [
    "HIGHER", "LOWER", "METRIC_NAMES", "MetricResult", "DepthEstimator", "check_frames", "compute_metrics",
    "dynamic_seg_ids", "load_depth_estimator", "SimMotion", "sim_motion",
]

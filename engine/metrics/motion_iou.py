"""Motion-mask IoU: does the video move the pixels the simulation moves?

G_t = masks.video_motion_mask (frame differencing, in the manner of the Physics-IQ benchmark's
binary motion masks) and S_t = masks.sim_motion_mask (exact flow and seg), t = 0 .. N-2.
- motion_iou_t = |G_t & S_t| / |G_t | S_t| per transition (spatial IoU); a transition where
  neither mask has a pixel counts as 1 (both agree nothing moves).
- motion_iou_spatiotemporal = sum_t |G_t & S_t| / sum_t |G_t | S_t| over the whole shot
  (voxels of the [N-1, H, W] volume).
Higher is better; 1 is perfect.
With a moving camera both masks are taken relative to the world (masks.py, camera_motion.py):
otherwise frame differencing counts every textured pixel the camera sweeps past as motion, and
a video that flickers everywhere would score well against a simulation where "everything moves".
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import HIGHER, MetricResult, require_passes, shot_mean
from .masks import SimMotion, sim_motion, video_motion_mask


def motion_iou(frames: np.ndarray, passes: Passes, motion: SimMotion | None = None) -> list[MetricResult]:
    """motion_iou (per transition) and motion_iou_spatiotemporal. frames at the passes' size;
    `motion`: masks.sim_motion(passes), computed here when not given."""
    require_passes(passes, ("flow_fwd", "seg"), "motion-mask IoU")
    motion = motion or sim_motion(passes)
    video = video_motion_mask(frames, motion)
    sim = motion.moving
    intersection = (video & sim).sum(axis=(1, 2)).astype(np.float64)
    union = (video | sim).sum(axis=(1, 2)).astype(np.float64)
    per_frame = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
    total_union = union.sum()
    spatiotemporal = float(intersection.sum() / total_union) if total_union > 0 else 1.0
    return [
        MetricResult("motion_iou", shot_mean(per_frame), HIGHER, "IoU", per_frame),
        MetricResult("motion_iou_spatiotemporal", spatiotemporal, HIGHER, "IoU", None),
    ]

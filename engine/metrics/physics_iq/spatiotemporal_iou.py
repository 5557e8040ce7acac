"""Physics-IQ's spatiotemporal IoU (physics-IQ-benchmark, code/calculate_and_write_metrics_to_csv.py,
`spatiotemporal_iou_per_frame`; averaged over frames by code/calculate_iq_score.py).

Per frame t = 0 .. N-1: IoU_t = |A_t & B_t| / |A_t | B_t|, 1 where both masks are empty (frame 0
always is); the metric is the mean over the frames: does the video move things where **and when**
the real video does.
"""

from __future__ import annotations

import numpy as np


def spatiotemporal_iou(masks: np.ndarray, real_masks: np.ndarray) -> np.ndarray:
    """float64 [N]: the per-frame IoU of bool masks [N, H, W] (the metric is its mean)."""
    intersection = np.logical_and(masks, real_masks).sum(axis=(1, 2))
    union = np.logical_or(masks, real_masks).sum(axis=(1, 2))
    return np.where(union == 0, 1.0, intersection / np.maximum(union, 1)).astype(np.float64)

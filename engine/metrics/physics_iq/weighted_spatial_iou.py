"""Physics-IQ's weighted spatial IoU (physics-IQ-benchmark, code/calculate_and_write_metrics_to_csv.py,
`weighted_spatial_mask` and `compute_weighted_spatial_iou`).

Each video's masks are averaged over time, w(p) = (1/N) sum_t mask_t(p) in 0..1 (how often a
pixel moves); the weighted IoU is sum_p min(w_a, w_b) / sum_p max(w_a, w_b) over the pixels where
max > 0, and 1 when no pixel moves in either: does the video move things where the real video
does, **as much** as it does.
"""

from __future__ import annotations

import numpy as np


def weighted_spatial_iou(masks: np.ndarray, real_masks: np.ndarray) -> float:
    """Weighted IoU of the time-averaged masks; masks, real_masks: bool [N, H, W]."""
    a, b = masks.mean(axis=0), real_masks.mean(axis=0)
    union = np.maximum(a, b)
    if not (union > 0).any():
        return 1.0
    return float(np.minimum(a, b).sum() / union.sum())

"""Physics-IQ's spatial IoU (physics-IQ-benchmark, code/calculate_and_write_metrics_to_csv.py,
`spatial_binary_masks` and `spatiotemporal_iou_per_frame` on the collapsed masks).

Each video's masks are collapsed over time (a pixel is set when it moves in any frame); the
spatial IoU is |A & B| / |A | B| of the two collapsed masks, and 1 when both are empty: does the
video move things **where** the real video does, whenever it does.
"""

from __future__ import annotations

import numpy as np


def spatial_iou(masks: np.ndarray, real_masks: np.ndarray) -> float:
    """IoU of the time-collapsed masks; masks, real_masks: bool [N, H, W]."""
    return iou(masks.any(axis=0), real_masks.any(axis=0))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """|a & b| / |a | b| of two bool arrays; 1.0 when both are empty (the benchmark's rule)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)

"""Physics-IQ's MSE (physics-IQ-benchmark, code/calculate_and_write_metrics_to_csv.py, `mse_per_frame`;
averaged over frames by code/calculate_iq_score.py).

Per frame t: the mean over pixels and the 3 channels of (a - b)^2, with intensities scaled to 0..1
(the benchmark divides by 255); the metric is the mean over the N frames. Lower is better.
"""

from __future__ import annotations

import numpy as np


def mse_per_frame(frames: np.ndarray, real_frames: np.ndarray) -> np.ndarray:
    """float64 [N]: per-frame MSE of uint8 frames [N, H, W, 3] against real_frames, on 0..1 intensities."""
    difference = frames.astype(np.float32) / np.float32(255.0) - real_frames.astype(np.float32) / np.float32(255.0)
    return np.square(difference).mean(axis=(1, 2, 3), dtype=np.float64)

"""Warp error: temporal consistency of a video under the simulated motion.

Frame t+1 is warped back to frame t along the exact flow: W_t(p) = I_{t+1}(p + F_t(p)),
bilinear (cv2.remap; p + F_t(p) in OpenCV pixel-index coordinates). Then
warp_error_t = mean over pixels with flow_valid_t, and over the 3 channels, of
|W_t(p) - I_t(p)|, in 0..255 intensity units. The shot value is the mean over transitions.
Lower is better. A video that moves its content the way the simulation does scores near 0;
note that a video where nothing moves also scores low on a mostly static scene, which is why
this metric is read next to the flow error and the motion-mask IoU.
"""

from __future__ import annotations

import cv2
import numpy as np

from physreel.conditioning.records import Passes

from .base import LOWER, MetricResult, empty_note, masked_mean, require_passes, shot_mean


def warp_back(frames: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """float32 [N - 1, H, W, 3]: frame t+1 sampled at p + flow_fwd_t(p), for t = 0 .. N-2."""
    _, height, width, _ = frames.shape
    cols, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    warped = []
    for t in range(len(frames) - 1):
        map_x = cols + flow_fwd[t, ..., 0]
        map_y = rows + flow_fwd[t, ..., 1]
        warped.append(cv2.remap(frames[t + 1].astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE))
    return np.stack(warped)


def warp_error(frames: np.ndarray, passes: Passes) -> list[MetricResult]:
    """warp_error (0..255). frames: uint8 [N, H, W, 3] at the passes' size."""
    require_passes(passes, ("flow_fwd", "flow_valid"), "warp error")
    warped = warp_back(frames, passes.flow_fwd)
    error = np.abs(warped - frames[:-1].astype(np.float32)).mean(axis=-1)
    per_frame = masked_mean(error, passes.flow_valid[:-1])
    return [MetricResult("warp_error", shot_mean(per_frame), LOWER, "0..255", per_frame,
                         empty_note(per_frame, "no pixel has a valid flow"))]

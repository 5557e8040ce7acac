"""Resampling the shot's control frames and flow to the size a backend generates at.

Control images are resampled once, to the size actually generated (engine.request); the builtin
backend resamples again to its native size. Flow vectors are rescaled with the pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from .errors import BackendError


def centre_sample_index(src: int, dst: int) -> np.ndarray:
    """Source index of each destination pixel centre: floor((j + 0.5) * src / dst). int64 [dst]."""
    return np.minimum(((np.arange(dst) + 0.5) * (src / dst)).astype(np.int64), src - 1)


def resize_flow(flow_fwd: np.ndarray, flow_valid: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample a flow field (float32 [T, H, W, 2], pixels) to width x height.

    Nearest sample at pixel centres (averaging would blend the flow of an object with its
    background across an edge), with dx scaled by width / W and dy by height / H so the
    vectors are in the new pixels. Returns (float32 [T, height, width, 2], bool [T, height, width]).
    """
    _, src_h, src_w, _ = flow_fwd.shape
    if (src_w, src_h) == (width, height):
        return flow_fwd.astype(np.float32, copy=False), flow_valid.astype(bool, copy=False)
    rows = centre_sample_index(src_h, height)
    cols = centre_sample_index(src_w, width)
    flow = flow_fwd[:, rows][:, :, cols].astype(np.float32)
    flow *= np.array([width / src_w, height / src_h], dtype=np.float32)
    return flow, flow_valid[:, rows][:, :, cols].astype(bool)


def resize_frames(frames: np.ndarray, width: int, height: int, kind: str = "") -> np.ndarray:
    """Resize uint8 [T, H, W, 3] control frames to width x height.

    Segmentation palettes are resampled nearest (a blended colour would be a different id);
    other kinds by area averaging when shrinking and bilinear when enlarging.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise BackendError(f"control {kind!r} images must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    _, h, w, _ = frames.shape
    if (w, h) == (width, height):
        return frames
    if kind == "seg":
        rows = centre_sample_index(h, height)
        cols = centre_sample_index(w, width)
        return np.ascontiguousarray(frames[:, rows][:, :, cols])
    interpolation = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation) for f in frames])


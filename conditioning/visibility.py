"""flow_valid: is the point behind a flow vector visible where the flow lands? (after compositing)

For the surface point seen at pixel centre p of frame t, with flow f into frame u (t +- 1):
q = p + f must lie inside frame u's image (0 <= x < W, 0 <= y < H), in front of its camera,
and at the nearest pixel of q (floor(q)) frame u must show the SAME seg id at the SAME depth:
    |z_moved - D_u| <= DEPTH_REL_TOL * z_moved + slack_u
where z_moved is the point's planar depth in frame u's camera and D_u the rendered depth there.
slack_u is the largest depth step from that pixel to a 4-neighbour of the same seg id: the
nearest pixel centre lies within half a pixel of q in x and y, so sampling alone can change the
depth by up to about one such step. A point at infinity (the sky) is valid where frame u shows sky.
"""

from __future__ import annotations

import numpy as np


DEPTH_REL_TOL = 1e-3
"""Relative depth agreement required beyond the sampling slack (float32 storage is ~1e-7)."""


def depth_slack(depth: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """float32 [H, W]: largest |depth step| to a 4-neighbour with the same seg id (0 at isolated pixels)."""
    slack = np.zeros(depth.shape, np.float32)
    finite = np.isfinite(depth)
    for axis in (0, 1):
        a = [slice(None)] * 2
        b = [slice(None)] * 2
        a[axis] = slice(1, None)
        b[axis] = slice(None, -1)
        a, b = tuple(a), tuple(b)
        same = seg[a] == seg[b]
        same &= finite[a]
        same &= finite[b]
        with np.errstate(invalid="ignore"):
            step = np.subtract(depth[a], depth[b])
            np.abs(step, out=step)
        step[~same] = 0.0
        np.maximum(slack[a], step, out=slack[a])
        np.maximum(slack[b], step, out=slack[b])
    return slack


def flow_visibility(flow: np.ndarray, moved_depth: np.ndarray, seg: np.ndarray, target_depth: np.ndarray,
                    target_seg: np.ndarray, target_slack: np.ndarray | None = None) -> np.ndarray:
    """bool [H, W]: the point behind `flow` (frame t) is visible in the target frame.

    flow float32 [H, W, 2]; moved_depth [H, W] the point's planar depth in the target camera
    (inf for points at infinity, <= 0 behind it); seg [H, W] frame t's ids; target_depth,
    target_seg [H, W] the target frame's rendered depth and ids.
    """
    height, width = seg.shape
    landing_x = flow[..., 0] + (np.arange(width) + 0.5)[None, :]
    landing_y = flow[..., 1] + (np.arange(height) + 0.5)[:, None]
    # NaN compares false, so a non-finite landing is never inside.
    inside = (landing_x >= 0) & (landing_x < width) & (landing_y >= 0) & (landing_y < height)
    column = np.where(inside, landing_x, 0).astype(np.intp)  # floor == truncation for x >= 0
    row = np.where(inside, landing_y, 0).astype(np.intp)
    landing = row * width + column  # flat index: take() gathers faster than [row, column]
    seen_depth = target_depth.reshape(-1).take(landing).reshape(height, width)
    seen_seg = target_seg.reshape(-1).take(landing).reshape(height, width)
    if target_slack is None:
        target_slack = depth_slack(target_depth, target_seg)
    slack = target_slack.reshape(-1).take(landing).reshape(height, width)
    at_infinity = np.isposinf(moved_depth)
    surface = np.isfinite(moved_depth) & (moved_depth > 0)
    with np.errstate(invalid="ignore"):
        agrees = np.abs(moved_depth - seen_depth) <= DEPTH_REL_TOL * moved_depth + slack
    surface_ok = surface & (seen_seg == seg) & agrees
    sky_ok = at_infinity & (seen_seg == 0) & np.isposinf(seen_depth)
    return inside & (surface_ok | sky_ok)

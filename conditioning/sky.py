"""The background: a sky gradient at infinity, with the flow of a point at infinity along each ray."""

from __future__ import annotations

import numpy as np

from .layers import FrameView, SurfaceLayer
from .rigid import srgb_to_linear

ZENITH_SRGB = (0.36, 0.56, 0.86)
HORIZON_SRGB = (0.86, 0.91, 0.97)
BELOW_HORIZON_SRGB = (0.62, 0.63, 0.66)


def sky_layer(view: FrameView) -> SurfaceLayer:
    """Depth inf and seg 0 everywhere; colour from the ray's elevation (world Z up); flow of the
    point at infinity along each ray, which only the camera's rotation moves.

    A direction that falls behind the other frame's camera gets depth_fwd/bwd = -inf (never valid).
    """
    height, width = view.height, view.width
    layer = SurfaceLayer.empty(height, width)
    unit = view.directions / np.linalg.norm(view.directions, axis=-1, keepdims=True)
    layer.albedo[...] = sky_color(unit[..., 2])
    layer.emissive = np.ones((height, width), bool)
    if view.need_flow:
        centres = pixel_centres(height, width)
        for step, flow, moved_depth in ((1, layer.flow_fwd, layer.depth_fwd), (-1, layer.flow_bwd, layer.depth_bwd)):
            other = view.frame + step
            if not 0 <= other < view.world_to_camera.shape[0]:
                continue
            camera = view.directions @ view.world_to_camera[other, :3, :3].T
            ahead = camera[..., 2] > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                pixels = np.stack([view.K[0, 0] * camera[..., 0] / camera[..., 2] + view.K[0, 2],
                                   view.K[1, 1] * camera[..., 1] / camera[..., 2] + view.K[1, 2]], axis=-1)
            flow[...] = np.where(ahead[..., None], pixels - centres, 0.0)
            moved_depth[...] = np.where(ahead, np.inf, -np.inf)
    return layer


def sky_color(elevation_sine: np.ndarray) -> np.ndarray:
    """Linear-light sky colour float32 [..., 3] for the sine of a ray's elevation above the horizon."""
    s = np.asarray(elevation_sine, np.float32)[..., None]
    zenith, horizon, below = (srgb_to_linear(np.array(c)) for c in (ZENITH_SRGB, HORIZON_SRGB, BELOW_HORIZON_SRGB))
    up = np.clip(s, 0.0, 1.0) ** 0.6
    down = np.clip(-s * 4.0, 0.0, 1.0)
    return np.where(s >= 0, horizon + (zenith - horizon) * up, horizon + (below - horizon) * down).astype(np.float32)


def pixel_centres(height: int, width: int) -> np.ndarray:
    """float64 [H, W, 2] pixel centres (j + 0.5, i + 0.5)."""
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    return np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), axis=-1).astype(np.float64)

"""The background: a sky gradient at infinity, filled into the pixels no geometry source covers,
with the flow of a point at infinity along each ray (which only the camera's rotation moves)."""

from __future__ import annotations

import weakref

import numpy as np

from .layers import FrameView, SurfaceLayer, scatter_rows
from .rigid import srgb_to_linear

ZENITH_SRGB = (0.36, 0.56, 0.86)
HORIZON_SRGB = (0.86, 0.91, 0.97)
BELOW_HORIZON_SRGB = (0.62, 0.63, 0.66)


def fill_sky(layer: SurfaceLayer, view: FrameView) -> SurfaceLayer:
    """Fill every pixel of `layer` with depth inf (uncovered) as sky, in place; returns `layer`.

    Sky pixels: seg 0, normal 0, albedo from the ray's elevation (world Z up), emissive (unlit),
    flow of the point at infinity along the ray, depth_fwd/bwd = +inf, or -inf where that
    direction falls behind the other frame's camera (never valid).
    """
    sky = np.flatnonzero(~layer.covered)
    if layer.emissive is None:
        layer.emissive = np.zeros(layer.depth.shape, bool)
    if len(sky) == 0:
        return layer
    width = view.width
    directions = _Lazy(lambda: view.directions.reshape(-1, 3).take(sky, axis=0))  # only if the sky's colour or flow needs them
    flat = lambda a: a.reshape((-1,) + a.shape[2:])  # noqa: E731 (views into the layer)
    if view.need_shading:
        scatter_rows(flat(layer.albedo), sky, _sky_albedo(view, sky, directions))
    flat(layer.emissive)[sky] = True
    flat(layer.seg)[sky] = 0
    scatter_rows(flat(layer.normal), sky, 0.0)
    if view.need_flow:
        centres = np.stack([sky % width + 0.5, sky // width + 0.5], axis=1)
        for step, flow, moved_depth in ((1, layer.flow_fwd, layer.depth_fwd), (-1, layer.flow_bwd, layer.depth_bwd)):
            other = view.frame + step
            if not 0 <= other < view.world_to_camera.shape[0]:
                continue
            if np.array_equal(view.world_to_camera[other, :3, :3], view.world_to_camera[view.frame, :3, :3]):
                continue  # the camera did not turn: points at infinity stay put (flow 0, depth inf as set)
            camera = directions() @ view.world_to_camera[other, :3, :3].T
            ahead = camera[:, 2] > 0
            z = np.where(ahead, camera[:, 2], 1.0)
            pixels = np.stack([view.K[0, 0] * camera[:, 0] / z + view.K[0, 2], view.K[1, 1] * camera[:, 1] / z + view.K[1, 2]], axis=1)
            scatter_rows(flat(flow), sky, np.where(ahead[:, None], pixels - centres, 0.0))
            flat(moved_depth)[sky] = np.where(ahead, np.inf, -np.inf)
    return layer


class _SkyImage:
    """The sky albedo of every pixel for one direction array, kept while the rows share it (a camera
    that does not turn, see render.frame_view): built the second time an array is seen, so a moving
    camera only ever colours its sky pixels."""

    directions = None  # weakref to the direction array last seen
    image = None  # float32 [H*W, 3] once built


class _Lazy:
    """A value computed on the first call and kept."""

    def __init__(self, compute):
        self._compute, self._value = compute, None

    def __call__(self):
        if self._value is None:
            self._value = self._compute()
        return self._value


def _sky_albedo(view: FrameView, sky: np.ndarray, directions: _Lazy) -> np.ndarray:
    """float32 [K, 3] linear sky colour of pixels `sky` (flat indices); directions() gives their world directions."""
    seen = _SkyImage.directions() if _SkyImage.directions is not None else None
    if view.directions.flags.writeable:  # may change in place: no caching
        return sky_color(_elevation_sine(directions()))
    if seen is not view.directions:
        _SkyImage.directions, _SkyImage.image = weakref.ref(view.directions), None
        return sky_color(_elevation_sine(directions()))
    if _SkyImage.image is None:
        _SkyImage.image = sky_color(_elevation_sine(view.directions.reshape(-1, 3)))
    return _SkyImage.image.take(sky, axis=0)


def _elevation_sine(directions: np.ndarray) -> np.ndarray:
    """float64 [K]: sine of each world direction's elevation above the horizon (world Z up)."""
    return directions[:, 2] / np.sqrt(np.einsum("ki,ki->k", directions, directions))


def sky_color(elevation_sine: np.ndarray) -> np.ndarray:
    """Linear-light sky colour float32 [..., 3] for the sine of a ray's elevation above the horizon."""
    s = np.asarray(elevation_sine, np.float32)[..., None]
    zenith, horizon, below = (srgb_to_linear(np.array(c)) for c in (ZENITH_SRGB, HORIZON_SRGB, BELOW_HORIZON_SRGB))
    up = np.sqrt(np.clip(s, 0.0, 1.0))
    down = np.clip(-s * 4.0, 0.0, 1.0)
    return np.where(s >= 0, horizon + (zenith - horizon) * up, horizon + (below - horizon) * down).astype(np.float32)


def pixel_centres(height: int, width: int) -> np.ndarray:
    """float64 [H, W, 2] pixel centres (j + 0.5, i + 0.5)."""
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    return np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), axis=-1).astype(np.float64)

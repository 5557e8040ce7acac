"""The RGB preview: Lambert + ambient under one sun, optional hard shadows, the sky unlit.

colour_linear = albedo * (AMBIENT + SUN * max(n . l, 0) * lit), then sRGB-encoded to uint8,
where l is the unit direction towards the sun (world), n the surface normal and lit 0 where a
shadow ray from the surface towards the sun hits a part.
"""

from __future__ import annotations

import weakref

import numpy as np

from .layers import FrameView, SurfaceLayer

SUN_DIRECTION = np.array([0.35, -0.55, 0.76]) / np.linalg.norm([0.35, -0.55, 0.76])
"""World direction towards the sun: above, in front of and to the right of the default camera."""
AMBIENT = 0.32
SUN = 0.78
SHADOW_BIAS = 1e-4
"""Shadow rays start this far (relative to depth, plus 1 mm) off the surface to avoid self-hits."""


def shade(layer: SurfaceLayer, view: FrameView, occluded=None) -> np.ndarray:
    """uint8 [H, W, 3] sRGB preview of a composited layer.

    occluded: optional callable (origins float64 [K, 3], direction [3]) -> bool [K] for shadow rays
    from world points towards the sun.
    """
    rotation = view.world_to_camera[view.frame, :3, :3]
    sun_camera = (rotation @ SUN_DIRECTION).astype(np.float32)  # n . l is the same in camera axes
    lambert = np.maximum(layer.normal @ sun_camera, 0.0)
    if occluded is not None:
        pixels = np.flatnonzero(lambert > 0)  # lit surface pixels (the sky's normal is 0)
        if len(pixels):
            # Formed as [3, K] coordinate rows, so every step is 1-D arithmetic (broadcasting over
            # [K, 3] rows is several times slower); the same operations on the same values:
            # points = origin + depth d + (bias depth + 1 mm) n, with n in world axes (R^T n).
            depth = layer.depth.reshape(-1).take(pixels).astype(np.float64)
            normal_world = rotation.T @ layer.normal.reshape(-1, 3).T.take(pixels, axis=1).astype(np.float64)
            points = _direction_rows(view).take(pixels, axis=1)
            points *= depth
            points += view.origin[:, None]
            normal_world *= SHADOW_BIAS * depth + 1e-3
            points += normal_world
            shadowed = occluded(points.T, SUN_DIRECTION)
            lambert.reshape(-1)[pixels[shadowed]] = 0.0
    light = AMBIENT + SUN * lambert
    if layer.emissive is not None:
        light[layer.emissive] = 1.0
    # albedo * light per channel, as one 1-D product with the light repeated per channel
    linear = np.multiply(layer.albedo.reshape(-1), np.repeat(light.reshape(-1), 3)).reshape(layer.albedo.shape)
    return linear_to_srgb8(linear)


class _Rows:
    """The [3, H*W] coordinate rows of the last read-only direction array seen (a still camera's)."""

    directions = None  # weakref
    rows = None


def _direction_rows(view: FrameView) -> np.ndarray:
    """float64 [3, H*W] world ray directions as x, y, z rows (cached while the rows share the array)."""
    directions = view.directions
    if not directions.flags.writeable:
        if _Rows.directions is None or _Rows.directions() is not directions:
            _Rows.directions, _Rows.rows = weakref.ref(directions), np.ascontiguousarray(directions.reshape(-1, 3).T)
        return _Rows.rows
    return directions.reshape(-1, 3).T


_LUT_SIZE = 1 << 14


def _srgb_lut() -> np.ndarray:
    """uint8 sRGB code of linear value i / (LUT_SIZE - 1): IEC 61966-2-1, rounded."""
    c = np.linspace(0.0, 1.0, _LUT_SIZE)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


_SRGB_LUT = _srgb_lut()


def linear_to_srgb8(linear: np.ndarray) -> np.ndarray:
    """Linear light 0..1 -> sRGB uint8 (IEC 61966-2-1), clipped; through a 16384-entry table
    (within one code of the exact curve, and much faster than a per-pixel power)."""
    scaled = np.clip(linear, 0.0, 1.0)
    scaled *= _LUT_SIZE - 1
    scaled += 0.5
    return _SRGB_LUT.take(scaled.astype(np.int32))

"""The RGB preview: Lambert + ambient under one sun, optional hard shadows, the sky unlit.

colour_linear = albedo * (AMBIENT + SUN * max(n . l, 0) * lit), then sRGB-encoded to uint8,
where l is the unit direction towards the sun (world), n the surface normal and lit 0 where a
shadow ray from the surface towards the sun hits a part.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
        pixels, points = _shadow_ray_origins(lambert.reshape(-1), layer.depth.reshape(-1), layer.normal.reshape(-1, 3),
                                             view.directions.reshape(-1, 3), view.origin, rotation, SHADOW_BIAS)
        if len(pixels):
            lambert.reshape(-1)[pixels[occluded(points, SUN_DIRECTION)]] = 0.0
    emissive = layer.emissive if layer.emissive is not None else np.zeros((0, 0), bool)
    return _lit_srgb8(layer.albedo, lambert, emissive, _SRGB_LUT)


@njit(cache=True)
def _shadow_ray_origins(lambert, depth, normal, directions, origin, rotation, bias) -> tuple[np.ndarray, np.ndarray]:
    """(pixels int64 [K], points float64 [K, 3]): the lit surface pixels (lambert > 0; the sky's normal
    is 0) and where their shadow rays start, in the world: origin + depth d + (bias depth + 1 mm) n,
    d the pixel's world ray direction (camera-z 1) and n its normal turned to world axes (R^T n)."""
    count = 0
    pixels = np.empty(lambert.shape[0], np.int64)
    points = np.empty((lambert.shape[0], 3))
    for pixel in range(lambert.shape[0]):
        if not lambert[pixel] > 0.0:
            continue
        z = float(depth[pixel])
        lift = bias * z + 1e-3
        for axis in range(3):
            normal_world = (rotation[0, axis] * normal[pixel, 0] + rotation[1, axis] * normal[pixel, 1]
                            + rotation[2, axis] * normal[pixel, 2])
            points[count, axis] = directions[pixel, axis] * z + origin[axis] + normal_world * lift
        pixels[count] = pixel
        count += 1
    return pixels[:count], points[:count]


@njit(cache=True)
def _lit_srgb8(albedo, lambert, emissive, lut) -> np.ndarray:
    """uint8 [H, W, 3]: sRGB codes of albedo * (AMBIENT + SUN lambert) (light 1 where emissive:
    unlit), clipped to [0, 1] and looked up in `lut` as `linear_to_srgb8` does, in its float32 steps."""
    height, width = lambert.shape
    out = np.empty((height, width, 3), np.uint8)
    ambient, sun, top = np.float32(AMBIENT), np.float32(SUN), np.float32(_LUT_SIZE - 1)
    for i in range(height):
        for j in range(width):
            light = ambient + sun * lambert[i, j]
            if emissive.shape[0] and emissive[i, j]:
                light = np.float32(1.0)
            for c in range(3):
                linear = min(max(albedo[i, j, c] * light, np.float32(0.0)), np.float32(1.0))
                out[i, j, c] = lut[int(linear * top + np.float32(0.5))]
    return out


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

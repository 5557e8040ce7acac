"""Procedural solid textures evaluated at part-local points, so a texture moves with its part.

Kinds (sim.spec.model.TextureSpec, `scale` = feature size in metres):
- checker: colour where floor(x/s + o) + floor(y/s + o) + floor(z/s + o) is even, color2 where odd;
- stripes: bands perpendicular to the part's local X axis: floor(x/s + o) even/odd;
- noise: 3-D value noise (cells of size s, smoothstep-interpolated hashed lattice values), blending
  colour -> color2 continuously.
The two colours are mixed in linear light by the weight `weight_at` returns.
o = 0.2371 cells shifts the lattice off the faces of boxes whose sizes are multiples of the
scale, where floor() would flicker between neighbours.

The weights are scalar compiled functions (numba), so the rigid parts' per-pixel decode
(rigid_kernels.py) evaluates them inside its loop.
The lattice coordinate is formed in float32 (p / s + o), as the part-local points are.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LATTICE_OFFSET = 0.2371
TEXTURE_CODES = {"checker": 1, "stripes": 2, "noise": 3}
"""Kind -> the code `weight_at` takes (0: untextured)."""


@njit(cache=True)
def weight_at(code: int, inverse_scale: np.float32, x: np.float32, y: np.float32, z: np.float32) -> np.float32:
    """The weight of texture `code` (TEXTURE_CODES) with 1 / scale `inverse_scale` at one part-local
    point (float32, m); 0 for code 0."""
    offset = np.float32(LATTICE_OFFSET)
    cx = np.float32(x * inverse_scale) + offset
    if code == 2:  # stripes
        return np.float32(int(math.floor(cx)) & 1)
    cy = np.float32(y * inverse_scale) + offset
    cz = np.float32(z * inverse_scale) + offset
    if code == 1:  # checker: the parity of the summed cell indices
        return np.float32((int(math.floor(cx)) + int(math.floor(cy)) + int(math.floor(cz))) & 1)
    if code == 3:
        return value_noise(float(cx), float(cy), float(cz))
    return np.float32(0.0)


_HASH_PRIMES = (73856093, 19349663, 83492791)


@njit(cache=True)
def value_noise(x: float, y: float, z: float) -> np.float32:
    """Smooth value noise in [0, 1] at lattice coordinates (x, y, z) (float64).

    Trilinear blend, with smoothstep weights, of the hashed values of the cell's 8 corners (corner c
    offsets the lower lattice point by bit k of c along axis k)."""
    bx, by, bz = math.floor(x), math.floor(y), math.floor(z)
    fx, fy, fz = x - bx, y - by, z - bz
    wx, wy, wz = fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy), fz * fz * (3.0 - 2.0 * fz)
    ix, iy, iz = np.int64(bx), np.int64(by), np.int64(bz)
    result = 0.0
    for corner in range(8):
        i, j, k = (corner >> 0) & 1, (corner >> 1) & 1, (corner >> 2) & 1
        weight = (wx if i else 1.0 - wx) * (wy if j else 1.0 - wy) * (wz if k else 1.0 - wz)
        h = ((ix + i) * np.int64(_HASH_PRIMES[0])) ^ ((iy + j) * np.int64(_HASH_PRIMES[1])) ^ ((iz + k) * np.int64(_HASH_PRIMES[2]))
        result += weight * _hash_to_unit(h)
    return np.float32(result)


@njit(cache=True)
def _hash_to_unit(h: np.int64) -> float:
    """[0, 1] from the int64 lattice hash h = x p1 ^ y p2 ^ z p3 (xorshift-multiply mix, mod 2^64)."""
    u = np.uint64(h)
    u ^= u >> np.uint64(16)
    u *= np.uint64(0x7FEB352D)
    u ^= u >> np.uint64(15)
    u *= np.uint64(0x846CA68B)
    u ^= u >> np.uint64(16)
    return float(u & np.uint64(0xFFFF)) / 65535.0

"""Procedural solid textures evaluated at part-local points, so a texture moves with its part.

Kinds (sim.spec.model.TextureSpec, `scale` = feature size in metres):
- checker: colour where floor(x/s + o) + floor(y/s + o) + floor(z/s + o) is even, color2 where odd;
- stripes: bands perpendicular to the part's local X axis: floor(x/s + o) even/odd;
- noise: 3-D value noise (cells of size s, smoothstep-interpolated hashed lattice values), blending
  colour -> color2 continuously.
The two colours are mixed in linear light by the weight `texture_weight` returns.
o = 0.2371 cells shifts the lattice off the faces of boxes whose sizes are multiples of the
scale, where floor() would flicker between neighbours.
"""

from __future__ import annotations

import numpy as np

LATTICE_OFFSET = 0.2371
BINARY_TEXTURES = ("checker", "stripes")
"""Kinds whose weight is exactly 0 or 1 (a two-colour pattern, no blending in between)."""


def texture_weight(texture, points_local: np.ndarray) -> np.ndarray:
    """float32 [K] in [0, 1]: 0 = the object's colour, 1 = texture.color2, at part-local points [K, 3] (m)."""
    cells = points_local * np.float32(1.0 / texture.scale) + np.float32(LATTICE_OFFSET)
    if texture.kind == "checker":
        # The parity of the summed cell indices; floats hold these small integers exactly. Parity is
        # taken as integer & 1, equal to mod(., 2) for every integer and ~50x faster than float mod.
        floors = np.floor(cells)
        index_sum = floors[:, 0] + floors[:, 1]
        index_sum += floors[:, 2]
        return _parity(index_sum)
    if texture.kind == "stripes":
        return _parity(np.floor(cells[:, 0]))
    if texture.kind == "noise":
        return value_noise(cells)
    raise ValueError(f"unknown texture kind {texture.kind!r}; use checker, stripes or noise")


def _parity(whole: np.ndarray) -> np.ndarray:
    """float32 [K]: 0 where the integer-valued floats `whole` are even, 1 where odd (as mod(whole, 2))."""
    return (whole.astype(np.int64) & 1).astype(np.float32)


def value_noise(cells: np.ndarray) -> np.ndarray:
    """Smooth value noise float32 [K] in [0, 1] at lattice coordinates [K, 3].

    Trilinear blend, with smoothstep weights, of the hashed values of the cell's 8 corners (corner c
    offsets the lower lattice point by bit k of c along axis k). The per-axis hash products and the
    x-y weight products are formed once and shared between corners."""
    cells = cells.astype(np.float64)
    base = np.floor(cells)
    frac = cells - base
    fade = frac * frac * (3.0 - 2.0 * frac)
    base = base.astype(np.int64)
    axis_weights = (1.0 - fade, fade)  # weight of the lower / upper lattice point along each axis
    # Hash term of the lower / upper lattice coordinate along each axis (int64 products, as the hash).
    terms = [(base[:, axis] * prime, (base[:, axis] + 1) * prime) for axis, prime in enumerate(_HASH_PRIMES)]
    xy_weights = [[axis_weights[i][:, 0] * axis_weights[j][:, 1] for j in (0, 1)] for i in (0, 1)]
    xy_terms = [[terms[0][i] ^ terms[1][j] for j in (0, 1)] for i in (0, 1)]
    result = np.zeros(len(cells))
    for corner in range(8):
        i, j, k = (corner >> 0) & 1, (corner >> 1) & 1, (corner >> 2) & 1
        weight = xy_weights[i][j] * axis_weights[k][:, 2]
        result += weight * _hash_to_unit(xy_terms[i][j] ^ terms[2][k])
    return result.astype(np.float32)


_HASH_PRIMES = (73856093, 19349663, 83492791)


def _hash_to_unit(h: np.ndarray) -> np.ndarray:
    """float64 [K] in [0, 1] from the int64 lattice hash h = x p1 ^ y p2 ^ z p3 (xorshift-multiply mix)."""
    h = h.astype(np.uint64)
    h ^= h >> np.uint64(16)
    h *= np.uint64(0x7FEB352D)
    h ^= h >> np.uint64(15)
    h *= np.uint64(0x846CA68B)
    h ^= h >> np.uint64(16)
    # The low 16 bits fit int32, whose conversion to float64 is vectorised (uint64's is not): same values.
    return (h & np.uint64(0xFFFF)).astype(np.int32).astype(np.float64) / 65535.0

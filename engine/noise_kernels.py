"""The compiled (numba) loops of one noise-field step (engine/noise_field.py): where every sample
lands and which empty cells pull a copy (`transport`), what must be drawn (`split_plan`), then
the split copies summed into their targets (`merge`), and the latent block sums (`block_sums`).

Why compiled: in torch or numpy the step is two dozen passes over the grid (gathers, masks,
scatters); at 512 x 512 it took 20-35 ms of one core, against the issue's 20 ms budget per frame
on two cores. Why one file: numba's on-disk cache (cache=True) is checked against the file that
defines each function only.

Determinism: both loops are serial, in a fixed order (cells by index, pulls in the order found),
with no fastmath, so the same input gives the same bytes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def transport(offset: np.ndarray, flow: np.ndarray, valid: np.ndarray, width: int, height: int, reach: float):
    """Steps 1 and 2 of engine/noise_warp.py's docstring on an H x W grid (N = H * W cells, row-major).

    offset float32 [N, 2] (dx, dy) of each sample from its cell centre; flow float32 [N, 2] cells;
    valid bool [N]. Returns
      target int64 [N]: the cell each sample is splatted to, -1 if hidden in the next frame or leaving;
      position float32 [N, 2]: the sample's new position in its target, from the target's centre;
      count int64 [N]: copies each cell receives (its splatted samples, or 1 if it pulls one);
      pull_source, pull_target int64 [P]: the sources whose copy an empty cell pulls (expansion),
        in target order: the source p from two fixed-point steps of p = q - flow(p) - offset(p)
        (the first with the flow at q), kept if visible and its sample lands within `reach` of q.
    """
    size = width * height
    target = np.full(size, -1, np.int64)
    position = np.zeros((size, 2), np.float32)
    landing = np.empty((size, 2), np.float32)
    arrivals = np.zeros(size, np.int64)
    for p in range(size):
        x = np.float32(p % width) + np.float32(0.5) + offset[p, 0] + flow[p, 0]
        y = np.float32(p // width) + np.float32(0.5) + offset[p, 1] + flow[p, 1]
        landing[p, 0] = x
        landing[p, 1] = y
        col = math.floor(x)
        row = math.floor(y)
        if valid[p] and 0 <= col < width and 0 <= row < height:
            q = row * width + col
            target[p] = q
            position[p, 0] = x - np.float32(col) - np.float32(0.5)
            position[p, 1] = y - np.float32(row) - np.float32(0.5)
            arrivals[q] += 1
    count = arrivals
    pull_source = np.empty(size, np.int64)
    pull_target = np.empty(size, np.int64)
    pulls = 0
    for q in range(size):
        if count[q] != 0:
            continue
        qx = np.float32(q % width) + np.float32(0.5)
        qy = np.float32(q // width) + np.float32(0.5)
        gx = qx - flow[q, 0]
        gy = qy - flow[q, 1]
        for _ in range(2):
            col = math.floor(gx)
            row = math.floor(gy)
            if not (0 <= col < width and 0 <= row < height):
                break
            p = row * width + col
            if valid[p] and abs(landing[p, 0] - qx) <= reach and abs(landing[p, 1] - qy) <= reach:
                pull_source[pulls] = p
                pull_target[pulls] = q
                pulls += 1
                count[q] = 1
                break
            gx = qx - flow[p, 0] - offset[p, 0]
            gy = qy - flow[p, 1] - offset[p, 1]
    return target, position, count, pull_source[:pulls].copy(), pull_target[:pulls].copy()


@njit(cache=True)
def split_plan(target: np.ndarray, pull_source: np.ndarray, count: np.ndarray):
    """What step 3 and 4 draw: (copies int64 [N], the copies each source sends (its splat, if any,
    and its pulls); start int64 [N], the first row of split_noise of each source sending two or
    more (sources in index order); the number of such rows; the number of cells receiving nothing)."""
    size = target.shape[0]
    copies = np.zeros(size, np.int64)
    for p in range(size):
        if target[p] >= 0:
            copies[p] += 1
    for i in range(pull_source.shape[0]):
        copies[pull_source[i]] += 1
    start = np.zeros(size, np.int64)
    rows = 0
    empty = 0
    for p in range(size):
        if copies[p] >= 2:
            start[p] = rows
            rows += copies[p]
        if count[p] == 0:
            empty += 1
    return copies, start, rows, empty


@njit(cache=True, inline="always")
def _split_copy(values, p, n, split_noise, first, copy, mean, out, q):
    """Add copy number `copy` of source p's n split copies, x / sqrt(n) + e_copy - mean(e), to out[q]."""
    channels = values.shape[1]
    for c in range(channels):
        total = np.float32(0.0)
        for i in range(n):
            total += split_noise[first + i, c]
        mean[c] = total / np.float32(n)
    scale = np.float32(1.0 / math.sqrt(n))
    for c in range(channels):
        out[q, c] += values[p, c] * scale + (split_noise[first + copy, c] - mean[c])


@njit(cache=True)
def block_sums(values: np.ndarray, width: int, block: int) -> np.ndarray:
    """float32 [C, H / block, W / block]: the sum of each block x block square of values (float32
    [H * W, C], row-major grid of width `width`) divided by block."""
    size, channels = values.shape
    height = size // width
    h, w = height // block, width // block
    out = np.zeros((h, w, channels), np.float32)
    for y in range(height):
        for x in range(width):
            p = y * width + x
            for c in range(channels):
                out[y // block, x // block, c] += values[p, c]
    result = np.empty((channels, h, w), np.float32)
    for i in range(h):
        for j in range(w):
            for c in range(channels):
                result[c, i, j] = out[i, j, c] / np.float32(block)
    return result


@njit(cache=True)
def merge(values: np.ndarray, target: np.ndarray, position: np.ndarray, count: np.ndarray,
          pull_source: np.ndarray, pull_target: np.ndarray, copies: np.ndarray, start: np.ndarray,
          split_noise: np.ndarray, fresh_noise: np.ndarray):
    """Steps 3 and 4 of engine/noise_warp.py's docstring. Returns the next frame's (values float32 [N, C],
    offset float32 [N, 2]).

    values float32 [N, C] iid N(0, 1); target, position, count, pull_source, pull_target as
    `transport` returns them; copies, start from `split_plan`; split_noise float32 [S, C],
    iid N(0, 1), one row per copy of every source with copies >= 2 (sources in index order, each
    its splat copy first, then its pulls in pull order); fresh_noise float32 [E, C], one row per
    cell that receives nothing, in index order.
    """
    size, channels = values.shape
    used = np.zeros(size, np.int64)
    mean = np.empty(channels, np.float32)
    out = np.zeros((size, channels), np.float32)
    offset = np.zeros((size, 2), np.float32)
    for p in range(size):
        q = target[p]
        if q < 0:
            continue
        if copies[p] >= 2:
            _split_copy(values, p, copies[p], split_noise, start[p], 0, mean, out, q)
            used[p] = 1
        else:
            for c in range(channels):
                out[q, c] += values[p, c]
        offset[q, 0] += position[p, 0]
        offset[q, 1] += position[p, 1]
    for i in range(pull_source.shape[0]):
        p = pull_source[i]
        q = pull_target[i]  # a pulled copy sits at its cell's centre: offset 0
        if copies[p] >= 2:
            _split_copy(values, p, copies[p], split_noise, start[p], used[p], mean, out, q)
            used[p] += 1
        else:
            for c in range(channels):
                out[q, c] += values[p, c]
    fresh = 0
    for q in range(size):
        if count[q] == 0:
            for c in range(channels):
                out[q, c] = fresh_noise[fresh, c]
            fresh += 1
        elif count[q] > 1:
            scale = np.float32(1.0 / math.sqrt(count[q]))
            for c in range(channels):
                out[q, c] *= scale
            offset[q, 0] /= np.float32(count[q])
            offset[q, 1] /= np.float32(count[q])
    return out, offset

"""Compiled loops over particles and their neighbours (numba): the liquid's neighbour search and
its position-based-fluids sums.

Why compiled: a PBF substep is a dozen sums over about 130,000 neighbour pairs; in numpy each
is a gather, an arithmetic pass and a bincount scatter, and ten substeps a frame made 10,000
particles cost about 400 ms per frame. Here each sum is one pass over the neighbour lists.

Determinism: every `prange` iteration writes only its own particle's outputs, and each particle
sums its neighbours sequentially in the fixed order of its list, so results are the same bytes
for any number of threads (no parallel reductions; no fastmath, so no reassociation).

Neighbour lists (`Neighbours`) are CSR-like: the neighbours of particle i are
`index[start[i]:start[i + 1]]`, every j != i with |x_i - x_j| < h, in the order of the cells
visited (z, then y, then x of the 3 x 3 x 3 block around i's cell) and, within a cell, of
increasing particle index. Cells are cubes of side h on a grid anchored at the particles'
lowest corner; particles are sorted by cell key (a stable argsort), and the three cells of a
row along x are one contiguous run of that order, found by two binary searches.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

if "NUMBA_THREADING_LAYER" not in os.environ:
    # numba's own thread pool: with the OpenMP layer, a kernel of a fraction of a millisecond
    # took 8 ms on this 2-core machine while another process held a core (its threads wait for
    # each other at every parallel loop's end); the workqueue pool showed no such stall.
    numba.config.THREADING_LAYER = "workqueue"


@dataclass(frozen=True)
class Neighbours:
    """Each particle's neighbours closer than h (CSR-like)."""

    start: np.ndarray
    """int64 [n + 1]: particle i's neighbours are index[start[i]:start[i + 1]]."""
    index: np.ndarray
    """int64 [M]: neighbour particle indices (both directions of every pair: M = 2 x pairs)."""

    @property
    def count(self) -> int:
        return len(self.start) - 1


def find_neighbours(x: np.ndarray, h: float) -> Neighbours:
    """Neighbour lists of particles x (float64 [n, 3], m): every j != i closer than h (m)."""
    n = len(x)
    if n == 0:
        return Neighbours(np.zeros(1, np.int64), np.zeros(0, np.int64))
    x = np.ascontiguousarray(x, dtype=np.float64)
    # 1. Cells of side h from the lowest corner, with one empty layer around every side, so the
    #    3 x 3 x 3 block of any particle's cell has valid keys.
    cell = np.floor((x - x.min(axis=0)) / h).astype(np.int64) + 1
    dims = cell.max(axis=0) + 2
    if float(dims[0]) * float(dims[1]) * float(dims[2]) >= 2.0**62:
        raise ValueError(f"particles spread over {dims.tolist()} cells of {h} m: too far apart for a 64-bit cell key")
    key = (cell[:, 2] * dims[1] + cell[:, 1]) * dims[0] + cell[:, 0]
    # 2. The occupied cells, numbered in key order and held in a hash table; particles sorted
    #    by cell (increasing index within one), with their positions in that order.
    table_key = np.full(1 << max(4, int(2 * n - 1).bit_length()), -1, np.int64)
    table_cell = np.empty(len(table_key), np.int64)
    cell_start = np.empty(n + 1, np.int64)
    order = np.empty(n, np.int64)
    sorted_x = np.empty((3, n))
    cells = _sort_by_cell(x, key, table_key, table_cell, cell_start, order, sorted_x)
    # 3. Count, then fill, the lists, cell by cell: the 9 rows of 3 cells along x around a
    #    cell are each one contiguous run of the sorted particles.
    rows = np.array([(dz * dims[1] + dy) * dims[0] for dz in (-1, 0, 1) for dy in (-1, 0, 1)], np.int64)
    counts = np.empty(n, np.int64)
    _count_neighbours(h * h, cells, rows, table_key, table_cell, cell_start, order, sorted_x, counts)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    index = np.empty(int(start[-1]), np.int64)
    _fill_neighbours(h * h, cells, rows, table_key, table_cell, cell_start, order, sorted_x, start, index)
    return Neighbours(start, index)


@njit(cache=True)
def _slot(table_key, cell_key):
    """The hash-table slot holding `cell_key`, or the empty slot where it belongs (linear probing)."""
    mask = table_key.shape[0] - 1
    slot = (cell_key * 0x9E3779B1) & mask
    while table_key[slot] != -1 and table_key[slot] != cell_key:
        slot = (slot + 1) & mask
    return slot


@njit(cache=True)
def _sort_by_cell(x, key, table_key, table_cell, cell_start, order, sorted_x):
    """Number the occupied cells in increasing key order and counting-sort the particles by
    cell: cell c holds particles order[cell_start[c]:cell_start[c + 1]] (increasing indices),
    at positions sorted_x[:, cell_start[c]:cell_start[c + 1]]. Returns the cells' keys, int64
    [cells], increasing."""
    n = key.shape[0]
    occupied = np.empty(n, np.int64)
    cells = 0
    for i in range(n):
        slot = _slot(table_key, key[i])
        if table_key[slot] == -1:
            table_key[slot] = key[i]
            occupied[cells] = key[i]
            cells += 1
    ranked = np.sort(occupied[:cells])
    for c in range(cells):
        table_cell[_slot(table_key, ranked[c])] = c
    particle_cell = np.empty(n, np.int64)
    count = np.zeros(cells + 1, np.int64)
    for i in range(n):
        particle_cell[i] = table_cell[_slot(table_key, key[i])]
        count[particle_cell[i] + 1] += 1
    for c in range(cells):
        count[c + 1] += count[c]
    cell_start[: cells + 1] = count
    cell_start[cells + 1:] = n
    for i in range(n):
        c = particle_cell[i]
        order[count[c]] = i
        for k in range(3):
            sorted_x[k, count[c]] = x[i, k]
        count[c] += 1
    return ranked


@njit(cache=True)
def _row_runs(cell_key, rows, table_key, table_cell, cell_start):
    """For the cell `cell_key`, the sorted-particle ranges [first[k], last[k]) of its 9 rows of
    3 cells along x (row k: keys cell_key + rows[k] - 1 .. + 1). Cells are numbered in key
    order, so the occupied cells of a row hold consecutive particles."""
    first = np.zeros(rows.shape[0], np.int64)
    last = np.zeros(rows.shape[0], np.int64)
    for k in range(rows.shape[0]):
        found = False
        for dx in range(-1, 2):
            slot = _slot(table_key, cell_key + rows[k] + dx)
            if table_key[slot] != -1:
                c = table_cell[slot]
                if not found:
                    first[k] = cell_start[c]
                    found = True
                last[k] = cell_start[c + 1]
    return first, last


@njit(cache=True, parallel=True)
def _count_neighbours(h2, cell_keys, rows, table_key, table_cell, cell_start, order, sorted_x, counts):
    for c in prange(cell_keys.shape[0]):
        first, last = _row_runs(cell_keys[c], rows, table_key, table_cell, cell_start)
        for q in range(cell_start[c], cell_start[c + 1]):
            x0, x1, x2 = sorted_x[0, q], sorted_x[1, q], sorted_x[2, q]
            found = 0
            for k in range(rows.shape[0]):
                for p in range(first[k], last[k]):
                    d0, d1, d2 = x0 - sorted_x[0, p], x1 - sorted_x[1, p], x2 - sorted_x[2, p]
                    found += (d0 * d0 + d1 * d1 + d2 * d2 < h2) & (p != q)
            counts[order[q]] = found


@njit(cache=True, parallel=True)
def _fill_neighbours(h2, cell_keys, rows, table_key, table_cell, cell_start, order, sorted_x, start, index):
    for c in prange(cell_keys.shape[0]):
        first, last = _row_runs(cell_keys[c], rows, table_key, table_cell, cell_start)
        # Candidates are written unconditionally and kept by advancing (no branch), into a
        # buffer of this cell's own, then copied to the particle's list.
        size = 1
        for k in range(rows.shape[0]):
            size += last[k] - first[k]
        buffer = np.empty(size, np.int64)
        for q in range(cell_start[c], cell_start[c + 1]):
            x0, x1, x2 = sorted_x[0, q], sorted_x[1, q], sorted_x[2, q]
            m = 0
            for k in range(rows.shape[0]):
                for p in range(first[k], last[k]):
                    d0, d1, d2 = x0 - sorted_x[0, p], x1 - sorted_x[1, p], x2 - sorted_x[2, p]
                    buffer[m] = order[p]
                    m += (d0 * d0 + d1 * d1 + d2 * d2 < h2) & (p != q)
            i = order[q]
            index[start[i]:start[i] + m] = buffer[:m]


@njit(cache=True, parallel=True)
def kernel_density_sum(x, start, index, h, out):
    """out[i] = sum over i's neighbours j of the poly6 kernel W(|x_i - x_j|) (1/m^3), float64 [n]."""
    coeff = 315.0 / (64.0 * math.pi * h**9)
    for i in prange(x.shape[0]):
        total = 0.0
        for p in range(start[i], start[i + 1]):
            j = index[p]
            d0, d1, d2 = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2]
            gap2 = max(h * h - (d0 * d0 + d1 * d1 + d2 * d2), 0.0)
            total += coeff * gap2 * gap2 * gap2
        out[i] = total


@njit(cache=True, parallel=True)
def pbf_iteration(x, start, index, h, mass, rest_density, w_self, epsilon, wall_rho, wall_grad, w, rho):
    """One Jacobi iteration of the PBF density constraint on positions x (float64 [n, 3], m), in place.

    wall_rho [n] (kg/m^3) and wall_grad [n, 3] (kg/m^4): the density solid walls add and its
    gradient w.r.t. the particle's position. Writes w [M], the poly6 weight of every neighbour
    entry, and rho [n], the densities (walls included), both before the correction.
    Per particle i, with d = x_i - x_j, r = |d| and the spiky gradient
    grad W = scale * d, scale = -(45 / (pi h^6)) (h - r)^2 / r:
      rho_i = m (W(0) + sum_j W_ij) + wall_rho_i,  C_i = max(rho_i / rho0 - 1, 0),
      g_i = (m / rho0) sum_j grad W_ij + wall_grad_i / rho0,
      lambda_i = -C_i / ((m / rho0)^2 sum_j |grad W_ij|^2 + |g_i|^2 + eps),
      dx_i = (m / rho0) sum_j (lambda_i + lambda_j) grad W_ij + lambda_i wall_grad_i / rho0.
    """
    n = x.shape[0]
    poly6 = 315.0 / (64.0 * math.pi * h**9)
    spiky = -(mass / rest_density) * 45.0 / (math.pi * h**6)
    scale = np.empty(index.shape[0])
    lam = np.empty(n)
    step = np.empty((n, 3))
    # 1. Densities, constraint gradients and lambdas (each particle from its own neighbours).
    for i in prange(n):
        sum_w, g0, g1, g2, sum_sq = 0.0, 0.0, 0.0, 0.0, 0.0
        for p in range(start[i], start[i + 1]):
            j = index[p]
            d0, d1, d2 = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2]
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            r = math.sqrt(r2)
            gap = max(h - r, 0.0)
            gap2 = max(h * h - r2, 0.0)
            weight = poly6 * gap2 * gap2 * gap2
            w[p] = weight
            sum_w += weight
            s = spiky * gap * gap / max(r, 1e-12)
            scale[p] = s
            g0 += s * d0
            g1 += s * d1
            g2 += s * d2
            sum_sq += s * s * r2
        density = mass * (w_self + sum_w) + wall_rho[i]
        rho[i] = density
        constraint = max(density / rest_density - 1.0, 0.0)
        g0 += wall_grad[i, 0] / rest_density
        g1 += wall_grad[i, 1] / rest_density
        g2 += wall_grad[i, 2] / rest_density
        lam[i] = -constraint / (sum_sq + g0 * g0 + g1 * g1 + g2 * g2 + epsilon)
    # 2. Position corrections, all from the same positions (Jacobi), then applied.
    for i in prange(n):
        s0, s1, s2 = 0.0, 0.0, 0.0
        for p in range(start[i], start[i + 1]):
            j = index[p]
            c = (lam[i] + lam[j]) * scale[p]
            s0 += c * (x[i, 0] - x[j, 0])
            s1 += c * (x[i, 1] - x[j, 1])
            s2 += c * (x[i, 2] - x[j, 2])
        step[i, 0] = s0 + lam[i] * wall_grad[i, 0] / rest_density
        step[i, 1] = s1 + lam[i] * wall_grad[i, 1] / rest_density
        step[i, 2] = s2 + lam[i] * wall_grad[i, 2] / rest_density
    for i in prange(n):
        x[i, 0] += step[i, 0]
        x[i, 1] += step[i, 1]
        x[i, 2] += step[i, 2]


@njit(cache=True, parallel=True)
def xsph_viscosity(v, start, index, w, rho, mass, viscosity, out):
    """XSPH: out_i = v_i + c sum_j (m / rho_j) (v_j - v_i) W_ij for velocities v (float64 [n, 3],
    m/s), with the neighbour entries' kernel weights w [M] (1/m^3) and densities rho [n]."""
    for i in prange(v.shape[0]):
        a0, a1, a2 = 0.0, 0.0, 0.0
        for p in range(start[i], start[i + 1]):
            j = index[p]
            f = mass / rho[j] * w[p]
            a0 += f * (v[j, 0] - v[i, 0])
            a1 += f * (v[j, 1] - v[i, 1])
            a2 += f * (v[j, 2] - v[i, 2])
        out[i, 0] = v[i, 0] + viscosity * a0
        out[i, 1] = v[i, 1] + viscosity * a1
        out[i, 2] = v[i, 2] + viscosity * a2

"""Compiled loops over liquid particles and their neighbour pairs (numba): the neighbour search,
the position-based-fluids sums, and the liquid's walls and contacts.

Why compiled: a PBF substep is a dozen sums over about 130,000 neighbour pairs; in numpy each
is a gather, an arithmetic pass and a bincount scatter, and ten substeps a frame made 10,000
particles cost about 400 ms per frame. Here each sum is one pass over the pairs.

Pairs (`Pairs`): every unordered pair {i, j} of particles closer than h, once. The search
puts particles into cubic cells of side h (a hash table of the occupied cells, numbered in
key order, and a counting sort of the particles by cell); a particle's partners lie in the
3 x 3 x 3 cells around its own, which in key order are 9 rows of 3 cells along x, each one
contiguous run of the sorted particles, and each pair is found once from the particle that
comes first in that order (so half the rows are never visited).

Determinism and threads: the loops are serial and run in a fixed order (pairs in the order
found, particles by index), with no fastmath (no reassociation), so the same positions give
the same bytes. Each pair is evaluated once and its terms added to both ends; gathering every
particle's full neighbour list in parallel instead costs twice the kernel evaluations (1.35x
slower per iteration on one core), and on the shared 2-core machine this was built on, a
parallel loop's threads stalled whenever another process held a core (a 0.4 ms sum took 8 ms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..spec.errors import SimulationError
from .sdf import point_distance


@dataclass(frozen=True)
class Pairs:
    """Neighbour pairs of n particles: (i[k], j[k]) for k < M, each unordered pair once."""

    i: np.ndarray
    """int64 [M]."""
    j: np.ndarray
    """int64 [M]."""
    n: int


def find_pairs(x: np.ndarray, h: float) -> Pairs:
    """Every pair of particles x (float64 [n, 3], m) closer than h (m), once each."""
    n = len(x)
    if n == 0:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64), 0)
    x = np.ascontiguousarray(x, dtype=np.float64)
    # 1. Cells of side h from the lowest corner, with one empty layer around every side, so the
    #    3 x 3 x 3 block of any particle's cell has valid keys.
    cell = np.floor((x - x.min(axis=0)) / h).astype(np.int64) + 1
    dims = cell.max(axis=0) + 2
    if float(dims[0]) * float(dims[1]) * float(dims[2]) >= 2.0**62:
        raise SimulationError(
            f"liquid particles spread over {dims.tolist()} cells of {h:g} m (2^62 or more, past a 64-bit cell key); "
            "keep the liquid within a few kilometres or use larger particles"
        )
    key = (cell[:, 2] * dims[1] + cell[:, 1]) * dims[0] + cell[:, 0]
    # 2. The occupied cells, numbered in key order and held in a hash table; particles sorted
    #    by cell (increasing index within one), with their positions in that order.
    table_key = np.full(1 << max(4, int(2 * n - 1).bit_length()), -1, np.int64)
    table_cell = np.empty(len(table_key), np.int64)
    cell_start = np.empty(n + 1, np.int64)
    order = np.empty(n, np.int64)
    sorted_x = np.empty((3, n))
    cells = _sort_by_cell(x, key, table_key, table_cell, cell_start, order, sorted_x)
    # 3. The pairs, cell by cell: the rows (dz, dy) = (0, 0), (0, 1) and (1, -1 .. 1) around a
    #    cell; the other four rows come earlier in key order (their pairs were found from there).
    rows = np.array([(dz * dims[1] + dy) * dims[0] for dz, dy in ((0, 0), (0, 1), (1, -1), (1, 0), (1, 1))], np.int64)
    return Pairs(*_pairs(h * h, cells, rows, table_key, table_cell, cell_start, order, sorted_x), n)


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
def _row_run(table_key, table_cell, cell_start, row_key):
    """The sorted-particle range [first, last) of the cells row_key - 1 .. row_key + 1 (cells are
    numbered in key order, so the occupied ones among them hold consecutive particles)."""
    first, last = -1, -1
    for dx in range(-1, 2):
        slot = _slot(table_key, row_key + dx)
        if table_key[slot] != -1:
            c = table_cell[slot]
            if first < 0:
                first = cell_start[c]
            last = cell_start[c + 1]
    if first < 0:
        return 0, 0
    return first, last


@njit(cache=True)
def _pairs(h2, cell_keys, rows, table_key, table_cell, cell_start, order, sorted_x):
    """(i, j) int64 [M] of the pairs closer than sqrt(h2), found from the sorted position q of
    their first particle: later particles of its own row, all particles of the later rows."""
    capacity = 16 * order.shape[0] + 16
    pair_i = np.empty(capacity, np.int64)
    pair_j = np.empty(capacity, np.int64)
    m = 0
    first = np.empty(rows.shape[0], np.int64)
    last = np.empty(rows.shape[0], np.int64)
    for c in range(cell_keys.shape[0]):
        for k in range(rows.shape[0]):
            first[k], last[k] = _row_run(table_key, table_cell, cell_start, cell_keys[c] + rows[k])
        for q in range(cell_start[c], cell_start[c + 1]):
            # Room for every candidate of this particle (candidates are written unconditionally
            # and kept by advancing m: no branch in the distance loop).
            room = last[0] - q
            for k in range(1, rows.shape[0]):
                room += last[k] - first[k]
            if m + room > capacity:
                capacity = 2 * (m + room)
                pair_i = _grown(pair_i, capacity)
                pair_j = _grown(pair_j, capacity)
            x0, x1, x2 = sorted_x[0, q], sorted_x[1, q], sorted_x[2, q]
            i = order[q]
            for k in range(rows.shape[0]):
                begin = q + 1 if k == 0 else first[k]
                for p in range(begin, last[k]):
                    d0, d1, d2 = x0 - sorted_x[0, p], x1 - sorted_x[1, p], x2 - sorted_x[2, p]
                    pair_i[m] = i
                    pair_j[m] = order[p]
                    m += d0 * d0 + d1 * d1 + d2 * d2 < h2
    return pair_i[:m].copy(), pair_j[:m].copy()


@njit(cache=True)
def _grown(a, capacity):
    out = np.empty(capacity, a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(cache=True)
def kernel_density_sum(x, pair_i, pair_j, h, out):
    """out[i] = sum over i's neighbours j of the poly6 kernel W(|x_i - x_j|) (1/m^3), float64 [n]."""
    coeff = 315.0 / (64.0 * math.pi * h**9)
    out[:] = 0.0
    for p in range(pair_i.shape[0]):
        i, j = pair_i[p], pair_j[p]
        d0, d1, d2 = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2]
        gap2 = max(h * h - (d0 * d0 + d1 * d1 + d2 * d2), 0.0)
        weight = coeff * gap2 * gap2 * gap2
        out[i] += weight
        out[j] += weight


@njit(cache=True)
def pbf_iteration(x, pair_i, pair_j, h, mass, rest_density, w_self, epsilon, wall_rho, wall_grad, w, rho):
    """One Jacobi iteration of the PBF density constraint on positions x (float64 [n, 3], m), in place.

    wall_rho [n] (kg/m^3) and wall_grad [n, 3] (kg/m^4): the density solid walls add and its
    gradient w.r.t. the particle's position. Writes w [M], the poly6 weight of every pair, and
    rho [n], the densities (walls included), both before the correction.
    With d = x_i - x_j, r = |d| and the spiky gradient grad W = scale * d,
    scale = -(45 / (pi h^6)) (h - r)^2 / r (the same for both ends, d changing sign):
      rho_i = m (W(0) + sum_j W_ij) + wall_rho_i,  C_i = max(rho_i / rho0 - 1, 0),
      g_i = (m / rho0) sum_j grad W_ij + wall_grad_i / rho0,
      lambda_i = -C_i / ((m / rho0)^2 sum_j |grad W_ij|^2 + |g_i|^2 + eps),
      dx_i = (m / rho0) sum_j (lambda_i + lambda_j) grad W_ij + lambda_i wall_grad_i / rho0.
    """
    n = x.shape[0]
    poly6 = 315.0 / (64.0 * math.pi * h**9)
    spiky = -(mass / rest_density) * 45.0 / (math.pi * h**6)
    scale = np.empty(pair_i.shape[0])
    sum_w = np.zeros(n)
    sum_sq = np.zeros(n)
    grad = np.zeros((n, 3))
    # 1. Kernel sums, each pair once, added to both ends.
    for p in range(pair_i.shape[0]):
        i, j = pair_i[p], pair_j[p]
        d0, d1, d2 = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1], x[i, 2] - x[j, 2]
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        r = math.sqrt(r2)
        gap = max(h - r, 0.0)
        gap2 = max(h * h - r2, 0.0)
        weight = poly6 * gap2 * gap2 * gap2
        w[p] = weight
        sum_w[i] += weight
        sum_w[j] += weight
        s = spiky * gap * gap / max(r, 1e-12)
        scale[p] = s
        grad[i, 0] += s * d0
        grad[i, 1] += s * d1
        grad[i, 2] += s * d2
        grad[j, 0] -= s * d0
        grad[j, 1] -= s * d1
        grad[j, 2] -= s * d2
        sq = s * s * r2
        sum_sq[i] += sq
        sum_sq[j] += sq
    # 2. Densities and lambdas.
    lam = np.empty(n)
    for i in range(n):
        density = mass * (w_self + sum_w[i]) + wall_rho[i]
        rho[i] = density
        constraint = max(density / rest_density - 1.0, 0.0)
        g0 = grad[i, 0] + wall_grad[i, 0] / rest_density
        g1 = grad[i, 1] + wall_grad[i, 1] / rest_density
        g2 = grad[i, 2] + wall_grad[i, 2] / rest_density
        lam[i] = -constraint / (sum_sq[i] + g0 * g0 + g1 * g1 + g2 * g2 + epsilon)
    # 3. Position corrections, all from the same positions (Jacobi), then applied.
    step = np.zeros((n, 3))
    for p in range(pair_i.shape[0]):
        i, j = pair_i[p], pair_j[p]
        c = (lam[i] + lam[j]) * scale[p]
        a0, a1, a2 = c * (x[i, 0] - x[j, 0]), c * (x[i, 1] - x[j, 1]), c * (x[i, 2] - x[j, 2])
        step[i, 0] += a0
        step[i, 1] += a1
        step[i, 2] += a2
        step[j, 0] -= a0
        step[j, 1] -= a1
        step[j, 2] -= a2
    for i in range(n):
        x[i, 0] += step[i, 0] + lam[i] * wall_grad[i, 0] / rest_density
        x[i, 1] += step[i, 1] + lam[i] * wall_grad[i, 1] / rest_density
        x[i, 2] += step[i, 2] + lam[i] * wall_grad[i, 2] / rest_density


@njit(cache=True)
def xsph_viscosity(v, pair_i, pair_j, w, rho, mass, viscosity, out):
    """XSPH: out_i = v_i + c sum_j (m / rho_j) (v_j - v_i) W_ij for velocities v (float64 [n, 3],
    m/s), with the pairs' kernel weights w [M] (1/m^3) and densities rho [n] (kg/m^3)."""
    acc = np.zeros(v.shape)
    for p in range(pair_i.shape[0]):
        i, j = pair_i[p], pair_j[p]
        to_i = mass / rho[j] * w[p]
        to_j = mass / rho[i] * w[p]
        for k in range(3):
            dv = v[j, k] - v[i, k]
            acc[i, k] += to_i * dv
            acc[j, k] -= to_j * dv
    for i in range(v.shape[0]):
        for k in range(3):
            out[i, k] = v[i, k] + viscosity * acc[i, k]


@njit(cache=True)
def add_wall_density(x, near, position, rotation, code, params, values, gradients, origin, cell,
                     table_distance, table_density, table_slope, rho, grad):
    """Add one rigid part's wall density to the particles `near` it (int64 [k], no repeats).

    x: float64 [n, 3] positions (m); position [3] and rotation [3, 3] (part to world): the
    part's pose; code ... cell: its shape (sdf.point_distance); the table (distance m ->
    density kg/m^3 and its slope kg/m^4, distances clipped to the table's range) gives the
    density (evenly spaced distances from 0); rho [n] += density, grad [n, 3] += slope x the outward normal (world frame).
    """
    top = table_distance[-1]
    last = table_distance.shape[0] - 2
    step = table_distance[1] - table_distance[0]
    for k in range(near.shape[0]):
        i = near[k]
        r0, r1, r2 = x[i, 0] - position[0], x[i, 1] - position[1], x[i, 2] - position[2]
        # World to part frame: local = rotation^T (x - position).
        l0 = r0 * rotation[0, 0] + r1 * rotation[1, 0] + r2 * rotation[2, 0]
        l1 = r0 * rotation[0, 1] + r1 * rotation[1, 1] + r2 * rotation[2, 1]
        l2 = r0 * rotation[0, 2] + r1 * rotation[1, 2] + r2 * rotation[2, 2]
        d, n0, n1, n2 = point_distance(code, params, values, gradients, origin, cell, l0, l1, l2)
        # Linear interpolation in the evenly spaced table.
        d = min(max(d, 0.0), top)
        j = min(int(d / step), last)
        f = (d - table_distance[j]) / (table_distance[j + 1] - table_distance[j])
        density = table_density[j] + f * (table_density[j + 1] - table_density[j])
        slope = table_slope[j] + f * (table_slope[j + 1] - table_slope[j])
        rho[i] += density
        grad[i, 0] += slope * (rotation[0, 0] * n0 + rotation[0, 1] * n1 + rotation[0, 2] * n2)
        grad[i, 1] += slope * (rotation[1, 0] * n0 + rotation[1, 1] * n1 + rotation[1, 2] * n2)
        grad[i, 2] += slope * (rotation[2, 0] * n0 + rotation[2, 1] * n1 + rotation[2, 2] * n2)


@njit(cache=True)
def push_out_of_part(x, near, radius, position, rotation, code, params, values, gradients, origin, cell):
    """Move the particles `near` one rigid part (int64 [k], no repeats) that are closer than
    `radius` (m) to it out along its outward normal to exactly `radius`, in place (x float64
    [n, 3], m; the part's pose and shape as in `add_wall_density`)."""
    for k in range(near.shape[0]):
        i = near[k]
        r0, r1, r2 = x[i, 0] - position[0], x[i, 1] - position[1], x[i, 2] - position[2]
        l0 = r0 * rotation[0, 0] + r1 * rotation[1, 0] + r2 * rotation[2, 0]
        l1 = r0 * rotation[0, 1] + r1 * rotation[1, 1] + r2 * rotation[2, 1]
        l2 = r0 * rotation[0, 2] + r1 * rotation[1, 2] + r2 * rotation[2, 2]
        d, n0, n1, n2 = point_distance(code, params, values, gradients, origin, cell, l0, l1, l2)
        depth = radius - d
        if depth > 0:
            x[i, 0] += depth * (rotation[0, 0] * n0 + rotation[0, 1] * n1 + rotation[0, 2] * n2)
            x[i, 1] += depth * (rotation[1, 0] * n0 + rotation[1, 1] * n1 + rotation[1, 2] * n2)
            x[i, 2] += depth * (rotation[2, 0] * n0 + rotation[2, 1] * n1 + rotation[2, 2] * n2)

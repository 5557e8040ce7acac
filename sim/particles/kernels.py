"""Every compiled (numba) loop of the particle solvers: shape distances, ballistic flight,
contacts, and the liquid's neighbour pairs, position-based-fluids sums, walls and push-out.

Why compiled: these are loops over particles or particle pairs whose numpy forms are a dozen
passes (gathers, arithmetic, bincount scatters) each; a liquid substep alone is a dozen sums over
about 130,000 pairs, and ten substeps a frame made 10,000 particles cost about 400 ms per frame.
Why one file: numba's on-disk cache (cache=True) is checked against the file that defines each
function only, so a compiled caller in another file would keep a stale copy of a changed callee.

Determinism and threads: every loop is serial and runs in a fixed order (particles by index,
pairs in the order found), with no fastmath (no reassociation), so the same input gives the same
bytes. Per-particle loops write only their own particle; each liquid pair is evaluated once and
its terms added to both ends, which needs the serial order (gathering every particle's full
neighbour list instead, parallel-safe, is twice the kernel evaluations: 1.35x slower per
iteration on one core). On the shared 2-core machine this was built on, parallel loops gained
nothing and stalled whenever another process held the second core (a 0.4 ms sum took 8 ms).

Shapes (`shape_distances`): part-frame signed distance and unit outward gradient of the plane
z = 0 (solid below), sphere, box, capsule and cylinder (along Z, centred), and of a GridSDF
(trilinear samples; +inf and +Z outside its grid). The shape is chosen once per call, outside
the per-point loop: a per-point dispatch that can reach the grid's arrays made every point cost
about 30 ns (measured; numba's handling of the arrays at each call), against 1 to 3 ns for the
analytic shapes.

Liquid pairs (`Pairs`): every unordered pair {i, j} of particles closer than h, once. The search
puts particles into cubic cells of side h (a hash table of the occupied cells, numbered in key
order, and a counting sort of the particles by cell); a particle's partners lie in the 3 x 3 x 3
cells around its own, which in key order are 9 rows of 3 cells along x, each one contiguous run
of the sorted particles, and each pair is found once from the particle that comes first in that
order (so four of the nine rows are never visited, and the own row only past the particle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..spec.errors import SimulationError

PLANE, SPHERE, BOX, CAPSULE, CYLINDER, GRID = range(6)
"""Shape codes of `shape_distances`."""


# --------------------------------------------------------------------------- shapes
@njit(cache=True, inline="always")
def _unit(a, b, c, fa, fb, fc):
    """(a, b, c) normalised, or the fallback unit vector (fa, fb, fc) when shorter than 1e-12."""
    norm = math.sqrt(a * a + b * b + c * c)
    if norm > 1e-12:
        return a / norm, b / norm, c / norm
    return fa, fb, fc


@njit(cache=True, inline="always")
def _analytic(code, a, b, c, p0, p1, p2):
    """(d, g0, g1, g2): signed distance (m) of the part-frame point (p0, p1, p2) to an analytic
    shape and the unit outward gradient there. (a, b, c): sphere (radius, -, -), box (half
    extents), capsule and cylinder (radius, length, -)."""
    if code == PLANE:
        return p2, 0.0, 0.0, 1.0
    if code == SPHERE:
        d = math.sqrt(p0 * p0 + p1 * p1 + p2 * p2) - a
        g0, g1, g2 = _unit(p0, p1, p2, 0.0, 0.0, 1.0)
        return d, g0, g1, g2
    if code == BOX:
        q0, q1, q2 = abs(p0) - a, abs(p1) - b, abs(p2) - c
        o0, o1, o2 = max(q0, 0.0), max(q1, 0.0), max(q2, 0.0)
        out = math.sqrt(o0 * o0 + o1 * o1 + o2 * o2)
        d = out + min(max(q0, q1, q2), 0.0)
        s0 = 1.0 if p0 >= 0 else -1.0
        s1 = 1.0 if p1 >= 0 else -1.0
        s2 = 1.0 if p2 >= 0 else -1.0
        if out > 0:
            return d, o0 * s0 / out, o1 * s1 / out, o2 * s2 / out
        # Inside: the nearest face is the axis of the largest q (the first on ties).
        if q0 >= q1 and q0 >= q2:
            return d, s0, 0.0, 0.0
        if q1 >= q2:
            return d, 0.0, s1, 0.0
        return d, 0.0, 0.0, s2
    if code == CAPSULE:
        half = b / 2
        v2 = p2 - min(max(p2, -half), half)
        d = math.sqrt(p0 * p0 + p1 * p1 + v2 * v2) - a
        g0, g1, g2 = _unit(p0, p1, v2, 1.0, 0.0, 0.0)
        return d, g0, g1, g2
    # CYLINDER
    rxy = math.hypot(p0, p1)
    dr = rxy - a
    dz = abs(p2) - b / 2
    out_r, out_z = max(dr, 0.0), max(dz, 0.0)
    out = math.hypot(out_r, out_z)
    d = out + min(max(dr, dz), 0.0)
    if rxy > 1e-12:
        r0, r1 = p0 / rxy, p1 / rxy
    else:
        r0, r1 = 1.0, 0.0
    cap = 1.0 if p2 >= 0 else -1.0
    if out > 0:
        return d, r0 * out_r / out, r1 * out_r / out, cap * out_z / out
    if dr > dz:
        return d, r0, r1, 0.0
    return d, 0.0, 0.0, cap


@njit(cache=True)
def shape_distances(code, params, values, gradients, origin, cell, p, distance, gradient):
    """Signed distances distance [m] (m) and unit outward gradients gradient [m, 3] of part-frame
    points p (float64 [m, 3]) to a shape: code (PLANE ... GRID), params [3] (`_analytic`'s a, b,
    c), and for GRID its samples values [i, j, k] (m), gradients [i, j, k, 3], grid origin [3] (m)
    and cell (m)."""
    if code != GRID:
        a, b, c = params[0], params[1], params[2]
        for k in range(p.shape[0]):
            distance[k], gradient[k, 0], gradient[k, 1], gradient[k, 2] = _analytic(code, a, b, c, p[k, 0], p[k, 1], p[k, 2])
        return
    # Trilinear interpolation of the samples and of their gradients; outside the grid +inf, +Z.
    n0, n1, n2 = values.shape
    for k in range(p.shape[0]):
        u0, u1, u2 = (p[k, 0] - origin[0]) / cell, (p[k, 1] - origin[1]) / cell, (p[k, 2] - origin[2]) / cell
        if not (0 <= u0 <= n0 - 1 and 0 <= u1 <= n1 - 1 and 0 <= u2 <= n2 - 1):
            distance[k], gradient[k, 0], gradient[k, 1], gradient[k, 2] = math.inf, 0.0, 0.0, 1.0
            continue
        i0, i1, i2 = min(int(math.floor(u0)), n0 - 2), min(int(math.floor(u1)), n1 - 2), min(int(math.floor(u2)), n2 - 2)
        f0, f1, f2 = u0 - i0, u1 - i1, u2 - i2
        d, g0, g1, g2 = 0.0, 0.0, 0.0, 0.0
        for corner in range(8):
            c0, c1, c2 = corner & 1, (corner >> 1) & 1, (corner >> 2) & 1
            weight = (f0 if c0 else 1 - f0) * (f1 if c1 else 1 - f1) * (f2 if c2 else 1 - f2)
            j0, j1, j2 = i0 + c0, i1 + c1, i2 + c2
            d += weight * values[j0, j1, j2]
            g0 += weight * gradients[j0, j1, j2, 0]
            g1 += weight * gradients[j0, j1, j2, 1]
            g2 += weight * gradients[j0, j1, j2, 2]
        distance[k] = d
        gradient[k, 0], gradient[k, 1], gradient[k, 2] = _unit(g0, g1, g2, 0.0, 0.0, 1.0)


@njit(cache=True)
def _part_frame(x, near, position, rotation, code, params, values, gradients, origin, cell):
    """For the particles `near` (int64 [m]) of positions x (float64 [n, 3], m) and a part at
    position [3] with rotation [3, 3] (part to world): the signed distances [m] (m) of their
    part-frame points rotation^T (x - position), and the world-frame outward normals [m, 3]."""
    m = near.shape[0]
    local = np.empty((m, 3))
    for k in range(m):
        i = near[k]
        r0, r1, r2 = x[i, 0] - position[0], x[i, 1] - position[1], x[i, 2] - position[2]
        local[k, 0] = r0 * rotation[0, 0] + r1 * rotation[1, 0] + r2 * rotation[2, 0]
        local[k, 1] = r0 * rotation[0, 1] + r1 * rotation[1, 1] + r2 * rotation[2, 1]
        local[k, 2] = r0 * rotation[0, 2] + r1 * rotation[1, 2] + r2 * rotation[2, 2]
    distance = np.empty(m)
    normal_local = np.empty((m, 3))
    shape_distances(code, params, values, gradients, origin, cell, local, distance, normal_local)
    normal = np.empty((m, 3))
    for k in range(m):
        for a in range(3):
            normal[k, a] = rotation[a, 0] * normal_local[k, 0] + rotation[a, 1] * normal_local[k, 1] + rotation[a, 2] * normal_local[k, 2]
    return distance, normal


# --------------------------------------------------------------------------- ballistic flight
@njit(cache=True)
def fly(x, v, dt, gravity, drag, quadratic, wind):
    """Advance positions x and velocities v (float64 [n, 3], m and m/s) by dt seconds, in place
    (ballistic.py has the formulas). drag: 1/s (linear) or 1/m (quadratic), 0: none; wind [3] m/s."""
    # Per particle, each axis (k) on its own except the quadratic drag's speed.
    if drag == 0:
        for i in range(x.shape[0]):
            for k in range(3):
                x[i, k] += v[i, k] * dt + 0.5 * dt * dt * gravity[k]
                v[i, k] += gravity[k] * dt
    elif not quadratic:
        # Exact: v relaxes to the terminal velocity w + g / k with decay exp(-k dt).
        decay = math.exp(-drag * dt)
        for i in range(x.shape[0]):
            for k in range(3):
                terminal = wind[k] + gravity[k] / drag
                relative = v[i, k] - terminal
                x[i, k] += relative * ((1 - decay) / drag) + terminal * dt
                v[i, k] = relative * decay + terminal
    else:
        # Semi-implicit: the drag factor 1 / (1 + c |v - w| dt) at the old speed relative to the
        # air; x moves by the mean of the old and new velocity (half a step with each).
        for i in range(x.shape[0]):
            r0, r1, r2 = v[i, 0] - wind[0], v[i, 1] - wind[1], v[i, 2] - wind[2]
            factor = 1.0 / (math.sqrt(r0 * r0 + r1 * r1 + r2 * r2) * (drag * dt) + 1.0)
            for k in range(3):
                x[i, k] += v[i, k] * (0.5 * dt)
                v[i, k] = (v[i, k] - wind[k] + gravity[k] * dt) * factor + wind[k]
                x[i, k] += v[i, k] * (0.5 * dt)


# --------------------------------------------------------------------------- contacts
@njit(cache=True)
def resolve_contacts(x, v, near, radius, restitution, friction, position, rotation, linear, angular, moving,
                     rest_speed, gravity, with_gravity, held, code, params, values, gradients, origin, cell):
    """colliders.collide against one part (pose position [3], rotation [3, 3] part to world,
    velocities linear [3] m/s and angular [3] rad/s, shape as in `shape_distances`) for the
    candidate particles `near` (int64, no repeats), each on its own, in place."""
    g2 = gravity[0] * gravity[0] + gravity[1] * gravity[1] + gravity[2] * gravity[2]
    distance, normal = _part_frame(x, near, position, rotation, code, params, values, gradients, origin, cell)
    for k in range(near.shape[0]):
        i = near[k]
        # 1. Signed distance in the part frame.
        depth = radius - distance[k]
        if not depth > 0:
            continue
        n0, n1, n2 = normal[k, 0], normal[k, 1], normal[k, 2]
        r0, r1, r2 = x[i, 0] - position[0], x[i, 1] - position[1], x[i, 2] - position[2]
        # 2. Velocity of the part's surface at the particle, and the particle's relative to it.
        s0, s1, s2 = 0.0, 0.0, 0.0
        if moving:
            s0 = linear[0] + (angular[1] * r2 - angular[2] * r1)
            s1 = linear[1] + (angular[2] * r0 - angular[0] * r2)
            s2 = linear[2] + (angular[0] * r1 - angular[1] * r0)
        u0, u1, u2 = v[i, 0] - s0, v[i, 1] - s1, v[i, 2] - s2
        vn = u0 * n0 + u1 * n1 + u2 * n2
        a = n0 * gravity[0] + n1 * gravity[1] + n2 * gravity[2]
        if with_gravity and not moving:
            # Friction can hold the particle here when gravity presses it onto the surface and
            # its tangential part is inside the friction cone.
            if a < 0 and g2 - a * a <= (friction * a) ** 2:
                held[i] = True
        # 3. The normal motion since the contact began, undone and replayed with the bounce: along
        #    the normal the particle moved with constant acceleration a = g.n over the substep, so
        #    its speed at contact v_c (v_c^2 = v_n^2 + 2 a depth), the time since contact
        #    tau = (v_n - v_c) / a, and its state now after bouncing with -e v_c are exact.
        e = restitution
        vn_new, height = vn, 0.0
        if vn < 0:
            v_contact = -math.sqrt(max(vn * vn + 2.0 * a * depth, 0.0))
            if rest_speed > 0 and v_contact > -rest_speed:
                e = 0.0  # resting contact: no micro-bounces
            tau = (vn - v_contact) / a if a < -1e-12 else depth / max(-vn, 1e-12)
            vn_new = -e * v_contact + a * tau
            height = -e * v_contact * tau + 0.5 * a * tau * tau
            if height < 0:
                # A bounce too weak to climb against gravity for tau ends resting on the surface.
                height = 0.0
                vn_new = max(vn_new, 0.0)
        # 4. Coulomb friction on the tangential speed: it loses up to friction x the normal
        #    speed change, never reversing.
        t0, t1, t2 = u0 - vn * n0, u1 - vn * n1, u2 - vn * n2
        speed_t = math.sqrt(t0 * t0 + t1 * t1 + t2 * t2)
        keep = max(0.0, 1.0 - friction * max(vn_new - vn, 0.0) / max(speed_t, 1e-12))
        v[i, 0] = t0 * keep + vn_new * n0 + s0
        v[i, 1] = t1 * keep + vn_new * n1 + s1
        v[i, 2] = t2 * keep + vn_new * n2 + s2
        # 5. Out of the part, to the replayed height above the contact.
        x[i, 0] += (depth + height) * n0
        x[i, 1] += (depth + height) * n1
        x[i, 2] += (depth + height) * n2


# --------------------------------------------------------------------------- liquid pairs
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


# --------------------------------------------------------------------------- liquid walls and contacts
@njit(cache=True)
def add_wall_density(x, near, position, rotation, code, params, values, gradients, origin, cell,
                     table_distance, table_density, table_slope, rho, grad):
    """Add one rigid part's wall density to the particles `near` it (int64 [k], no repeats).

    x: float64 [n, 3] positions (m); position [3] and rotation [3, 3] (part to world): the
    part's pose; code ... cell: its shape (`shape_distances`); the table (distance m ->
    density kg/m^3 and its slope kg/m^4, at evenly spaced distances from 0; distances clipped
    to its range) gives the density; rho [n] += density, grad [n, 3] += slope x the outward
    normal (world frame).
    """
    top = table_distance[-1]
    last = table_distance.shape[0] - 2
    step = table_distance[1] - table_distance[0]
    distance, normal = _part_frame(x, near, position, rotation, code, params, values, gradients, origin, cell)
    for k in range(near.shape[0]):
        i = near[k]
        d = distance[k]
        # Linear interpolation in the evenly spaced table.
        d = min(max(d, 0.0), top)
        j = min(int(d / step), last)
        f = (d - table_distance[j]) / (table_distance[j + 1] - table_distance[j])
        density = table_density[j] + f * (table_density[j + 1] - table_density[j])
        slope = table_slope[j] + f * (table_slope[j + 1] - table_slope[j])
        rho[i] += density
        grad[i, 0] += slope * normal[k, 0]
        grad[i, 1] += slope * normal[k, 1]
        grad[i, 2] += slope * normal[k, 2]


@njit(cache=True)
def push_out_of_part(x, near, radius, position, rotation, code, params, values, gradients, origin, cell):
    """Move the particles `near` one rigid part (int64 [k], no repeats) that are closer than
    `radius` (m) to it out along its outward normal to exactly `radius`, in place (x float64
    [n, 3], m; the part's pose and shape as in `add_wall_density`)."""
    distance, normal = _part_frame(x, near, position, rotation, code, params, values, gradients, origin, cell)
    for k in range(near.shape[0]):
        i = near[k]
        depth = radius - distance[k]
        if depth > 0:
            x[i, 0] += depth * normal[k, 0]
            x[i, 1] += depth * normal[k, 1]
            x[i, 2] += depth * normal[k, 2]

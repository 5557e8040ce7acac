"""The liquid's compiled kernels (sim/particles/kernels.py) and the compiled shape distances
(sim/particles/sdf.py) against brute-force and closed-form references, and their determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _particle_shots import shot_from_data

from physreel.sim.particles import simulate_particles
from physreel.sim.particles.fluid import FluidKernel
from physreel.sim.particles.kernels import find_pairs, pbf_iteration, xsph_viscosity
from physreel.sim.particles.sdf import BoxSDF, CapsuleSDF, CylinderSDF, PlaneSDF, SphereSDF
from physreel.sim.spec.errors import SimulationError

H = 0.02


def _points(seed: int = 0) -> np.ndarray:
    """500 points: a dense clump (many pairs, several per cell), a sparse spread, and a far group
    (cell keys far apart), plus two coincident points."""
    rng = np.random.default_rng(seed)
    clump = rng.random((300, 3)) * 0.06
    spread = rng.random((150, 3)) * 0.5 - 0.2
    far = rng.random((48, 3)) * 0.05 + [40.0, -25.0, 3.0]
    return np.concatenate([clump, spread, far, clump[:2]])


def _brute_pairs(x: np.ndarray, h: float) -> set[tuple[int, int]]:
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    i, j = np.nonzero(np.triu(d2 < h * h, k=1))
    return set(zip(i.tolist(), j.tolist()))


def test_pairs_are_exactly_the_pairs_closer_than_h_each_once():
    x = _points()
    pairs = find_pairs(x, H)
    found = [(min(a, b), max(a, b)) for a, b in zip(pairs.i.tolist(), pairs.j.tolist())]
    assert len(found) == len(set(found))  # each unordered pair once, never (i, i)
    assert all(a != b for a, b in found)
    assert set(found) == _brute_pairs(x, H)
    assert len(found) > 1000  # the clump gives many pairs (the test is not vacuous)


def test_pairs_of_no_or_one_particle_are_empty():
    assert len(find_pairs(np.zeros((0, 3)), H).i) == 0
    assert len(find_pairs(np.ones((1, 3)), H).i) == 0


def test_particles_too_far_apart_for_the_cell_key_are_a_simulation_error():
    with pytest.raises(SimulationError, match="64-bit cell key"):
        find_pairs(np.array([[0.0, 0.0, 0.0], [1e7, 1e7, 1e7]]), 0.004)


def _dense(x: np.ndarray, h: float):
    """Pair differences d [n, n, 3], distances r [n, n] and the neighbour mask (j != i, r < h)."""
    d = x[:, None, :] - x[None, :, :]
    r = np.sqrt((d**2).sum(-1))
    return d, r, (r < h) & ~np.eye(len(x), dtype=bool)


def test_density_equals_the_numpy_formula():
    x = _points(1)[:450]
    kernel = FluidKernel(H / 4, 1000.0, 0.01, 4)
    _, r, near = _dense(x, kernel.h)
    poly6 = 315.0 / (64.0 * math.pi * kernel.h**9) * np.where(near, kernel.h**2 - r**2, 0.0) ** 3
    expected = kernel.mass * (kernel.w_self + poly6.sum(1))
    np.testing.assert_allclose(kernel.density(x, kernel.pairs(x)), expected, rtol=1e-12)


def test_one_pbf_iteration_and_xsph_equal_the_numpy_formulas():
    rng = np.random.default_rng(2)
    kernel = FluidKernel(H / 4, 1000.0, 0.05, 4)
    # A compressed lattice (spacing 0.8 of the rest spacing) so every constraint is active.
    axis = np.arange(6) * 0.8 * kernel.spacing
    x = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3) + rng.normal(0, 1e-4, (216, 3))
    wall_rho = rng.random(len(x)) * 50
    wall_grad = rng.normal(0, 1e4, (len(x), 3))
    v = rng.normal(0, 0.1, (len(x), 3))
    # numpy reference over the dense [n, n] pair matrices.
    h, m, rho0 = kernel.h, kernel.mass, kernel.rest_density
    d, r, near = _dense(x, h)
    W = np.where(near, 315.0 / (64.0 * math.pi * h**9) * (h * h - r * r) ** 3, 0.0)
    rho = m * (kernel.w_self + W.sum(1)) + wall_rho
    scale = np.where(near, -(m / rho0) * 45.0 / (math.pi * h**6) * (h - r) ** 2 / np.where(near, r, 1.0), 0.0)
    grad = (scale[..., None] * d).sum(1) + wall_grad / rho0
    lam = -np.maximum(rho / rho0 - 1, 0) / ((scale**2 * r**2).sum(1) + (grad**2).sum(1) + kernel.epsilon)
    step = (((lam[:, None] + lam[None, :]) * scale)[..., None] * d).sum(1) + lam[:, None] * wall_grad / rho0
    xsph = v + kernel.viscosity * ((m / rho[None, :] * W)[..., None] * (v[None, :, :] - v[:, None, :])).sum(1)

    pairs = kernel.pairs(x)
    moved, w_pairs, rho_out = x.copy(), np.empty(len(pairs.i)), np.empty(len(x))
    pbf_iteration(moved, pairs.i, pairs.j, h, m, rho0, kernel.w_self, kernel.epsilon, wall_rho, wall_grad, w_pairs, rho_out)
    np.testing.assert_allclose(rho_out, rho, rtol=1e-12)
    assert np.abs(step).max() > 1e-4  # the corrections are substantial (0.4 mm and more)
    # Rounding: sums of ~30 terms in another order; 1e-12 of the largest correction.
    np.testing.assert_allclose(moved - x, step, rtol=0, atol=1e-12 * np.abs(step).max())
    out = np.empty_like(v)
    xsph_viscosity(v, pairs.i, pairs.j, w_pairs, rho_out, m, kernel.viscosity, out)
    np.testing.assert_allclose(out, xsph, rtol=0, atol=1e-12 * np.abs(v).max())


def _dam_break_data() -> dict:
    walls = [
        {"name": "floor", "shape": "plane"},
        {"name": "left", "shape": "box", "static": True, "size": [0.02, 0.12, 0.2], "position": [-0.01, 0.05, 0.1]},
        {"name": "right", "shape": "box", "static": True, "size": [0.02, 0.12, 0.2], "position": [0.31, 0.05, 0.1]},
        {"name": "front", "shape": "box", "static": True, "size": [0.3, 0.02, 0.2], "position": [0.15, -0.01, 0.1]},
        {"name": "back", "shape": "box", "static": True, "size": [0.3, 0.02, 0.2], "position": [0.15, 0.11, 0.1]},
        {"name": "stone", "shape": "cylinder", "static": True, "radius": 0.02, "length": 0.06, "position": [0.2, 0.05, 0.03]},
    ]
    return {"shot": {"duration": 0.25, "fps": 24}, "camera": {"resolution": [64, 64]}, "objects": walls,
            "fluid_blocks": [{"name": "water", "min": [0, 0, 0], "max": [0.1, 0.1, 0.12], "particle_radius": 0.005}]}


def test_a_liquid_run_gives_identical_bytes_twice():
    a = simulate_particles(shot_from_data(_dam_break_data()))
    b = simulate_particles(shot_from_data(_dam_break_data()))
    assert a.position.tobytes() == b.position.tobytes()
    assert a.velocity.tobytes() == b.velocity.tobytes()
    # The liquid did move (a surge of several centimetres), so the bytes compare a real run.
    assert a.position[-1, :, 0].max() - a.position[0, :, 0].max() > 0.03


def _closed_form(shape, p: np.ndarray) -> np.ndarray:
    """Signed distances by independent formulas (nearest surface point, or nearest face inside)."""
    if isinstance(shape, PlaneSDF):
        return p[:, 2]
    if isinstance(shape, SphereSDF):
        return np.linalg.norm(p, axis=1) - shape.radius
    if isinstance(shape, BoxSDF):
        inside = np.all(np.abs(p) <= shape.half, axis=1)
        outside = np.linalg.norm(p - np.clip(p, -shape.half, shape.half), axis=1)
        return np.where(inside, -np.min(shape.half - np.abs(p), axis=1), outside)
    if isinstance(shape, CapsuleSDF):
        axis_point = np.clip(p[:, 2], -shape.length / 2, shape.length / 2)
        return np.linalg.norm(p - np.stack([0 * axis_point, 0 * axis_point, axis_point], 1), axis=1) - shape.radius
    rxy, z = np.hypot(p[:, 0], p[:, 1]), np.abs(p[:, 2])  # cylinder: a 2-D box in (rxy, |z|)
    a, b = rxy - shape.radius, z - shape.length / 2
    return np.where((a <= 0) & (b <= 0), np.maximum(a, b), np.hypot(np.maximum(a, 0), np.maximum(b, 0)))


@pytest.mark.parametrize("shape", [PlaneSDF(), SphereSDF(0.1), BoxSDF(np.array([0.1, 0.05, 0.2])), CapsuleSDF(0.05, 0.2),
                                   CylinderSDF(0.08, 0.1)], ids=lambda s: type(s).__name__)
def test_compiled_shape_distances_match_closed_forms_and_their_gradients(shape):
    p = np.random.default_rng(3).uniform(-0.25, 0.25, (2000, 3))
    np.testing.assert_allclose(shape.distance(p), _closed_form(shape, p), rtol=0, atol=1e-12)
    # The gradient is the unit direction of steepest increase: central differences of the
    # closed form (step 1e-6 m), away from the creases where it is not differentiable.
    eps = 1e-6
    numeric = np.stack([(_closed_form(shape, p + eps * e) - _closed_form(shape, p - eps * e)) / (2 * eps) for e in np.eye(3)], 1)
    smooth = np.abs(np.linalg.norm(numeric, axis=1) - 1) < 1e-6
    assert smooth.sum() > 1500
    np.testing.assert_allclose(shape.gradient(p)[smooth], numeric[smooth], atol=1e-5)


def test_compiled_grid_distances_are_the_trilinear_interpolation_of_the_samples():
    import trimesh
    from scipy.interpolate import RegularGridInterpolator

    from physreel.sim.particles.sdf import GridSDF

    box = trimesh.creation.box(extents=[0.1, 0.06, 0.08])
    grid = GridSDF(box.vertices, box.faces, cell=0.005, margin=0.02)
    axes = [grid.origin[k] + grid.cell * np.arange(grid.counts[k]) for k in range(3)]
    # Points inside and around the grid, some beyond it (+inf distance, +Z gradient there).
    p = np.random.default_rng(4).uniform(-0.09, 0.09, (3000, 3))
    inside = np.all((p >= [a[0] for a in axes]) & (p <= [a[-1] for a in axes]), axis=1)
    assert 500 < inside.sum() < 2900
    distance, gradient = grid.distance(p), grid.gradient(p)
    expected = RegularGridInterpolator(axes, grid.values)(p[inside])
    np.testing.assert_allclose(distance[inside], expected, rtol=0, atol=1e-12)
    assert np.isinf(distance[~inside]).all() and (gradient[~inside] == [0, 0, 1]).all()
    raw = np.stack([RegularGridInterpolator(axes, grid.gradients[..., k])(p[inside]) for k in range(3)], 1)
    norm = np.linalg.norm(raw, axis=1, keepdims=True)
    unit = np.where(norm > 1e-12, raw / np.where(norm > 1e-12, norm, 1.0), [0.0, 0.0, 1.0])  # +Z where it vanishes
    np.testing.assert_allclose(gradient[inside], unit, rtol=0, atol=1e-12)

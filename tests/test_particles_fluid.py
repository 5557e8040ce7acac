"""Liquid (position-based fluids): a block settles in a tank, a dam break against Martin and
Moyce (1952), one-way coupling with a moving body, emission and determinism."""

from __future__ import annotations

import numpy as np
import pytest
from _particle_shots import shot_from_data

from physreel.sim.particles import simulate_particles
from physreel.sim.particles.fluid import FluidKernel

G = 9.81


def tank(length: float, width: float, height: float, thickness: float = 0.05) -> list[dict]:
    """A floor and four static walls around [0, length] x [0, width], inner faces at the bounds."""
    t = thickness
    return [
        {"name": "floor", "shape": "plane"},
        {"name": "left", "shape": "box", "static": True, "size": [t, width + 2 * t, height], "position": [-t / 2, width / 2, height / 2]},
        {"name": "right", "shape": "box", "static": True, "size": [t, width + 2 * t, height], "position": [length + t / 2, width / 2, height / 2]},
        {"name": "front", "shape": "box", "static": True, "size": [length, t, height], "position": [length / 2, -t / 2, height / 2]},
        {"name": "back", "shape": "box", "static": True, "size": [length, t, height], "position": [length / 2, width + t / 2, height / 2]},
    ]


def kinetic_energy(track, frame: int, mass: float) -> float:
    v = track.velocity[frame][track.alive[frame]].astype(float)
    return 0.5 * mass * float((v**2).sum())


@pytest.fixture(scope="module")
def sloshing_tank():
    """A 0.3 x 0.2 x 0.15 m block of water thrown at 0.5 m/s along x inside a 0.3 x 0.2 m tank."""
    r = 0.01
    data = {
        "shot": {"duration": 1.5, "fps": 24},
        "camera": {"resolution": [64, 64]},
        "objects": tank(0.3, 0.2, 0.5),
        "fluid_blocks": [{"name": "water", "min": [0, 0, 0], "max": [0.3, 0.2, 0.15], "particle_radius": r, "velocity": [0.5, 0, 0]}],
    }
    return simulate_particles(shot_from_data(data)), FluidKernel(r, 1000.0, 0.01, 4)


def test_fluid_block_keeps_its_particle_count(sloshing_tank):
    track, _ = sloshing_tank
    assert track.position.shape[1] == 15 * 10 * 7
    assert (track.alive.sum(axis=1) == 15 * 10 * 7).all()


def test_settled_fluid_has_rest_density_inside(sloshing_tank):
    track, kernel = sloshing_tank
    x = track.position[-1].astype(float)
    rho = kernel.density(x, kernel.pairs(x))
    # Interior particles (a full kernel radius from the walls, floor and free surface) have full
    # neighbourhoods, so their SPH density is the liquid's density: within 5 % of rest.
    h = kernel.h
    top = np.percentile(x[:, 2], 99)
    interior = (x[:, 0] > h) & (x[:, 0] < 0.3 - h) & (x[:, 1] > h) & (x[:, 1] < 0.2 - h) & (x[:, 2] > h) & (x[:, 2] < top - h)
    assert interior.sum() >= 20
    assert rho[interior].mean() == pytest.approx(1000.0, rel=0.05)
    # Incompressible: the settled liquid is as deep as the block's 7 lattice layers, 0.14 m (5 %).
    assert top + kernel.radius == pytest.approx(7 * 2 * kernel.radius, rel=0.05)


def test_sloshing_kinetic_energy_decays(sloshing_tank):
    track, kernel = sloshing_tank
    energy = np.array([kinetic_energy(track, f, kernel.mass) for f in range(track.position.shape[0])])
    # Viscosity and inelastic wall contacts dissipate: the last quarter second holds under a
    # quarter of the initial energy, and the energy's running maximum never grows past the start
    # by more than the potential energy a slosh can convert (10 %).
    assert energy[-6:].max() < 0.25 * energy[0]
    assert energy.max() <= 1.1 * energy[0]


def test_no_fluid_particle_ends_a_frame_inside_a_wall(sloshing_tank):
    track, kernel = sloshing_tank
    x = track.position.astype(float)
    assert x[..., 0].min() >= -1e-6 and x[..., 0].max() <= 0.3 + 1e-6
    assert x[..., 1].min() >= -1e-6 and x[..., 1].max() <= 0.2 + 1e-6
    assert x[..., 2].min() >= -1e-6


# Martin and Moyce (1952), square column of width a = 2.25 in and height 2a (n^2 = 2): surge
# front Z = z / a against T = t sqrt(2 g / a), digitised from their figure 3.
MARTIN_MOYCE_T = np.array([0.832, 1.219, 1.997, 2.547, 3.345])
MARTIN_MOYCE_Z = np.array([1.217, 1.474, 2.292, 2.995, 4.134])


def test_dam_break_surge_front_follows_martin_and_moyce():
    a = 0.05715
    columns = 12  # particles across the column's width
    r = a / (2 * columns)
    depth = 4 * 2 * r  # a slab four particles deep between free-slip walls: 2-D-ish
    fps = 120
    duration = round(3.4 / np.sqrt(2 * G / a) * fps) / fps
    data = {
        "shot": {"duration": duration, "fps": fps, "physics_hz": 240},
        "camera": {"resolution": [64, 64]},
        "objects": tank(8 * a, depth, 3 * a, thickness=0.02),
        "fluid_blocks": [{"name": "column", "min": [0, 0, 0], "max": [a, depth, 2 * a], "particle_radius": r}],
    }
    track = simulate_particles(shot_from_data(data))
    T = np.arange(track.position.shape[0]) / fps * np.sqrt(2 * G / a)
    front = (track.position[:, :, 0].max(axis=1) + r) / a
    Z = np.interp(MARTIN_MOYCE_T, T, front)
    # Within 15 % of the measurement at every digitised time.
    np.testing.assert_array_less(np.abs(Z / MARTIN_MOYCE_Z - 1), 0.15)


def test_moving_paddle_pushes_the_liquid_and_never_holds_it():
    r = 0.0125
    def paddle(t):
        x = 0.05 + 0.4 * t
        return np.stack([x, np.full_like(t, 0.1), np.full_like(t, 0.15)], 1), np.tile([0.4, 0, 0], (len(t), 1))

    data = {
        "shot": {"duration": 0.5, "fps": 24},
        "camera": {"resolution": [64, 64]},
        "objects": tank(0.6, 0.2, 0.4) + [{"name": "paddle", "shape": "box", "size": [0.04, 0.16, 0.3], "position": [0.05, 0.1, 0.15]}],
        "fluid_blocks": [{"name": "water", "min": [0.1, 0, 0], "max": [0.6, 0.2, 0.1], "particle_radius": r}],
    }
    s = shot_from_data(data, motion={"paddle": paddle})
    track = simulate_particles(s)
    x = track.position.astype(float)
    rel = x - s.trajectory.position[:, 5][:, None, :]
    inside = np.min(np.array([0.02, 0.08, 0.15]) - np.abs(rel), axis=-1)
    assert inside.max() <= 1e-6  # no particle centre inside the moving paddle at any frame
    momentum_x = track.velocity[-1, :, 0].astype(float).sum()
    assert momentum_x > 0.05 * len(x[0]) * 0.4  # the liquid as a whole moves along with the paddle


def test_fluid_emitter_pours_rate_times_time_and_is_deterministic():
    data = {
        "shot": {"duration": 0.5, "fps": 24, "seed": 5},
        "camera": {"resolution": [64, 64]},
        "objects": tank(0.2, 0.2, 0.3),
        "emitters": [{"name": "pour", "kind": "fluid", "shape": "disc", "disc_radius": 0.015, "position": [0.1, 0.1, 0.25],
                      "rate": 600, "particle_radius": 0.006, "velocity": {"direction": [0, 0, -1], "speed": [0.5, 0.5]}}],
    }
    a = simulate_particles(shot_from_data(data))
    b = simulate_particles(shot_from_data(data))
    assert a.position.tobytes() == b.position.tobytes()
    assert a.position.shape[1] == 300
    t = np.arange(13) / 24
    np.testing.assert_array_equal(a.alive.sum(axis=1), np.minimum(np.floor(t * 600 + 1e-9) + 1, 300).astype(int))
    final = a.position[-1].astype(float)
    assert final[:, 2].min() >= -1e-6 and final[:, 2].max() < 0.25


def _small_tank(fluid: dict, duration: float = 0.5, velocity=(0.0, 0.0, 0.0)):
    data = {
        "shot": {"duration": duration, "fps": 24},
        "camera": {"resolution": [64, 64]},
        "objects": tank(0.2, 0.2, 0.4),
        "fluid_blocks": [{"name": "w", "min": [0, 0, 0], "max": [0.2, 0.2, 0.1], "particle_radius": 0.01,
                          "velocity": list(velocity), "fluid": fluid}],
    }
    return shot_from_data(data)


def test_fixed_fluid_substeps_are_used():
    from physreel.sim.particles.fluid import FluidGroup

    counts = []
    original = FluidGroup.advance_frame

    def spy(self, *args):
        original(self, *args)
        counts.append(self.substep_counts[-1])

    FluidGroup.advance_frame = spy
    try:
        simulate_particles(_small_tank({"substeps": 7}, duration=0.25))
    finally:
        FluidGroup.advance_frame = original
    assert counts == [7] * 6


def test_more_iterations_compress_the_liquid_less():
    def peak_density(iterations: int) -> float:
        track = simulate_particles(_small_tank({"iterations": iterations, "substeps": 2}))
        kernel = FluidKernel(0.01, 1000.0, 0.01, iterations)
        x = track.position[-1].astype(float)
        return float(np.percentile(kernel.density(x, kernel.pairs(x)), 95))

    assert peak_density(8) < peak_density(1) - 20  # kg/m^3: a stiffer solve


def test_rest_density_sets_the_particle_mass_and_the_settled_density():
    track = simulate_particles(_small_tank({"rest_density": 800.0}))
    kernel = FluidKernel(0.01, 800.0, 0.01, 4)
    assert kernel.mass == pytest.approx(FluidKernel(0.01, 1000.0, 0.01, 4).mass * 0.8)
    x = track.position[-1].astype(float)
    rho = kernel.density(x, kernel.pairs(x))
    inner = (np.abs(x[:, 0] - 0.1) < 0.05) & (np.abs(x[:, 1] - 0.1) < 0.05) & (x[:, 2] > 0.03) & (x[:, 2] < 0.05)
    assert inner.sum() > 3
    assert rho[inner].mean() == pytest.approx(800.0, rel=0.05)


def test_viscosity_damps_the_sloshing_faster():
    def energy_left(viscosity: float) -> float:
        track = simulate_particles(_small_tank({"viscosity": viscosity}, velocity=(0.6, 0.0, 0.0)))
        v = track.velocity.astype(float)
        return float((v[-1] ** 2).sum() / (v[0] ** 2).sum())

    assert energy_left(0.3) < 0.7 * energy_left(0.0)

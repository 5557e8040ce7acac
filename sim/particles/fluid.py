"""Liquid: position-based fluids (Macklin and Mueller 2013); the sums over neighbours are the
compiled loops of kernels.py, the rest vectorised numpy.

Why PBF and not SPH: weakly compressible SPH needs a time step bounded by the speed of sound
(about ten times the flow speed), so tens of substeps per frame for a few percent density error;
PBF enforces the density constraint directly by a few Jacobi iterations per substep and stays
stable at steps bounded only by the particles' own motion (a CFL rule), which is what makes
10,000 particles fit the frame budget. See docs/particles.md.

Each substep (dt):
1. predict: v += g dt, x* = x + v dt;
2. neighbours: all pairs closer than the kernel radius h = 4 r (twice the spacing), by a
   uniform-grid search (kernels.find_pairs), once per substep;
3. `iterations` times: density rho_i = m sum_j W(x*_i - x*_j) (poly6), constraint
   C_i = max(rho_i / rho0 - 1, 0) (unilateral: the free surface never pulls), lambda_i =
   -C_i / (sum_k |grad_k C_i|^2 + eps), position correction
   dx_i = (m / rho0) sum_j (lambda_i + lambda_j) grad W(x*_i - x*_j) (spiky gradient), then
   push out of every rigid part (one-way coupling: moving parts carry the liquid with them);
4. velocity v = (x* - x) / dt, then XSPH viscosity v_i += c sum_j (m / rho_j)(v_j - v_i) W_ij
   (with the weights of the last iteration, one small correction earlier).
The particle mass m = rho0 / sum_lattice W makes a filled cubic lattice of spacing 2 r exactly
rest density, so a block starts at rest (C = 0) instead of jumping.
"""

from __future__ import annotations

import math

import numpy as np

from ..spec.errors import SimulationError
from .colliders import Collider, collide, near_candidates, push_out
from .kernels import Pairs, add_wall_density, find_pairs, kernel_density_sum, pbf_iteration, xsph_viscosity
from .poses import RigidMotion
from .state import ParticleGroup

RELAXATION = 1e-6
"""eps of lambda's denominator, relative to the full-neighbourhood sum |grad C|^2 (avoids 0/0)."""
MAX_SUBSTEPS = 64
CFL = 1.0
"""Largest move of any particle in one substep, in particle spacings (2 r). Neighbour lists are
built once per substep from the predicted positions, so a spacing keeps them valid."""
GRAVITY_SAG = 0.05
"""Largest fall under gravity from rest in one substep (g dt^2), in particle spacings: the
density constraint has that much compression to undo each substep, which a few iterations do
to within about a percent."""


def poly6(r2: np.ndarray, h: float) -> np.ndarray:
    """Poly6 kernel W (1/m^3) of squared distances r2 (m^2), zero beyond h."""
    coeff = 315.0 / (64.0 * math.pi * h**9)
    return np.where(r2 < h * h, coeff * np.maximum(h * h - r2, 0.0) ** 3, 0.0)


def spiky_gradient_scale(r: np.ndarray, h: float) -> np.ndarray:
    """|grad W_spiky|(r) (1/m^4), the gradient being -scale * r_hat; zero beyond h."""
    return np.where(r < h, 45.0 / (math.pi * h**6) * np.maximum(h - r, 0.0) ** 2, 0.0)


def lattice_kernel_sum(spacing: float, h: float) -> float:
    """sum_j W(|x_j|) over a full cubic lattice of `spacing` around one particle (itself included)."""
    n = int(math.ceil(h / spacing))
    axis = np.arange(-n, n + 1) * spacing
    g = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
    return float(poly6(np.einsum("ij,ij->i", g, g), h).sum())


class FluidKernel:
    """Kernel radius, particle mass and the PBF solve for particles of one radius and material."""

    def __init__(self, radius: float, rest_density: float, viscosity: float, iterations: int):
        self.radius = radius
        self.spacing = 2.0 * radius
        self.h = 2.0 * self.spacing
        self.rest_density = rest_density
        self.viscosity = viscosity
        self.iterations = iterations
        self.mass = rest_density / lattice_kernel_sum(self.spacing, self.h)
        # Scale of sum_k |grad_k C|^2 for a full neighbourhood, for the relaxation epsilon.
        n = int(math.ceil(self.h / self.spacing))
        axis = np.arange(-n, n + 1) * self.spacing
        g = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1).reshape(-1, 3)
        r = np.linalg.norm(g, axis=1)
        grads = (self.mass / rest_density) * spiky_gradient_scale(r, self.h)[:, None] * g / np.where(r > 0, r, 1.0)[:, None]
        full = float(np.sum(grads**2) + np.sum(np.sum(grads, 0) ** 2))
        self.epsilon = RELAXATION * full + 1e-30
        self._wall_distance, self._wall_density = self._wall_table()
        self._wall_slope = np.gradient(self._wall_density, self._wall_distance)

    def _wall_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Density (kg/m^3) a solid wall adds to a particle at distance d from its surface.

        The wall is modelled as the liquid's own lattice continued through the surface (first
        layer r below it), so a particle resting on a wall (d = r) under a full liquid lattice has
        exactly rest density; without it particles near walls lack neighbours and the liquid
        sinks into a denser layer there.
        """
        s, h = self.spacing, self.h
        n = int(math.ceil(h / s))
        lateral = np.arange(-n, n + 1) * s
        lx, ly, k = np.meshgrid(lateral, lateral, np.arange(n + 1), indexing="ij")
        distance = np.linspace(0.0, h, 129)
        below = distance[:, None] + self.radius + k.ravel()[None, :] * s
        r2 = lx.ravel()[None, :] ** 2 + ly.ravel()[None, :] ** 2 + below**2
        return distance, self.mass * poly6(r2, h).sum(axis=1)

    @property
    def wall_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distance [129] m from 0 to h, density [129] kg/m^3, d density / d distance [129]
        kg/m^4): the density a wall adds, interpolated linearly (kernels.add_wall_density)."""
        return self._wall_distance, self._wall_density, self._wall_slope

    def pairs(self, x: np.ndarray) -> Pairs:
        """Neighbour pairs of positions x (float64 [n, 3], m): every pair closer than h, once
        (kernels.find_pairs)."""
        return find_pairs(x, self.h)

    def density(self, x: np.ndarray, pairs: Pairs) -> np.ndarray:
        """float64 [n] SPH density (kg/m^3) of particles x [n, 3] with their neighbour pairs."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        total = np.empty(len(x))
        kernel_density_sum(x, pairs.i, pairs.j, self.h, total)
        return self.mass * (self.w_self + total)

    @property
    def w_self(self) -> float:
        return 315.0 / (64.0 * math.pi * self.h**3)

    def solve_density(self, x: np.ndarray, pairs: Pairs, wall_rho: np.ndarray,
                      wall_grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One Jacobi iteration of the density constraint, correcting positions x (float64
        [n, 3], C-contiguous) in place (kernels.pbf_iteration has the formulas).

        wall_rho [n] (kg/m^3) and wall_grad [n, 3] (its gradient w.r.t. the particle's position,
        kg/m^4) add the density of nearby solid walls (see `wall_table`). Returns (w [M]
        kernel weights of the pairs, rho [n] densities) before the correction.
        """
        w = np.empty(len(pairs.i))
        rho = np.empty(len(x))
        pbf_iteration(x, pairs.i, pairs.j, self.h, self.mass, self.rest_density, self.w_self,
                      self.epsilon, wall_rho, wall_grad, w, rho)
        return w, rho

    def xsph(self, v: np.ndarray, pairs: Pairs, w: np.ndarray, rho: np.ndarray) -> np.ndarray:
        """Velocities v [n, 3] after XSPH viscosity, with the pairs' kernel weights w [M] and the
        densities rho [n] of the last constraint iteration (one correction earlier)."""
        if self.viscosity == 0:
            return v
        out = np.empty_like(v)
        xsph_viscosity(v, pairs.i, pairs.j, w, rho, self.mass, self.viscosity, out)
        return out


class FluidGroup(ParticleGroup):
    """The liquid particles of a shot (one kernel: every fluid source shares one material)."""

    def __init__(self, segments: list, gravity: np.ndarray, colliders: list[Collider], spec, fps: int):
        materials = [(e.particle_radius, e.fluid) for e in spec.emitters if e.kind == "fluid"]
        materials += [(b.particle_radius, b.fluid) for b in spec.fluid_blocks]
        radius, fluid = materials[0]  # the spec check makes every fluid source agree
        self.kernel = FluidKernel(radius, fluid.rest_density, fluid.viscosity, fluid.iterations)
        self.fixed_substeps = fluid.substeps
        self.segments = segments
        self.gravity = gravity
        self.colliders = colliders
        self.fps = fps
        self.substep_counts: list[int] = []
        """Substeps taken in each frame (for the record and the benchmark)."""

    def live(self) -> np.ndarray:
        """int64 [n] columns of the live liquid particles."""
        ranges = [np.arange(seg.live.start, seg.live.stop) for seg in self.segments]
        return np.concatenate(ranges) if ranges else np.zeros(0, np.int64)

    def begin(self, state, poses) -> None:
        for seg in self.segments:
            self._born(state, state.give_birth(seg, 0.0, poses, self.gravity), poses)

    def substeps_for(self, v: np.ndarray) -> int:
        """Substeps for the next frame: no particle moves more than CFL spacings in a substep, and
        gravity sags no more than GRAVITY_SAG spacings (at least 2, at most MAX_SUBSTEPS)."""
        if self.fixed_substeps is not None:
            return self.fixed_substeps
        frame_dt = 1.0 / self.fps
        g = float(np.linalg.norm(self.gravity))
        v_max = float(np.sqrt(np.einsum("ij,ij->i", v, v).max(initial=0.0))) + g * frame_dt
        by_speed = v_max * frame_dt / (CFL * self.kernel.spacing)
        by_gravity = frame_dt * math.sqrt(g / (GRAVITY_SAG * self.kernel.spacing))
        if not math.isfinite(by_speed):  # math.ceil would raise: the liquid has blown up
            raise SimulationError(f"the liquid's speed is no longer finite ({v_max}); lower its speeds or gravity, or use larger particles")
        return int(min(MAX_SUBSTEPS, max(2, math.ceil(by_speed), math.ceil(by_gravity))))

    def advance_frame(self, state, motion: RigidMotion, t0: float, t1: float) -> None:
        n_sub = self.substeps_for(state.v[self.live()])
        self.substep_counts.append(n_sub)
        dt = (t1 - t0) / n_sub
        for k in range(n_sub):
            t_end = t0 + (k + 1) * dt if k + 1 < n_sub else t1
            poses = motion.at(t_end)
            live = self.live()
            if len(live):
                state.x[live], state.v[live] = self._substep(state.x[live], state.v[live], dt, poses)
            for seg in self.segments:
                self._born(state, state.give_birth(seg, t_end, poses, self.gravity), poses)
                state.bury(seg, t_end)

    def _born(self, state, columns: slice, poses) -> None:
        """Newborn liquid starts outside every part."""
        if columns.stop > columns.start:
            self._push_out(state.x[columns], state.v[columns], poses)

    def _substep(self, x: np.ndarray, v: np.ndarray, dt: float, poses) -> tuple[np.ndarray, np.ndarray]:
        kernel = self.kernel
        # 1. Predict.
        v = v + self.gravity * dt
        predicted = x + v * dt
        # 2. Neighbour pairs (reused by every iteration of this substep).
        pairs = kernel.pairs(predicted)
        # 3. Density constraint and contacts; contact candidates found once (corrections are small).
        # Contacts only move positions (velocities come from positions below).
        candidates = near_candidates(predicted, kernel.radius + kernel.h, poses, self.colliders)
        for _ in range(kernel.iterations):
            wall_rho, wall_grad = self._walls(predicted, poses, candidates)
            w, rho = kernel.solve_density(predicted, pairs, wall_rho, wall_grad)
            push_out(predicted, kernel.radius, poses, self.colliders, candidates)
        # 4. Velocity from the corrected positions, then viscosity.
        v = (predicted - x) / dt
        return predicted, kernel.xsph(v, pairs, w, rho)

    def _walls(self, x: np.ndarray, poses, candidates: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Density every rigid part adds to the particles near it, and its gradient ([n], [n, 3])."""
        rho = np.zeros(len(x))
        grad = np.zeros((len(x), 3))
        table = self.kernel.wall_table
        for collider, near in zip(self.colliders, candidates):
            if len(near):
                part = collider.part_index
                add_wall_density(x, near, poses.position[part], poses.rotation[part], *collider.shape.compiled, *table, rho, grad)
        return rho, grad

    def _push_out(self, x: np.ndarray, v: np.ndarray, poses) -> None:
        """Project positions x [n, 3] (a view, updated in place) out of every part."""
        if len(x) == 0 or not self.colliders:
            return
        collide(x, v, self.kernel.radius, 0.0, 0.0, poses, self.colliders)

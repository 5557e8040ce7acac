"""Particles and liquids: emitters and fluid blocks simulated against the rigid world (numpy, and
numba-compiled loops in kernels.py)."""

from .simulate import simulate_particles, with_particles

__all__ = ["simulate_particles", "with_particles"]

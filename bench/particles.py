"""Particle speed: ms per frame for 100,000 ballistic particles with collisions and for 10,000
liquid particles, each with its substeps, against a plain numpy reference in the same run.

- ballistic: 100,000 particles (a burst) rain from a box onto a floor, a table-sized box, a ball
  and a cylinder; 24 fps at 240 Hz, so 10 substeps per frame, each with gravity, quadratic drag
  and collisions against every part.
- fluid: a 10,000-particle dam break (a 25 x 20 x 20 column of radius-5 mm particles) in a tank
  of four static walls, position-based fluids with 4 iterations and the default CFL substeps.
- reference: the same number of particles and substeps, stepped by the bare gravity update
  `x += v dt; v += g dt` in numpy (float64), the floor of what any numpy particle code costs.
- splats: drawing the 10,000 liquid particles of the fluid run's last frame into every pass at
  384 x 384 (conditioning/particles.py, with the liquid smoothing), against the rigid parts'
  layer of the same frame (ray casting, conditioning/rigid.py) in the same run.
The rigid world is simulated once by pybullet beforehand and not timed. The compiled kernels
(numba, sim/particles/kernels.py) are compiled, or loaded from numba's cache, by an untimed
one-frame warm-up run of each workload first, so no figure includes compilation. Each figure
is the best of --repeats runs (wall time, and process CPU time, steadier on a shared machine);
printed with the ratio to its reference.

Run: python bench/particles.py [--frames 24] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from physreel.sim.particles import simulate_particles
from physreel.sim.particles.fluid import FluidGroup
from physreel.sim.quiet import c_output_silenced
from physreel.sim.spec import scene_from_data

with c_output_silenced():
    from physreel.sim.simulate import simulate  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "bench_scene.yaml"  # pseudo path; nothing is read from it
FPS, PHYSICS_HZ = 24, 240


def ballistic_scene(frames: int) -> dict:
    return {
        "shot": {"duration": frames / FPS, "fps": FPS, "physics_hz": PHYSICS_HZ, "seed": 1},
        "camera": {"resolution": [64, 64]},
        "objects": [
            {"name": "floor", "shape": "plane"},
            {"name": "table", "shape": "box", "static": True, "size": [1.0, 0.6, 0.05], "position": [0, 0, 0.5]},
            {"name": "ball", "shape": "sphere", "static": True, "radius": 0.1, "position": [0.2, 0.0, 0.625]},
            {"name": "can", "shape": "cylinder", "static": True, "radius": 0.05, "length": 0.15, "position": [-0.2, 0.1, 0.6]},
        ],
        "emitters": [{"name": "grains", "burst": 100_000, "shape": "box", "size": [1.2, 0.8, 0.3], "position": [0, 0, 0.8],
                      "particle_radius": 0.003, "drag": 0.05, "restitution": 0.3, "friction": 0.4,
                      "velocity": {"direction": [0, 0, -1], "cone_deg": 20, "speed": [0.5, 2.0]}}],
    }


def fluid_scene(frames: int) -> dict:
    r, t = 0.005, 0.04
    length, width, height = 0.6, 0.2, 0.4
    walls = [
        ("left", [t, width + 2 * t, height], [-t / 2, width / 2, height / 2]),
        ("right", [t, width + 2 * t, height], [length + t / 2, width / 2, height / 2]),
        ("front", [length, t, height], [length / 2, -t / 2, height / 2]),
        ("back", [length, t, height], [length / 2, width + t / 2, height / 2]),
    ]
    return {
        "shot": {"duration": frames / FPS, "fps": FPS, "physics_hz": PHYSICS_HZ, "seed": 1},
        "camera": {"resolution": [64, 64], "position": [0.3, -0.75, 0.55], "look_at": [0.3, 0.1, 0.05]},
        "objects": [{"name": "floor", "shape": "plane"}]
        + [{"name": n, "shape": "box", "static": True, "size": s, "position": p} for n, s, p in walls],
        "fluid_blocks": [{"name": "water", "min": [0, 0, 0], "max": [0.25, 0.2, 0.2], "particle_radius": r}],
    }


def rigid_shot(data: dict):
    """The pybullet shot of the scene's objects, with the full (particle) scene attached."""
    full = scene_from_data(data, SOURCE)
    rigid_only = scene_from_data({k: v for k, v in data.items() if k not in ("emitters", "fluid_blocks")}, SOURCE)
    with c_output_silenced():
        shot = simulate(rigid_only)
    return replace(shot, scene=full)


def time_particles(shot, repeats: int) -> tuple[float, float, object, list[int]]:
    """Best wall time and best process CPU time of simulate_particles(shot) over `repeats`, with
    the track and the fluid substeps. On a shared machine the CPU time is the steadier figure
    (it excludes time the process waited for a core)."""
    best, best_cpu, track, substeps = float("inf"), float("inf"), None, []
    original_init = FluidGroup.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        substeps.append(self.substep_counts)

    FluidGroup.__init__ = recording_init
    try:
        for _ in range(repeats):
            substeps.clear()
            start, start_cpu = time.perf_counter(), time.process_time()
            track = simulate_particles(shot)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
    finally:
        FluidGroup.__init__ = original_init
    return best, best_cpu, track, (substeps[0] if substeps else [])


def time_reference(count: int, steps: int, repeats: int) -> float:
    """Best wall time of `steps` bare numpy gravity updates of `count` particles (float64)."""
    rng = np.random.default_rng(0)
    best = float("inf")
    g = np.array([0.0, 0.0, -9.81])
    dt = 1.0 / PHYSICS_HZ
    for _ in range(repeats):
        x, v = rng.random((count, 3)), rng.random((count, 3))
        start = time.perf_counter()
        for _ in range(steps):
            x += v * dt
            v += g * dt
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    frames = args.frames
    # Warm-up (untimed): compiles or loads every numba kernel either workload uses.
    for scene in (ballistic_scene(1), fluid_scene(1)):
        simulate_particles(rigid_shot(scene))

    shot = rigid_shot(ballistic_scene(frames))
    seconds, cpu, track, _ = time_particles(shot, args.repeats)
    count = track.position.shape[1]
    reference = time_reference(count, frames * PHYSICS_HZ // FPS, args.repeats)
    per_frame, ref_frame = 1000 * seconds / frames, 1000 * reference / frames
    print(f"ballistic: {count:,} particles, {PHYSICS_HZ // FPS} substeps/frame, 4 rigid parts: {per_frame:.1f} ms/frame "
          f"(goal <= 50; process CPU {1000 * cpu / frames:.1f}); bare numpy gravity step {ref_frame:.2f} ms/frame; "
          f"ratio {per_frame / ref_frame:.1f}")

    shot = rigid_shot(fluid_scene(frames))
    seconds, cpu, track, substeps = time_particles(shot, args.repeats)
    count = track.position.shape[1]
    reference = time_reference(count, int(sum(substeps)), args.repeats)
    per_frame, ref_frame = 1000 * seconds / frames, 1000 * reference / frames
    print(f"fluid: {count:,} particles, {np.mean(substeps):.1f} substeps/frame (CFL), 4 iterations, 5 rigid parts: "
          f"{per_frame:.1f} ms/frame (goal <= 150; process CPU {1000 * cpu / frames:.1f}), "
          f"{1000 * seconds / max(1, sum(substeps)):.1f} ms/substep; "
          f"bare numpy gravity step {ref_frame:.3f} ms/frame; ratio {per_frame / ref_frame:.0f}")

    particle_ms, rigid_ms, covered = time_layers(replace(shot, particles=track), args.repeats)
    print(f"splats: {int(track.alive[-1].sum()):,} particles ({covered:,} pixels) at 384x384, every pass: {particle_ms:.1f} ms/frame; "
          f"rigid parts' layer of the same frame {rigid_ms:.1f} ms; ratio {particle_ms / rigid_ms:.2f}")


def time_layers(shot, repeats: int) -> tuple[float, float, int]:
    """Best ms of the particle layer and of the rigid layer for the shot's last frame at 384 x 384."""
    from threadpoolctl import threadpool_limits

    from physreel.conditioning.particles import ParticleSource
    from physreel.conditioning.render import frame_view, scaled_camera
    from physreel.conditioning.rigid import RigidSource

    width, height, K = scaled_camera(shot, (384, 384))
    view = frame_view(shot, shot.num_frames - 1, width, height, K, True)
    particles, rigid = ParticleSource(shot), RigidSource(shot)
    best = [float("inf"), float("inf")]
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(repeats):
            for k, source in enumerate((particles, rigid)):
                start = time.perf_counter()
                source.layer(view)
                best[k] = min(best[k], time.perf_counter() - start)
    covered = int(np.isfinite(particles.layer(view).depth).sum())
    return 1000 * best[0], 1000 * best[1], covered


if __name__ == "__main__":
    main()

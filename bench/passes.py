"""Benchmark: all conditioning passes vs pybullet's own getCameraImage on the same scene.

A 20-body scene (boxes, spheres, capsules, cylinders on a textured floor) with pybullet_data's
humanoid, 512x512. Prints ms per frame for render_passes (depth, flow_fwd, flow_bwd, flow_valid,
seg, normal, pose, rgb preview with shadows) and, in the same run, for pybullet's
getCameraImage with ER_TINY_RENDERER (RGB, depth and segmentation) of the same world, and the
ratio. Then where a frame's time goes (the `--profile` stages of sim/timing.py inside
render_passes: placing the triangles, camera rays, hit decoding ("surfaces"), sky, shading, shadow rays,
flow_valid, the rest under "passes"; and, outside it, the control images and the encoding of
passes.npz, control PNGs and preview MP4s by write_passes), then how the passes' cost grows with
resolution and with triangle count.

The headline ratio is the median over --rounds interleaved rounds (each round times the passes,
then pybullet, once each over the whole shot), with the rounds' spread, so that load from other
jobs on a shared machine falls on both sides of the ratio alike.

    python bench/passes.py [--frames 12] [--size 512] [--rounds 5] [--no-scaling]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh

from physreel.conditioning.output import write_passes
from physreel.conditioning.render import render_passes
from physreel.sim import pybullet_camera
from physreel.sim.simulate import simulate
from physreel.sim.spec.load import scene_from_data
from physreel.sim.timing import StageTimes, recording, timed
from physreel.sim.world import build_world


def bench_scene(frames: int, size: int):
    shapes = ["box", "sphere", "capsule", "cylinder"]
    objects = [{"name": "floor", "shape": "plane", "texture": {"kind": "checker", "scale": 0.5}}]
    for i in range(20):
        shape = shapes[i % 4]
        obj = {"name": f"{shape}_{i}", "shape": shape, "position": [(i % 5) * 0.55 - 1.1, (i // 5) * 0.55 - 0.2, 0.5 + 0.1 * (i % 3)],
               "color": [0.3 + 0.03 * i, 0.5, 0.8 - 0.03 * i], "euler_deg": [10.0 * i, 5.0 * i, 0.0]}
        if i % 2 == 0:
            obj["texture"] = {"kind": ["checker", "stripes", "noise"][i % 3], "scale": 0.05}
        objects.append(obj)
    objects.append({"name": "figure", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.25,
                    "position": [1.6, 0.6, 1.0], "euler_deg": [90.0, 0.0, 0.0]})
    data = {
        "shot": {"duration": frames / 24.0, "fps": 24},
        "camera": {"resolution": [size, size], "fov_deg": 50.0, "position": [0.4, -4.2, 2.2], "look_at": [0.3, 0.4, 0.4]},
        "objects": objects,
    }
    return scene_from_data(data, Path(__file__).resolve())


class Clock:
    """CPU time of this process (all its threads) and wall time, in ms per frame.

    The benchmark machine is shared: CPU time measures our own work whatever the load; wall
    time is what a user waits on an idle machine. The ratio is taken on CPU time.
    """

    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu = (time.process_time() - self.cpu) * 1000.0
        self.wall = (time.perf_counter() - self.wall) * 1000.0


def time_passes(shot, resolution=None, repeats: int = 2, **options) -> tuple[float, float]:
    """(cpu, wall) ms per frame of render_passes (every pass unless `passes=` says), best of `repeats`."""
    best = (np.inf, np.inf)
    for _ in range(repeats):
        with Clock() as clock:
            render_passes(shot, resolution=resolution, **options)
        best = min(best, (clock.cpu / shot.num_frames, clock.wall / shot.num_frames))
    return best


def time_pybullet(scene, shot, size: int, repeats: int = 2) -> tuple[float, float]:
    """(cpu, wall) ms per frame of pybullet's TinyRenderer (RGB, depth, seg) through the shot's cameras,
    the world at its start state (the cost depends on the triangles drawn, not on the poses)."""
    K = shot.camera.K.copy()
    K[:2] *= size / shot.camera.width
    best = (np.inf, np.inf)
    with build_world(scene) as world:
        for _ in range(repeats):
            with Clock() as clock:
                for frame in range(shot.num_frames):
                    pybullet_camera.render(world.client, K, shot.camera.world_to_camera[frame], size, size)
            best = min(best, (clock.cpu / shot.num_frames, clock.wall / shot.num_frames))
    return best


def breakdown(shot, repeats: int = 2) -> StageTimes:
    """The stages of render_passes (all passes) and of write_passes, from the run with the lower total CPU."""
    best = None
    for _ in range(repeats):
        times = StageTimes()
        with recording(times), tempfile.TemporaryDirectory() as out:
            with timed("passes"):
                passes = render_passes(shot)
            with timed("encoding"):
                write_passes(out, shot, passes)
            times.stop()
        if best is None or times.total()[1] < best.total()[1]:
            best = times
    return best


def print_breakdown(times: StageTimes, frames: int) -> None:
    rows = times.rows()
    print(f"\nwhere a frame goes (CPU and wall ms per frame, {frames} frames, the run of 2 with the lower CPU total):")
    for row in rows:
        print(f"  {row.stage:22s} {1000 * row.cpu_s / frames:8.1f} {1000 * row.wall_s / frames:8.1f}")
    wall, cpu = times.total()
    print(f"  {'total':22s} {1000 * cpu / frames:8.1f} {1000 * wall / frames:8.1f}")


def subdivided(shot, times: int):
    """The shot with every visual mesh subdivided `times` times (4x the triangles each time)."""
    parts = []
    for part in shot.parts:
        meshes = []
        for mesh in part.meshes:
            vertices, faces = mesh.vertices, mesh.faces
            for _ in range(times):
                vertices, faces = trimesh.remesh.subdivide(vertices, faces)
            meshes.append(dataclasses.replace(mesh, vertices=np.asarray(vertices, np.float32), faces=np.asarray(faces, np.int32)))
        parts.append(dataclasses.replace(part, meshes=tuple(meshes)))
    return dataclasses.replace(shot, parts=tuple(parts))


def triangles(shot) -> int:
    return sum(len(m.faces) for part in shot.parts for m in part.meshes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the headline ratio (median reported)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the resolution and triangle-count sweeps")
    args = parser.parse_args()

    scene = bench_scene(args.frames, args.size)
    shot = simulate(scene)
    render_passes(shot, passes=["depth"], resolution=(64, 64))  # warm up imports and compiled loops
    rounds = [(time_passes(shot, repeats=1), time_pybullet(scene, shot, args.size, repeats=1)) for _ in range(args.rounds)]
    ratios = [passes[0] / pybullet[0] for passes, pybullet in rounds]
    passes_cpu = statistics.median(passes[0] for passes, _ in rounds)
    passes_wall = statistics.median(passes[1] for passes, _ in rounds)
    pybullet_cpu = statistics.median(pybullet[0] for _, pybullet in rounds)
    pybullet_wall = statistics.median(pybullet[1] for _, pybullet in rounds)
    wall_ratio = statistics.median(passes[1] / pybullet[1] for passes, pybullet in rounds)
    print(f"scene: {len(shot.parts)} parts, {triangles(shot)} triangles, {args.size}x{args.size}, {shot.num_frames} frames")
    print(f"ms per frame, medians of {args.rounds} interleaved rounds                CPU      wall")
    print(f"all passes (depth, flow_fwd/bwd, flow_valid, seg, normal,   {passes_cpu:8.1f}  {passes_wall:8.1f}")
    print("            pose, rgb preview with shadow rays)")
    print(f"pybullet getCameraImage ER_TINY_RENDERER (rgb, depth, seg) {pybullet_cpu:8.1f}  {pybullet_wall:8.1f}")
    print(f"ratio passes / pybullet (CPU time): median {statistics.median(ratios):.2f}, rounds {min(ratios):.2f} - {max(ratios):.2f} "
          f"(wall: median {wall_ratio:.2f}; goal <= 0.5)")
    core = ["depth", "flow_fwd", "flow_bwd", "flow_valid", "seg", "normal", "pose"]
    core_cpu, _ = time_passes(shot, passes=core)
    no_shadow_cpu, _ = time_passes(shot, shadows=False)
    print(f"without shadow rays: {no_shadow_cpu:.1f} (ratio {no_shadow_cpu / pybullet_cpu:.2f}); "
          f"without the RGB preview: {core_cpu:.1f} (ratio {core_cpu / pybullet_cpu:.2f})")
    print_breakdown(breakdown(shot), shot.num_frames)
    if args.no_scaling:
        return
    print("\nresolution sweep (CPU ms per frame, best of 2 as above):")
    for size in (256, 512, 1024):
        ms, _ = time_passes(shot, resolution=(size, size))
        pb, _ = time_pybullet(scene, shot, size)
        print(f"  {size:5d}x{size:<5d} passes {ms:8.1f}   pybullet {pb:8.1f}   ratio {ms / pb:.2f}   passes per megapixel {ms / (size * size / 1e6):7.1f}")
    print("\ntriangle sweep at the bench size (passes only, CPU ms per frame, best of 2):")
    for times in (0, 1, 2):
        dense = subdivided(shot, times)
        ms, _ = time_passes(dense)
        print(f"  {triangles(dense):8d} triangles: {ms:8.1f}")


if __name__ == "__main__":
    main()

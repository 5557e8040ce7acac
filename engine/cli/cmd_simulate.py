"""`physreel simulate SCENE -o OUT`: simulate a scene and write OUT/trajectory.npz and OUT/meta.json."""

from __future__ import annotations

import time

from physreel.sim.files import output_folder
from physreel.sim.output import write_shot
from physreel.sim.simulate import simulate
from physreel.sim.spec import load_scene

from .args import add_scene_and_out, out_folder


def add_parser(subparsers):
    p = subparsers.add_parser(
        "simulate",
        help="simulate a scene with pybullet and write trajectory.npz and meta.json",
        description="Validate SCENE, simulate its rigid and articulated bodies with pybullet (DIRECT mode, "
        "fixed time step 1/physics_hz) and write OUT/trajectory.npz (pose and velocity of every part at every "
        "frame, contact onsets) and OUT/meta.json (versions, resolved spec and hash, camera, id table, engine "
        "parameters, seeds). Exit status 3 if the simulation goes unstable; nothing is written then.",
    )
    add_scene_and_out(p)
    return p


def run(args) -> int:
    out = out_folder(args.out)
    # 1. Validate and simulate in memory: a bad spec or an unstable run writes nothing.
    scene = load_scene(args.scene)
    started = time.perf_counter()
    shot = simulate(scene, progress=not args.quiet)
    elapsed = time.perf_counter() - started
    # 2. Write; each file appears complete or not at all, and a folder we made is removed on failure.
    with output_folder(out):
        write_shot(out, shot)
    if not args.quiet:
        spec = scene.spec.shot
        print(
            f"{out}: {shot.num_frames} frames ({spec.duration:g} s at {spec.fps} fps, {spec.physics_hz} Hz physics), "
            f"{len(shot.parts)} parts, {len(shot.contacts.t)} contact onsets; simulated in {elapsed:.2f} s"
        )
    return 0

"""`physreel simulate SCENE -o OUT`: simulate a scene and write OUT/trajectory.npz and OUT/meta.json."""

from __future__ import annotations

from physreel.sim.spec import load_scene

from ..stage_files import simulate_files
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
    # Validate, then simulate in memory and write (engine.stage_files): a bad spec or an unstable
    # run writes nothing; each file appears complete or not at all.
    scene = load_scene(args.scene)
    shot, seconds = simulate_files(scene, out, bars=not args.quiet)
    if not args.quiet:
        spec = scene.spec.shot
        print(
            f"{out}: {shot.num_frames} frames ({spec.duration:g} s at {spec.fps} fps, {spec.physics_hz} Hz physics), "
            f"{len(shot.parts)} parts, {len(shot.contacts.t)} contact onsets; simulated in {seconds['simulate']:.2f} s"
        )
    return 0

"""`physreel validate SCENE`: check a scene file and print its resolved summary."""

from __future__ import annotations

import json

from physreel.sim.spec import load_scene
from physreel.sim.spec.model import expanded_names


def add_parser(subparsers):
    p = subparsers.add_parser(
        "validate",
        help="check a scene file (exit 2 with file:line:col: field: problem on bad input)",
        description="Validate a scene YAML: types, ranges, unknown keys, referenced files and resource limits.",
    )
    p.add_argument("scene", help="scene YAML file")
    p.add_argument("--print-resolved", action="store_true", help="print the resolved spec (all defaults filled in) as JSON")
    return p


def run(args) -> int:
    scene = load_scene(args.scene)
    if args.print_resolved:
        print(json.dumps(scene.resolved_dict(), indent=2))
    elif not args.quiet:
        spec = scene.spec
        w, h = spec.camera.resolution
        print(
            f"{args.scene}: ok: {len(expanded_names(spec))} bodies, {spec.shot.num_frames} frames at {spec.shot.fps} fps "
            f"({spec.shot.physics_hz} Hz physics), {w}x{h}, camera {spec.camera.path_kind}"
        )
    return 0

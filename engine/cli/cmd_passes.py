"""`physreel passes SCENE -o OUT`: simulate a scene and render its conditioning passes and control images."""

from __future__ import annotations

from physreel.conditioning.records import PASS_NAMES
from physreel.sim.spec import load_scene

from ..stage_files import PassesOptions, passes_files
from . import UsageError
from .args import add_profile_flag, add_scene_and_out, check_pass_size, out_folder, parse_resolution, profiled


def add_parser(subparsers):
    p = subparsers.add_parser(
        "passes",
        help="simulate a scene and render depth/flow/seg/normal/pose passes and ControlNet control images",
        description="Validate and simulate SCENE (as `physreel simulate`), then render its conditioning passes at "
        "pixel centres by ray casting the simulated geometry: depth (planar, m), flow_fwd/flow_bwd (exact motion "
        "vectors, px), flow_valid, seg (instance ids), normal (camera axes), pose (OpenPose COCO-18) and an RGB "
        "preview. Writes OUT/trajectory.npz, OUT/meta.json, OUT/passes.npz, OUT/control/<kind>/%05d.png and "
        "OUT/preview/*.mp4 (see docs/passes.md for every convention).",
    )
    add_scene_and_out(p)
    p.add_argument("--passes", default=None,
                   help="comma-separated subset of depth,flow_fwd,flow_bwd,flow_valid,seg,normal,pose,rgb (default: all)")
    p.add_argument("--resolution", default=None, metavar="WxH",
                   help="render at this size instead of camera.resolution (intrinsics scaled like an image resize)")
    p.add_argument("--flow-scope", choices=("shot", "frame"), default="shot",
                   help="normalise the flow colour wheel by the largest flow of the whole shot (default) or of each frame")
    p.add_argument("--no-shadows", action="store_true", help="no shadow rays in the RGB preview (faster)")
    p.add_argument("--no-previews", action="store_true", help="skip the preview MP4s")
    add_profile_flag(p)
    return p


def parse_passes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PASS_NAMES]
    if unknown or not names:
        raise UsageError(f"--passes {text!r}: unknown {', '.join(unknown) or 'empty list'}; choose from {','.join(PASS_NAMES)}")
    return names


def run(args) -> int:
    # 1. Check the arguments before any work.
    out = out_folder(args.out)
    resolution = parse_resolution(args.resolution)
    names = parse_passes(args.passes)
    # 2. Validate, then simulate and render in memory and write (engine.stage_files): a bad spec
    #    or an unstable run writes nothing; each file appears complete or not at all.
    with profiled(args, out):
        scene = load_scene(args.scene)
        check_pass_size(scene, resolution)
        options = PassesOptions(names=None if names is None else tuple(names), resolution=resolution,
                                flow_scope=args.flow_scope, shadows=not args.no_shadows, previews=not args.no_previews)
        done = passes_files(scene, out, options, bars=not args.quiet)
    if not args.quiet:
        passes, controls = done.passes, done.controls
        width, height = passes.size
        rendered_names = [n for n in ("depth", "flow_fwd", "flow_bwd", "flow_valid", "seg", "normal", "pose", "rgb") if getattr(passes, n) is not None]
        print(f"{out}: {passes.num_frames} frames at {width}x{height}: {', '.join(rendered_names)}; controls {', '.join(controls) or 'none'}; "
              f"simulated in {done.seconds['simulate'] + done.seconds.get('particles', 0.0):.2f} s, rendered in {done.seconds['passes']:.2f} s "
              f"({1000 * done.seconds['passes'] / max(passes.num_frames, 1):.0f} ms/frame)")
    return 0

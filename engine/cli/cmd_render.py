"""`physreel render SCENE -o OUT`: simulate, render the passes, generate guided (or unguided) video."""

from __future__ import annotations

from ..errors import BackendError
from ..pipeline import Pipeline
from ..settings import OverrideError
from ..stage_files import render_meta, write_outputs
from . import UsageError
from .args import (add_backend_flags, add_generation_flags, add_profile_flag, add_scene_and_out, generate_overrides, out_folder,
                   profiled)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "render",
        help="simulate a scene, render its passes and generate video guided by them (or --unguided)",
        description="Simulate SCENE, render its passes and generate a video with a diffusion backend: guided by "
        "the control images of generate.controls and with the initial noise warped along the simulated flow, or "
        "with --unguided from the same prompt, seed and model without either. Writes OUT/video/guided.mp4 (or "
        "unguided.mp4), the frames as OUT/video/guided/%05d.png, OUT/trajectory.npz, and OUT/meta.json with a "
        "`generate` section holding model ids and weight hashes, settings and seeds. Settings come from the "
        "spec's generate: section; each flag given overrides its field. Weights are read from --model or the "
        "local Hugging Face cache, never downloaded (`physreel models` lists what is found).",
    )
    add_scene_and_out(p)
    add_backend_flags(p)
    p.add_argument("--unguided", action="store_true", help="no controls and independent noise: the base model on its own")
    add_generation_flags(p)
    add_profile_flag(p)
    return p


def run(args) -> int:
    out = out_folder(args.out)
    if args.unguided and (args.noise_warp or args.control_scale is not None):
        raise UsageError("--noise-warp and --control-scale apply to guided runs; drop them or --unguided")
    label = "unguided" if args.unguided else "guided"
    pipeline = Pipeline(bars=not args.quiet)
    with profiled(args, out):
        try:
            result = pipeline(args.scene, overrides=generate_overrides(args), runs=(label,))
        except (BackendError, OverrideError) as exc:
            raise UsageError(str(exc)) from None
        take = result.takes[0]
        write_outputs(out, result.shot, take, render_meta(result, take))
    if not args.quiet:
        for note in result.notes:
            print(f"note: {note}")
        height, width = take.frames.shape[1:3]
        print(f"{out / 'video' / (label + '.mp4')}: {len(take.frames)} frames {width}x{height} at {take.fps} fps "
              f"({result.plan.generate.backend}, {take.request.steps} steps, seed {take.seed}); "
              f"generated in {result.seconds[f'generate {label} seed {take.seed}']:.1f} s")
    return 0


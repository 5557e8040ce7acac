"""`physreel compare SCENE -o OUT`: guided vs unguided video, physics-adherence metrics, HTML report."""

from __future__ import annotations

from pathlib import Path

from ..compare import CompareInputError, CompareSettings, run_compare
from ..errors import BackendError
from ..settings import OverrideError
from . import UsageError
from .args import (add_backend_flags, add_image_flag, add_profile_flag, add_scene_and_out, check_overrides, out_folder,
                   parse_image, parse_seeds, profiled)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="generate guided and unguided video, measure how well each follows the simulated physics, write a report",
        description="Simulate SCENE, render its passes, generate guided and unguided video with the same prompt and "
        "seeds, score both (and the simulation's own RGB preview as the reference) with physics-adherence metrics, "
        "and write video/compare.mp4, metrics.json and report.html under OUT. With --video, score a video made "
        "elsewhere against the shot instead of generating.",
    )
    add_scene_and_out(p)
    add_backend_flags(p)
    add_image_flag(p)
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (default: generate.seed, else shot.seed)")
    p.add_argument("--video", help="score this MP4 or folder of PNG frames instead of generating")
    p.add_argument("--resample-frames", action="store_true",
                   help="with --video: resample a video of another frame count to the shot's by nearest time")
    p.add_argument("--depth-model", help="local folder with MiDaS dpt_hybrid-midas-501f0c75.pt for the depth metric "
                   "(never downloaded; skipped without it)")
    add_profile_flag(p)
    return p


def run(args) -> int:
    out = out_folder(args.out)
    if args.video is not None and (args.seeds or args.backend or args.steps is not None or args.model or args.image):
        raise UsageError("--video scores an existing video; --seeds, --backend, --model, --steps and --image apply only "
                         "when generating")
    if args.resample_frames and args.video is None:
        raise UsageError("--resample-frames applies to --video only")
    settings = CompareSettings(
        backend=args.backend,
        seeds=parse_seeds(args.seeds),
        steps=args.steps,
        video=None if args.video is None else Path(args.video),
        resample_frames=args.resample_frames,
        depth_model=None if args.depth_model is None else Path(args.depth_model),
        model=args.model,
        image=parse_image(args.image, args.scene),
        quiet=args.quiet,
    )
    check_overrides(settings.overrides())
    try:
        with profiled(args, out):
            run_compare(args.scene, out, settings)
    except (CompareInputError, BackendError, OverrideError) as exc:
        raise UsageError(str(exc)) from None
    return 0

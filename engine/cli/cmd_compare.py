"""`physreel compare SCENE -o OUT`: guided vs unguided video, physics-adherence metrics, HTML report."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="generate guided and unguided video, measure how well each follows the simulated physics, write a report",
        description="Simulate SCENE, render its passes, generate guided and unguided video with the same prompt and "
        "seeds, score both (and the simulation's own RGB preview as the reference) with physics-adherence metrics, "
        "and write video/compare.mp4, metrics.json and report.html under OUT. With --video, score a video made "
        "elsewhere against the shot instead of generating.",
    )
    p.add_argument("scene", help="scene YAML file")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--backend", help="generation backend (default: the spec's generate.backend)")
    p.add_argument("--model", help="local weights folder of the backend (default: the spec's generate.model)")
    p.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (default: the spec's seed)")
    p.add_argument("--steps", type=int, help="denoising steps (default: the spec's generate.steps)")
    p.add_argument("--video", help="score this MP4 or folder of PNG frames instead of generating")
    p.add_argument("--resample-frames", action="store_true",
                   help="with --video: resample a video of another frame count to the shot's by nearest time")
    p.add_argument("--depth-model", help="local folder with MiDaS dpt_hybrid-midas-501f0c75.pt for the depth metric "
                   "(never downloaded; skipped without it)")
    return p


def run(args) -> int:
    from physreel.engine.backends.base import BackendError
    from physreel.engine.cli import UsageError
    from physreel.engine.compare import CompareInputError, CompareSettings, run_compare

    if args.video is not None and (args.seeds or args.backend or args.steps is not None or args.model):
        raise UsageError("--video scores an existing video; --seeds, --backend, --model and --steps apply only when generating")
    if args.resample_frames and args.video is None:
        raise UsageError("--resample-frames applies to --video only")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    settings = CompareSettings(
        backend=args.backend,
        seeds=_parse_seeds(args.seeds, UsageError),
        steps=args.steps,
        video=None if args.video is None else Path(args.video),
        resample_frames=args.resample_frames,
        depth_model=None if args.depth_model is None else Path(args.depth_model),
        model=args.model,
        quiet=args.quiet,
    )
    try:
        run_compare(args.scene, args.out, settings)
    except (CompareInputError, BackendError) as exc:
        raise UsageError(str(exc)) from None
    return 0


def _parse_seeds(text: str | None, error) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise error(f"--seeds takes comma-separated integers like 0,1,2, got {text!r}") from None
    if any(s < 0 or s >= 2**31 for s in seeds):
        raise error(f"--seeds must be in 0 .. 2^31-1, got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise error(f"--seeds repeats a seed: {text!r}")
    return seeds

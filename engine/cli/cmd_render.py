"""`physreel render SCENE -o OUT`: simulate, render the passes, generate guided (or unguided) video."""

from __future__ import annotations

import dataclasses

import argparse
import json
import shutil
import time
from pathlib import Path


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
    p.add_argument("scene", help="scene YAML file")
    p.add_argument("-o", "--out", required=True, help="output folder (created if missing)")
    p.add_argument("--backend", help="builtin, animatediff or wan-vace (default: generate.backend)")
    p.add_argument("--model", help="local folder of the backend's weights (default: generate.model, else the HF cache)")
    p.add_argument("--unguided", action="store_true", help="no controls and independent noise: the base model on its own")
    p.add_argument("--steps", type=int, help="denoising steps (default: generate.steps)")
    p.add_argument("--guidance-scale", type=float, help="classifier-free guidance on the prompt (default: generate.guidance_scale, else the backend's: builtin 1.0, others 7.5)")
    p.add_argument("--control-scale", type=float, help="replace every control's scale (0 switches the controls off)")
    p.add_argument("--seed", type=int, help="generation seed (default: generate.seed, else shot.seed)")
    p.add_argument("--noise-warp", action=argparse.BooleanOptionalAction, default=None,
                   help="warp the initial noise along the simulated flow (guided runs; default: generate.noise_warp)")
    p.add_argument("--resolution", help="WIDTHxHEIGHT of the video (default: generate.resolution, else the "
                   "backend's native size at the shot's aspect ratio)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="default: generate.device (auto: cuda, mps, cpu)")
    p.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"),
                   help="default: generate.dtype (auto: float16 on cuda, float32 elsewhere)")
    p.add_argument("--cpu-offload", action=argparse.BooleanOptionalAction, default=None,
                   help="keep weights on the CPU, moving each model to the GPU while it runs (default: generate.cpu_offload)")
    p.add_argument("--vae-tiling", action=argparse.BooleanOptionalAction, default=None,
                   help="decode latents in tiles to save GPU memory (default: generate.vae_tiling)")
    return p


def overrides_from_args(args):
    """The Overrides the flags give; UsageError for values out of range."""
    from physreel.engine.cli import UsageError
    from physreel.engine.request import Overrides

    if args.steps is not None and not 1 <= args.steps <= 1000:
        raise UsageError(f"--steps must be in 1..1000, got {args.steps}")
    if args.seed is not None and not 0 <= args.seed < 2**31:
        raise UsageError(f"--seed must be in 0..2^31-1, got {args.seed}")
    if args.guidance_scale is not None and not 0 <= args.guidance_scale <= 50:
        raise UsageError(f"--guidance-scale must be in 0..50, got {args.guidance_scale}")
    if args.control_scale is not None and not 0 <= args.control_scale:
        raise UsageError(f"--control-scale must be >= 0, got {args.control_scale}")
    if args.unguided and (args.noise_warp or args.control_scale is not None):
        raise UsageError("--noise-warp and --control-scale apply to guided runs; drop them or --unguided")
    return Overrides(
        backend=args.backend,
        model=args.model,
        steps=args.steps,
        guidance_scale=args.guidance_scale,
        seed=args.seed,
        noise_warp=args.noise_warp,
        resolution=_parse_resolution(args.resolution, UsageError),
        dtype=args.dtype,
        device=args.device,
        cpu_offload=args.cpu_offload,
        vae_tiling=args.vae_tiling,
        control_scale=args.control_scale,
    )


def _parse_resolution(text: str | None, error):
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise error(f"--resolution takes WIDTHxHEIGHT like 512x512, got {text!r}") from None
    if not (8 <= width <= 4096 and 8 <= height <= 4096):
        raise error(f"--resolution sides must be in 8..4096, got {text!r}")
    return width, height


def run(args) -> int:
    from physreel.engine.backends import BackendError
    from physreel.engine.cli import UsageError

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {args.out} is a file; give a folder")
    try:
        render(args.scene, out, overrides_from_args(args), guided=not args.unguided, quiet=args.quiet)
    except BackendError as exc:
        raise UsageError(str(exc)) from None
    return 0


def render(scene_path: str, out: Path, overrides, *, guided: bool, quiet: bool = False) -> dict:
    """simulate -> passes -> request -> generate -> files. Returns the run's `generate` meta."""
    from physreel.conditioning.render import render_passes
    from physreel.engine.backends import get_backend
    from physreel.engine.request import build_request, generation_shape, resolve_settings, spec_model_dir
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import load_scene

    label = "guided" if guided else "unguided"
    say = (lambda *a: None) if quiet else print
    # 1. validate the spec and settings, and check the models, before any work
    scene = load_scene(scene_path)
    if overrides.model is None:
        overrides = dataclasses.replace(overrides, model=spec_model_dir(scene))
    settings = resolve_settings(scene.spec, overrides)
    backend = get_backend(settings.backend, settings.model)
    backend.preflight(tuple(c[0] for c in settings.controls) if guided else ())
    # 2. simulate and render the passes (in memory) at the size the video will have, so the
    # controls and the flow are exact there rather than resampled
    started = time.perf_counter()
    shot = simulate(scene, progress=not quiet)
    plan = generation_shape(settings, backend, shot.num_frames, tuple(scene.spec.camera.resolution))
    passes = render_passes(shot, resolution=(plan.width, plan.height), progress=not quiet)
    stage_s = {"simulate_and_passes": time.perf_counter() - started}
    # 3. the request
    started = time.perf_counter()
    request = build_request(scene.spec, passes, backend, guided=guided, overrides=overrides)
    stage_s["request"] = time.perf_counter() - started
    for note in request.adjustments:
        say(f"note: {note}")
    # 4. generate
    started = time.perf_counter()
    video = backend.generate(request, progress=not quiet)
    stage_s["generate"] = time.perf_counter() - started
    # 5. write
    meta = dict(video.meta, label=label, seconds={k: round(v, 3) for k, v in stage_s.items()})
    write_outputs(out, shot, label, video, meta)
    say(
        f"{out / 'video' / (label + '.mp4')}: {len(video.frames)} frames {video.frames.shape[2]}x{video.frames.shape[1]} "
        f"at {video.fps} fps ({settings.backend}, {request.steps} steps, seed {request.seed}); "
        f"generated in {stage_s['generate']:.1f} s"
    )
    return meta


def write_outputs(out: Path, shot, label: str, video, meta: dict) -> None:
    """OUT/trajectory.npz + meta.json (the shot), video/<label>.mp4, video/<label>/%05d.png, meta `generate.<label>`.

    The `generate` section keeps the other label's entry from an earlier run into the same OUT.
    A folder this call created is removed again if writing fails.
    """
    from physreel.conditioning.video import write_mp4, write_png_sequence
    from physreel.sim.files import update_json
    from physreel.sim.output import write_shot

    created = not out.exists()
    meta_path = out / "meta.json"
    previous = json.loads(meta_path.read_text()).get("generate", {}) if meta_path.is_file() else {}
    try:
        write_shot(out, shot)
        write_mp4(out / "video" / f"{label}.mp4", video.frames, video.fps)
        write_png_sequence(out / "video" / label, video.frames)
        update_json(meta_path, {"generate": {**previous, label: meta}})
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise

"""Command-line arguments shared by several commands, parsed and checked in one place.

Generation flags are overrides of the spec's `generate:` fields (engine.settings), checked by
the spec's own model, so a flag and its YAML field share their ranges. `--image` is a path as the
shell gives it (relative to the current directory), turned into `generate.image`'s form (relative
to the scene's folder, which the picture must lie in) and checked as that field is.
"""

from __future__ import annotations

import argparse
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pydantic import TypeAdapter, ValidationError

from physreel.sim.files import output_folder_problem, update_json
from physreel.sim.spec import Scene
from physreel.sim.spec.image_file import resolve_start_image
from physreel.sim.spec.model import GenerateSpec, frame_pixels_problem
from physreel.sim.spec.types import BACKEND_NAMES, DEVICES, DTYPES, Resolution
from physreel.sim.timing import StageTimes, recording

from ..settings import OverrideError, apply_overrides
from . import UsageError

GENERATE_FLAGS = {
    "backend": "--backend",
    "model": "--model",
    "steps": "--steps",
    "guidance_scale": "--guidance-scale",
    "seed": "--seed",
    "noise_warp": "--noise-warp",
    "resolution": "--resolution",
    "dtype": "--dtype",
    "device": "--device",
    "cpu_offload": "--cpu-offload",
    "vae_tiling": "--vae-tiling",
    "controls.*.scale": "--control-scale",
    "image": "--image",
}
"""Override path under `generate` -> the flag that sets it."""

_RESOLUTION = TypeAdapter(Resolution)


def add_scene_and_out(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", help="scene YAML file")
    p.add_argument("-o", "--out", required=True, help="output folder (created if missing)")


def add_backend_flags(p: argparse.ArgumentParser) -> None:
    """--backend, --model and --steps: what every generating command takes."""
    p.add_argument("--backend", help=f"{', '.join(BACKEND_NAMES)} (default: generate.backend)")
    p.add_argument("--model", help="local folder of the backend's weights (default: generate.model, else the "
                   "builtin weights or the local Hugging Face cache; never downloaded)")
    p.add_argument("--steps", type=int, help="denoising steps (default: generate.steps)")


def add_profile_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", action="store_true",
                   help="print the wall and CPU time of each stage (load, simulate, particles, passes, control images, "
                   "model load, generation per video, metrics, report, encoding) and write them to OUT/meta.json "
                   "under `profile` (docs/conventions.md)")


@contextmanager
def profiled(args: argparse.Namespace, out: Path) -> Iterator[None]:
    """With --profile: record the stages of the block (sim.timing), then print their table on stdout
    and write it to OUT/meta.json's `profile` section. Nothing is printed or written when the block
    fails, and nothing at all without the flag (the outputs stay byte for byte the same).

    When this process is the command (`main` read sys.argv), the recording starts with the process,
    its first row `start-up` (interpreter, imports, argument parsing); called in-process with
    arguments (tests, scripts), it starts with the block."""
    if not args.profile:
        yield
        return
    times = StageTimes.from_process_start() if getattr(args, "process_is_command", False) else StageTimes()
    with recording(times):
        yield
        times.stop()
        print(times.table())
        update_json(out / "meta.json", {"profile": times.to_json()})


def add_image_flag(p: argparse.ArgumentParser) -> None:
    """--image: the start image (`physreel render` and `physreel compare`)."""
    p.add_argument("--image", metavar="PATH", help="start the video from this picture (PNG, JPEG, WebP or BMP; default: "
                   "generate.image); a path from the current directory to a file inside the scene's folder, which "
                   "it must lie in as generate.image must (docs/engine.md, 'Start image')")


def add_generation_flags(p: argparse.ArgumentParser) -> None:
    """The remaining generate: fields as flags (`physreel render`)."""
    add_image_flag(p)
    p.add_argument("--guidance-scale", type=float, help="classifier-free guidance on the prompt (default: "
                   "generate.guidance_scale, else the backend's: builtin 1.0, others 7.5)")
    p.add_argument("--control-scale", type=float, help="replace every control's scale (0 switches the controls off)")
    p.add_argument("--seed", type=int, help="generation seed (default: generate.seed, else shot.seed)")
    p.add_argument("--noise-warp", action=argparse.BooleanOptionalAction, default=None,
                   help="warp the initial noise along the simulated flow (guided runs; default: generate.noise_warp)")
    p.add_argument("--resolution", metavar="WxH", help="WIDTHxHEIGHT of the video (default: generate.resolution, "
                   "else the backend's native size at the shot's aspect ratio)")
    p.add_argument("--device", choices=DEVICES, help="default: generate.device (auto: cuda, mps, cpu)")
    p.add_argument("--dtype", choices=DTYPES, help="default: generate.dtype (auto: float16 on cuda, float32 elsewhere)")
    p.add_argument("--cpu-offload", action=argparse.BooleanOptionalAction, default=None,
                   help="keep weights on the CPU, moving each model to the GPU while it runs (default: generate.cpu_offload)")
    p.add_argument("--vae-tiling", action=argparse.BooleanOptionalAction, default=None,
                   help="decode latents in tiles to save GPU memory (default: generate.vae_tiling)")


def out_folder(text: str) -> Path:
    """The -o folder, checked before any work (sim.files.output_folder_problem: a folder that can
    be made and written, an earlier stage's meta.json readable); UsageError otherwise."""
    problem = output_folder_problem(text)
    if problem is not None:
        raise UsageError(f"-o {text}: {problem}")
    return Path(text)


def check_pass_size(scene: Scene, resolution: tuple[int, int] | None, flag: str = "--resolution") -> None:
    """UsageError if the scene's frames at `resolution` (a flag's) are too many pixel-frames for the passes."""
    problem = None if resolution is None else frame_pixels_problem(scene.spec.shot.num_frames, resolution)
    if problem is not None:
        raise UsageError(f"{flag} {resolution[0]}x{resolution[1]}: {problem}; give a smaller size")


def parse_resolution(text: str | None, flag: str = "--resolution") -> tuple[int, int] | None:
    """'640x360' -> (640, 360), each side in the spec's range (sim.spec.types.Resolution)."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise UsageError(f"{flag} {text!r} is not WIDTHxHEIGHT; e.g. {flag} 512x512")
    try:
        return _RESOLUTION.validate_python((int(match.group(1)), int(match.group(2))))
    except ValidationError as exc:
        raise UsageError(f"{flag} {text} is out of range: {_first_message(exc)}") from None


def parse_seeds(text: str | None) -> tuple[int, ...] | None:
    """'0,1,2' -> (0, 1, 2): distinct seeds in the spec's seed range."""
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise UsageError(f"--seeds takes comma-separated integers like 0,1,2, got {text!r}") from None
    if len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds repeats a seed: {text!r}")
    for seed in seeds:
        check_overrides({"seed": seed}, flags={"seed": "--seeds"})
    return seeds


def generate_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The overrides the generation flags give (None = not given), checked like the spec's fields."""
    overrides = {path: getattr(args, flag[2:].replace("-", "_"), None) for path, flag in GENERATE_FLAGS.items()}
    overrides["resolution"] = parse_resolution(overrides["resolution"])
    overrides["image"] = parse_image(overrides["image"], args.scene)
    check_overrides(overrides)
    return overrides


def parse_image(text: str | None, scene: str | Path, flag: str = "--image") -> str | None:
    """--image PATH as the `generate.image` override: the same file as a path relative to the
    scene's folder (the form a scene's own field takes, engine.settings.resolve_generate).

    PATH is read from the current directory, as the shell completed it. The rule is the field's
    (sim/spec/image_file.py): the file, links followed, lies inside the scene's folder (a run's
    inputs stay beside its scene, so the folder can be moved or shared whole) and is one still
    image Pillow decodes. UsageError naming the flag, PATH as typed and the fix otherwise."""
    if text is None:
        return None
    scene_dir = Path(scene).parent.resolve()
    if "\x00" in text or not text.strip():
        raise UsageError(f"{flag} {text!r}: not a file name; give the picture's path")
    try:
        path = Path(text).resolve()  # links followed, as the field's check follows them
        found = path.is_file()
    except (OSError, RuntimeError) as exc:  # a name too long, a loop of links
        raise UsageError(f"{flag} {text}: cannot be looked up ({getattr(exc, 'strerror', None) or exc}); give the "
                         f"picture's path") from None
    if not found:
        what = "is a folder" if path.is_dir() else "does not exist"
        raise UsageError(f"{flag} {text}: {what} (the path is read from the current directory, {Path.cwd()}); give "
                         f"the picture's path")
    if not path.is_relative_to(scene_dir):
        raise UsageError(f"{flag} {text}: the start image must lie inside the scene's folder {scene_dir}, as "
                         f"generate.image must (a run's files stay beside its scene); copy it into that folder")
    relative = path.relative_to(scene_dir).as_posix()
    try:
        resolve_start_image(relative, scene_dir)
    except ValueError as exc:
        raise UsageError(f"{flag} {text}: {exc}") from None
    return relative


def check_overrides(overrides: dict[str, Any], flags: dict[str, str] = GENERATE_FLAGS) -> None:
    """UsageError, naming the flag, if an override is not a valid value of its generate field."""
    try:
        apply_overrides(GenerateSpec(), overrides)
    except OverrideError as exc:
        flag = flags.get(exc.path, exc.path)
        raise UsageError(f"{flag} {overrides[exc.path]}: {exc.problem} (as generate.{exc.path} in a scene)") from None


def _first_message(exc: ValidationError) -> str:
    message = exc.errors()[0]["msg"]
    return message[0].lower() + message[1:]

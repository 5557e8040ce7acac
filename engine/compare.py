"""`physreel compare`: does the physics guidance make the motion right, and how much?

The procedure (`run_compare`), as numbered steps:
1. check the inputs (scene, seeds, --video path) before any work;
2. simulate the scene -> Shot (written to OUT as trajectory.npz / meta.json);
3. render the passes -> Passes (passes.npz, control images, previews), at the generation size
   when generating (as `physreel render` does), at the camera's size when scoring a --video;
4. get the videos: guided and unguided per seed, same prompt and seed (or read --video);
5. score every video, and the RGB preview as the ground-truth reference, with engine.metrics;
6. write video/guided.mp4, video/unguided.mp4 (first seed), video/preview.mp4, video/compare.mp4;
7. write metrics.json (per frame, per seed, aggregated with the winner per metric);
8. write report.html (one self-contained page) and the `compare` section of meta.json.

Every file appears under its final name only when complete (sim.files.atomic_path).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from physreel.conditioning.records import PASS_NAMES
from physreel.engine.metrics import METRIC_NAMES, compute_metrics, dynamic_seg_ids, load_depth_estimator, sim_motion
from physreel.engine.metrics.summary import Run, aggregate, clean_nans, run_to_json

COMPETITORS = ("guided", "unguided")


class CompareInputError(ValueError):
    """Bad compare input (a --video that cannot be read or does not fit the shot); exit status 2."""


@dataclass(frozen=True)
class CompareSettings:
    """What the user asked for (CLI flags)."""

    backend: str | None = None
    """None: the spec's generate.backend."""
    seeds: tuple[int, ...] | None = None
    """None: the spec's seed only."""
    steps: int | None = None
    """None: the spec's generate.steps."""
    video: Path | None = None
    """Score this video (a folder of PNG frames or an MP4) instead of generating."""
    resample_frames: bool = False
    """Resample a --video with another frame count to the shot's by nearest time."""
    depth_model: Path | None = None
    """Local MiDaS folder for the depth metric; None skips it."""
    model: str | None = None
    """Local weights folder of the backend."""
    quiet: bool = False


@dataclass(frozen=True)
class Stages:
    """The upstream stages compare runs; replaceable in tests (defaults import sim/ and conditioning/)."""

    simulate: Callable[[Any], Any]
    write_shot: Callable[[Path, Any], None]
    render_passes: Callable[[Any, tuple[int, int] | None], Any]
    """(shot, (width, height) or None for the camera's) -> Passes."""
    write_passes: Callable[[Path, Any, Any], None]
    control_image: Callable[[Any, str], np.ndarray]
    """(passes, kind) -> uint8 [T, H, W, 3] control images."""


def default_stages() -> Stages:
    from physreel.conditioning.control import control_image
    from physreel.conditioning.output import write_passes
    from physreel.conditioning.render import render_passes
    from physreel.sim.output import write_shot
    from physreel.sim.simulate import simulate

    return Stages(
        simulate=simulate,
        write_shot=write_shot,
        render_passes=lambda shot, resolution: render_passes(shot, resolution=resolution),
        write_passes=write_passes,
        control_image=control_image,
    )


@dataclass(frozen=True)
class CompareResult:
    out: Path
    files: tuple[Path, ...]
    """Every file written, relative to out."""
    metrics: dict[str, Any]
    """The metrics.json data."""
    notes: tuple[str, ...] = field(default_factory=tuple)


class Progress:
    """Stage lines on stderr ('[3/8] render passes ...'); silent when quiet."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.index = total, quiet, 0

    def stage(self, text: str) -> None:
        self.index += 1
        if not self.quiet:
            print(f"[{self.index}/{self.total}] {text} ...", file=sys.stderr, flush=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            print(f"      {text}", file=sys.stderr, flush=True)


def run_compare(scene_path: str | Path, out: str | Path, settings: CompareSettings, stages: Stages | None = None) -> CompareResult:
    """Run the whole comparison; see the module docstring for the steps and files."""
    from physreel.engine.request import spec_model_dir
    from physreel.sim.spec import load_scene

    out = Path(out)
    progress = Progress(8, settings.quiet)
    # 1. inputs: everything that can be wrong is found before any work
    progress.stage("check inputs")
    if out.exists() and not out.is_dir():
        raise CompareInputError(f"-o {out} is a file; give a folder")
    scene = load_scene(scene_path)
    if settings.model is None:
        settings = dataclasses.replace(settings, model=spec_model_dir(scene))
    user_video, video_note = None, None
    if settings.video is not None:
        user_video, video_note = match_frame_count(_read_user_video(settings.video), scene.spec.shot.num_frames,
                                                   settings.resample_frames, str(settings.video))
    depth_estimator, depth_note = _depth_estimator(settings.depth_model)
    seeds = settings.seeds or (scene.spec.generate.seed if scene.spec.generate.seed is not None else scene.spec.shot.seed,)
    backend = _backend(scene.spec, settings) if user_video is None else None
    stages = stages or default_stages()
    created = not out.exists()
    try:
        return _run_stages(scene, out, settings, stages, progress, user_video, video_note, backend, seeds, depth_estimator,
                           depth_note)
    except BaseException:
        if created:  # nothing half-written is left behind
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run_stages(scene, out, settings, stages, progress, user_video, video_note, backend, seeds, depth_estimator,
                depth_note) -> CompareResult:
    """Steps 2 to 8 of run_compare."""
    # 2. simulate
    progress.stage(f"simulate {scene.spec.shot.num_frames} frames")
    shot = stages.simulate(scene)
    stages.write_shot(out, shot)
    # 3. passes, at the size the videos are generated at (as `physreel render` does), so the
    # controls, the noise flow and the metrics are exact on the video's own pixel grid
    resolution = None if backend is None else _generation_size(scene.spec, settings, backend, shot.num_frames)
    progress.stage("render passes" + ("" if resolution is None else f" at the generation size {resolution[0]}x{resolution[1]}"))
    passes = stages.render_passes(shot, resolution)
    stages.write_passes(out, shot, passes)
    if passes.rgb is None:
        raise RuntimeError("the renderer returned no rgb preview; compare needs it as the reference")
    notes: list[str] = []
    # 4. videos
    if user_video is not None:
        progress.stage(f"score {settings.video}")
        notes += [video_note] if video_note else []
        videos = [("video", None, user_video)]
        backend_meta: dict[str, Any] = {}
    else:
        progress.stage(f"generate guided and unguided for seeds {', '.join(map(str, seeds))}")
        videos, backend_meta, gen_notes = _generate_all(scene, passes, settings, backend, seeds, stages.control_image, progress)
        notes += gen_notes
        made = min(len(frames) for _, _, frames in videos)
        if made < passes.num_frames:
            # The request gave the backend the first `made` frames' controls (engine.request), so
            # the videos are scored against those frames of the shot, and so is the preview.
            notes.append(f"the backend made {made} of the shot's {passes.num_frames} frames; "
                         f"every video, the preview included, is scored on the shot's first {made} frames")
            passes = first_frames(passes, made)
            videos = [(label, seed, frames[:made]) for label, seed, frames in videos]
    # 5. metrics
    progress.stage("measure physics adherence")
    dynamic_ids = dynamic_seg_ids(shot)
    motion = sim_motion(passes)  # the simulation's side of the motion metrics, once for every video
    score = lambda frames: compute_metrics(frames, passes, dynamic_ids, depth_estimator, depth_note, motion)  # noqa: E731
    runs = [Run("preview", None, score(passes.rgb))]
    for label, seed, frames in videos:
        runs.append(Run(label, seed, score(frames)))
        progress.info(f"{label}{'' if seed is None else f' seed {seed}'}: " + _headline(runs[-1]))
    if depth_estimator is None:
        notes.append(f"depth_rank_correlation {depth_note}")
    # 6. videos
    progress.stage("write videos")
    files = _write_videos(out, passes, videos, scene.spec.shot.fps)
    # 7. metrics.json
    progress.stage("write metrics.json")
    labels = ("preview", "video") if user_video is not None else ("preview", *COMPETITORS)
    table = aggregate(runs, COMPETITORS)
    run_settings = _settings_record(scene, settings, seeds, passes, backend_meta)
    files.append(Path("metrics.json"))
    files.append(Path("report.html"))
    data = _metrics_json(scene, runs, table, run_settings, notes, files)
    from physreel.sim.files import update_json, write_json

    write_json(out / "metrics.json", data)
    # 8. report
    progress.stage("write report.html")
    update_json(out / "meta.json", {"compare": clean_nans({"settings": run_settings, "files": [f.as_posix() for f in files]})})
    all_files = _files_under(out) + [Path("report.html")]
    _write_report(out, scene, runs, table, labels, run_settings, files, all_files, notes, passes)
    if not settings.quiet:
        print(f"wrote {out / 'report.html'}", file=sys.stderr)
    return CompareResult(out=out, files=tuple(files), metrics=data, notes=tuple(notes))


# ----------------------------------------------------------------------------- step helpers
def _read_user_video(path: Path) -> np.ndarray:
    """uint8 [T, H, W, 3] from a folder of PNG frames or an MP4 (any ffmpeg-readable video)."""
    from physreel.conditioning.video import read_png_sequence, read_video

    path = Path(path)
    if not path.exists():
        raise CompareInputError(f"--video {path}: no such file or folder; give an MP4 or a folder of PNG frames")
    try:
        if path.is_dir():
            return read_png_sequence(path)
        return read_video(path)[0]
    except (ValueError, OSError, RuntimeError, StopIteration) as exc:
        raise CompareInputError(f"--video {path}: cannot read it ({exc}); give an MP4 or a folder of PNG frames") from None


def match_frame_count(frames: np.ndarray, num_frames: int, resample: bool, source: str) -> tuple[np.ndarray, str | None]:
    """The frames with the shot's frame count, and a note when they were resampled.

    Equal counts pass through. Otherwise, with `resample`, frame i of the result is frame
    round(i * (T - 1) / (N - 1)) of the video (nearest in normalised time, first and last frames
    kept); without it, a CompareInputError says what to do.
    """
    count = len(frames)
    if count == num_frames:
        return frames, None
    if not resample:
        raise CompareInputError(
            f"{source} has {count} frames but the shot has {num_frames}; give a video with {num_frames} frames "
            f"or pass --resample-frames to resample it by nearest time"
        )
    index = np.rint(np.arange(num_frames) * (count - 1) / max(num_frames - 1, 1)).astype(np.int64)
    return frames[index], f"{source}: {count} frames resampled to the shot's {num_frames} by nearest time"


def first_frames(passes, count: int):
    """The passes of the shot's first `count` frames (every per-frame array cut to `count` rows)."""
    import dataclasses

    cut = {name: getattr(passes, name)[:count] for name in ("world_to_camera", *PASS_NAMES) if getattr(passes, name) is not None}
    return dataclasses.replace(passes, **cut)


def _depth_estimator(directory: Path | None):
    try:
        return load_depth_estimator(directory)
    except FileNotFoundError as exc:
        raise CompareInputError(f"--depth-model {exc}") from None


def _backend(spec, settings: CompareSettings):
    """The backend, with its models checked for the spec's controls and for unguided runs."""
    from physreel.engine.backends import get_backend

    backend = get_backend(settings.backend or spec.generate.backend, settings.model)
    backend.preflight(tuple(c.kind for c in spec.generate.controls))
    backend.preflight(())
    return backend


def _generation_size(spec, settings: CompareSettings, backend, num_frames: int) -> tuple[int, int]:
    """(width, height) the backend will generate for this shot (engine.request.generation_shape)."""
    from physreel.engine.request import Overrides, generation_shape, resolve_settings

    resolved = resolve_settings(spec, Overrides(backend=backend.name, model=settings.model, steps=settings.steps))
    plan = generation_shape(resolved, backend, num_frames, tuple(spec.camera.resolution))
    return plan.width, plan.height


def _generate_all(scene, passes, settings: CompareSettings, backend, seeds, control_image, progress: Progress):
    """[(label, seed, frames)] for guided and unguided per seed, the backend's meta, notes."""
    from physreel.engine.request import Overrides, build_request

    spec = scene.spec
    backend_name = backend.name
    cache: dict[str, np.ndarray] = {}

    def controls(p, kind: str) -> np.ndarray:
        if kind not in cache:
            cache[kind] = control_image(p, kind)
        return cache[kind]

    videos, notes, meta = [], [], {}
    for seed in seeds:
        overrides = Overrides(backend=backend_name, model=settings.model, steps=settings.steps, seed=seed)
        for label in COMPETITORS:
            progress.info(f"{label} seed {seed}")
            request = build_request(spec, passes, backend, guided=(label == "guided"), overrides=overrides, control_source=controls)
            notes += [n for n in request.adjustments if n not in notes]
            video = backend.generate(request)
            videos.append((label, seed, video.frames[: passes.num_frames]))
            meta.setdefault(label, {})[str(seed)] = video.meta
    return videos, meta, notes


def _files_under(out: Path) -> list[Path]:
    """Every file under out (relative, sorted), a folder of more than 12 files as the folder itself."""
    listed: list[Path] = []
    for folder in sorted({p.parent for p in out.rglob("*") if p.is_file()}):
        names = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
        if len(names) > 12:
            listed.append(folder.relative_to(out))
        else:
            listed += [p.relative_to(out) for p in names]
    return sorted(p for p in listed if p.as_posix() != "report.html")


def _headline(run: Run) -> str:
    keys = ("flow_epe_object", "warp_error", "motion_iou")
    return ", ".join(f"{k} {run.metrics[k].value:.3g}" for k in keys if k in run.metrics)


def _write_videos(out: Path, passes, videos, fps: int) -> list[Path]:
    from physreel.conditioning.video import write_mp4
    from physreel.engine.metrics import check_frames
    from physreel.engine.side_by_side import side_by_side

    files = [Path("video/preview.mp4")]
    write_mp4(out / files[0], passes.rgb, fps)
    first = {}
    for label, seed, frames in videos:
        first.setdefault(label, (seed, frames))
    panels = [("simulation (RGB preview)", passes.rgb)]
    for label, (seed, frames) in first.items():
        path = Path(f"video/{label}.mp4")
        write_mp4(out / path, frames, fps)
        files.append(path)
        caption = f"{label} (seed {seed})" if seed is not None else "your video"
        panels.append((caption, check_frames(frames, passes)))
    write_mp4(out / "video/compare.mp4", side_by_side(panels), fps)
    files.append(Path("video/compare.mp4"))
    return files


def _settings_record(scene, settings: CompareSettings, seeds, passes, backend_meta) -> dict[str, Any]:
    from physreel.engine.metrics import masks
    from physreel.engine.metrics.flow_error import OUTLIER_PX

    width, height = passes.size
    record: dict[str, Any] = {
        "scene": str(scene.source),
        "spec_hash": scene.spec_hash(),
        "frames": passes.num_frames,
        "fps": passes.fps,
        "size": [width, height],
        "metric_size": "videos resized to the passes' size (area when shrinking, bilinear when enlarging); "
                       "the passes are rendered at the generation size when generating",
        "optical_flow": "OpenCV DIS, preset MEDIUM, finest scale 0, on BT.601 luma",
        "outlier_px": OUTLIER_PX,
        "sim_motion_px": masks.SIM_MOTION_PX,
        "diff_threshold": masks.DIFF_THRESHOLD,
        "diff_blur_sigma_px": masks.DIFF_BLUR_SIGMA,
        "depth_model": None if settings.depth_model is None else str(settings.depth_model),
    }
    if settings.video is not None:
        record["video"] = str(settings.video)
        record["resample_frames"] = settings.resample_frames
    else:
        record["backend"] = settings.backend or scene.spec.generate.backend
        record["seeds"] = list(seeds)
        record["steps"] = settings.steps if settings.steps is not None else scene.spec.generate.steps
        record["generate"] = backend_meta
    return record


def _metrics_json(scene, runs: list[Run], table, run_settings, notes, files) -> dict[str, Any]:
    from physreel.engine.metrics.docs import FORMULAS
    from physreel.sim.versions import library_versions

    by_label: dict[str, dict[str, Any]] = {}
    for run in runs:
        by_label.setdefault(run.label, {})["-" if run.seed is None else str(run.seed)] = run_to_json(run)
    first = runs[0].metrics
    return clean_nans({
        "scene": scene.spec.shot.name,
        "metrics": {name: {"direction": first[name].direction, "unit": first[name].unit, "definition": FORMULAS[name]}
                    for name in METRIC_NAMES if name in first},
        "runs": by_label,
        "aggregate": table,
        "winners": {name: entry["winner"] for name, entry in table.items()},
        "settings": run_settings,
        "versions": _versions(library_versions()),
        "notes": list(notes),
        "files": [f.as_posix() for f in files],
    })


def _versions(versions: dict[str, Any]) -> dict[str, Any]:
    import cv2

    return {**versions, "opencv": cv2.__version__}


def _write_report(out: Path, scene, runs, table, labels, run_settings, files, all_files, notes, passes) -> None:
    import cv2

    from physreel.engine.metrics.docs import FORMULAS
    from physreel.engine.report import ReportInputs, metric_plot_png, render_report
    from physreel.sim.files import atomic_path
    from physreel.sim.versions import library_versions

    plots = {}
    for name, entry in table.items():
        png = metric_plot_png(name, runs, passes.fps, entry["direction"], entry["unit"])
        if png is not None:
            plots[name] = png
    still = passes.rgb[len(passes.rgb) // 2]
    ok, png = cv2.imencode(".png", np.ascontiguousarray(still[..., ::-1]))
    captions = {"preview": "simulation (RGB preview)", "guided": "guided", "unguided": "unguided", "video": "your video"}
    videos = tuple((captions.get(p.stem, p.stem), p) for p in files if p.suffix == ".mp4" and p.stem != "compare")
    inputs = ReportInputs(
        out=out,
        title=f"physreel compare: {scene.spec.shot.name}",
        videos=videos,
        table=table,
        labels=labels,
        plots=plots,
        spec_text=scene.source.read_text(encoding="utf-8") if scene.source.is_file() else str(scene.resolved_dict()),
        preview_png=png.tobytes() if ok else None,
        settings={k: v for k, v in run_settings.items() if k != "generate"},
        versions=_versions(library_versions()),
        files=tuple(all_files),
        formulas=FORMULAS,
        notes=tuple(notes),
    )
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(render_report(inputs), encoding="utf-8")

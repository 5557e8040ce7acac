"""`physreel compare`: does the physics guidance make the motion right, and how much?

The procedure (`run_compare`), as numbered steps; 2 to 5 are the shared `Pipeline`'s:
1. check the inputs (scene, seeds, --video path, depth model) before any work;
2. simulate the scene -> Shot (written to OUT as trajectory.npz / meta.json);
3. render the passes -> Passes (passes.npz, control images, previews), at the generation size
   when generating (as `physreel render` does), at the camera's size when scoring a --video;
4. get the videos: guided and unguided per seed, same prompt and seed (or read --video);
5. score every video, and the RGB preview as the ground-truth reference, with engine.metrics
   (with a perturbed second take of the simulation for Physics-IQ's physical variance);
6. write video/guided.mp4, video/unguided.mp4 (first seed), video/preview.mp4,
   video/second_take.mp4, video/compare.mp4;
7. write metrics.json (per frame, per seed, aggregated with the winner per metric, the verdict);
8. write report.html (one self-contained page, the verdict at the top) and the `compare` section of meta.json.

Every file appears under its final name only when complete (sim.files.atomic_path).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from physreel.conditioning.output import available_controls
from physreel.conditioning.records import Passes
from physreel.conditioning.video import read_png_sequence, read_video, write_mp4
from physreel.sim.files import atomic_path, output_folder, update_json, write_json
from physreel.sim.spec import Scene, load_scene
from physreel.sim.timing import timed
from physreel.sim.versions import library_versions

from .backends import Backend
from .metrics import METRIC_NAMES, check_frames, load_depth_estimator, masks
from .metrics.camera_motion import camera_moves
from .metrics.docs import FORMULAS
from .metrics.nearness import NEAR_TOLERANCE
from .metrics.objects import MIN_AREA_SCENE_PX
from .metrics.verdict import verdict
from .metrics.flow_error import OUTLIER_PX
from .metrics.summary import Run, aggregate, clean_nans, per_object_means, run_to_json
from .physical_variance import describe as describe_perturbation
from .pipeline import RUN_LABELS, Pipeline, PipelineOutput, Stages
from .progress import Progress
from .report import ReportInputs, metric_plot_png, render_report
from .settings import GenerationPlan
from .side_by_side import side_by_side

COMPETITORS = RUN_LABELS


class CompareInputError(ValueError):
    """Bad compare input (a --video that cannot be read or does not fit the shot); exit status 2."""


@dataclass(frozen=True)
class CompareSettings:
    """What the user asked for (CLI flags)."""

    backend: str | None = None
    """None: the spec's generate.backend."""
    seeds: tuple[int, ...] | None = None
    """None: the resolved generate.seed only."""
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
    image: str | None = None
    """The start image, relative to the scene's folder as `generate.image` is (the CLI's --image,
    engine.cli.args.parse_image); None: the spec's."""
    quiet: bool = False

    def overrides(self) -> dict[str, Any]:
        """The generate fields these flags replace (engine.settings)."""
        return {"backend": self.backend, "model": self.model, "steps": self.steps, "image": self.image}


@dataclass(frozen=True)
class CompareResult:
    out: Path
    files: tuple[Path, ...]
    """Every file written, relative to out."""
    metrics: dict[str, Any]
    """The metrics.json data."""
    notes: tuple[str, ...] = field(default_factory=tuple)


def run_compare(scene_path: Scene | str | Path, out: str | Path, settings: CompareSettings, stages: Stages | None = None,
                backend: Backend | None = None) -> CompareResult:
    """Run the whole comparison; see the module docstring for the steps and files.

    `scene_path`: the scene file, or a Scene already loaded (`physreel batch`). `stages` and
    `backend` replace the default upstream stages and the backend the settings name
    (engine.pipeline.Pipeline)."""
    out = Path(out)
    progress = Progress(8, settings.quiet)
    # 1. inputs: everything that can be wrong is found before any work
    progress.stage("check inputs")
    if out.exists() and not out.is_dir():
        raise CompareInputError(f"-o {out} is a file; give a folder")
    scene = scene_path if isinstance(scene_path, Scene) else load_scene(scene_path)
    user_video, video_note = None, None
    if settings.video is not None:
        user_video, video_note = match_frame_count(_read_user_video(settings.video), scene.spec.shot.num_frames,
                                                   settings.resample_frames, str(settings.video))
    depth_estimator, depth_note = _depth_estimator(settings.depth_model)
    pipeline = Pipeline(backend=backend, stages=stages, progress=progress)
    with output_folder(out):
        # 2. to 5.: simulate, render, generate (or take the user's video) and score
        result = pipeline(scene, overrides=settings.overrides(), runs=() if user_video is not None else RUN_LABELS,
                          seeds=settings.seeds, video=user_video, score=True, depth_estimator=depth_estimator,
                          depth_note=depth_note)
        with timed("encoding"):
            pipeline.stages.write_shot(out, result.shot)
            pipeline.stages.write_passes(out, result.shot, result.passes, controls_as_read(result.plan, result.passes))
        return _write_files(out, scene, settings, result, progress, [video_note] if video_note else [])


def controls_as_read(plan: GenerationPlan | None, passes: Passes) -> dict[str, dict] | None:
    """Control kind -> control_image options for compare's control/ folder: every available kind, the
    ones the backend reads drawn in its model's convention (`plan.control_options`, e.g. the builtin's
    depth over the whole shot), so the folder shows what the guided video was made from. None (every
    kind in its default convention) when nothing was generated."""
    if plan is None:
        return None
    controls = {kind: {} for kind in available_controls(passes)}
    for control, options in zip(plan.generate.controls or (), plan.control_options or ()):
        if control.kind in controls and not controls[control.kind]:  # a kind listed twice: its first entry
            controls[control.kind] = dict(options)
    return controls


def _write_files(out: Path, scene: Scene, settings: CompareSettings, result: PipelineOutput, progress: Progress,
                 notes: list[str]) -> CompareResult:
    """Steps 6 to 8 of run_compare."""
    passes, runs = result.scored_passes, list(result.scores)
    for run in runs[1:]:
        progress.info(f"{run.label}{'' if run.seed is None else f' seed {run.seed}'}: " + _headline(run))
    notes = notes + [n for n in result.notes if n not in notes]
    if camera_moves(passes):
        notes.append("the camera moves: Physics-IQ's masks (made for its still cameras) count the camera's motion too, "
                     "so the verdict reads motion_iou (camera-compensated) instead of the Physics-IQ score")
    # 6. videos
    progress.stage("write videos")
    with timed("encoding"):
        files = _write_videos(out, passes, result.takes, scene.spec.shot.fps, result.second_take)
    with timed("report"):
        return _write_metrics_and_report(out, scene, settings, result, progress, notes, files)


def _write_metrics_and_report(out: Path, scene: Scene, settings: CompareSettings, result: PipelineOutput,
                              progress: Progress, notes: list[str], files: list[Path]) -> CompareResult:
    """Steps 7 and 8 of run_compare."""
    passes, runs = result.scored_passes, list(result.scores)
    # 7. metrics.json
    progress.stage("write metrics.json")
    labels = ("preview", "video") if settings.video is not None else ("preview", *COMPETITORS)
    table = aggregate(runs, COMPETITORS)
    judged = verdict(runs, table, camera_moves(passes))
    progress.info(judged.text)
    run_settings = _settings_record(scene, settings, result)
    files.append(Path("metrics.json"))
    files.append(Path("report.html"))
    data = _metrics_json(scene, runs, table, run_settings, notes, files, judged)
    write_json(out / "metrics.json", data)
    # 8. report
    progress.stage("write report.html")
    update_json(out / "meta.json", {"compare": clean_nans({"settings": run_settings, "files": [f.as_posix() for f in files]})})
    all_files = _files_under(out) + [Path("report.html")]
    _write_report(out, scene, runs, table, labels, run_settings, files, all_files, notes, passes, judged.text)
    if not settings.quiet:
        print(f"wrote {out / 'report.html'}", file=sys.stderr)
    return CompareResult(out=out, files=tuple(files), metrics=data, notes=tuple(notes))


# ----------------------------------------------------------------------------- step helpers
def _read_user_video(path: Path) -> np.ndarray:
    """uint8 [T, H, W, 3] from a folder of PNG frames or an MP4 (any ffmpeg-readable video)."""
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


def _depth_estimator(directory: Path | None):
    try:
        return load_depth_estimator(directory)
    except FileNotFoundError as exc:
        raise CompareInputError(f"--depth-model {exc}") from None


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


def _write_videos(out: Path, passes, takes, fps: int, second_take=None) -> list[Path]:
    files = [Path("video/preview.mp4")]
    write_mp4(out / files[0], passes.rgb, fps)
    first = {}
    for take in takes:
        first.setdefault(take.label, (take.seed, take.frames))
    panels = [("simulation (RGB preview)", passes.rgb)]
    for label, (seed, frames) in first.items():
        path = Path(f"video/{label}.mp4")
        write_mp4(out / path, frames, fps)
        files.append(path)
        caption = f"{label} (seed {seed})" if seed is not None else "your video"
        panels.append((caption, check_frames(frames, passes)))
    if second_take is not None:  # the perturbed simulation, Physics-IQ's second real take
        files.append(Path("video/second_take.mp4"))
        write_mp4(out / files[-1], second_take.rgb, fps)
    write_mp4(out / "video/compare.mp4", side_by_side(panels), fps)
    files.append(Path("video/compare.mp4"))
    return files


def _settings_record(scene, settings: CompareSettings, result: PipelineOutput) -> dict[str, Any]:
    passes = result.scored_passes
    width, height = passes.size
    record: dict[str, Any] = {
        "scene": str(scene.source),
        "spec_hash": scene.spec_hash(),
        "frames": passes.num_frames,
        "fps": passes.fps,
        "size": [width, height],
        "scene_size": list(scene.spec.camera.resolution),
        "metric_size": "videos resized to the passes' size (area when shrinking, bilinear when enlarging); "
                       "the passes are rendered at the generation size when generating",
        "optical_flow": "OpenCV DIS, preset MEDIUM, finest scale 0, on BT.601 luma",
        "outlier_px": OUTLIER_PX,
        "sim_motion_px": masks.SIM_MOTION_PX,
        "diff_threshold": masks.DIFF_THRESHOLD,
        "diff_blur_sigma_px": masks.DIFF_BLUR_SIGMA,
        "depth_model": None if settings.depth_model is None else str(settings.depth_model),
        "camera_moves": camera_moves(passes),
        "object_min_area_scene_px": MIN_AREA_SCENE_PX,
        "near_tolerance": NEAR_TOLERANCE,
        "physical_variance": {"perturbation": describe_perturbation(),
                              "variance": None if result.physics_iq is None else result.physics_iq.variance},
    }
    if settings.video is not None:
        record["video"] = str(settings.video)
        record["resample_frames"] = settings.resample_frames
    else:
        backend_meta: dict[str, dict[str, Any]] = {}
        for take in result.takes:
            backend_meta.setdefault(take.label, {})[str(take.seed)] = take.meta
        record["backend"] = result.plan.generate.backend
        record["seeds"] = list(dict.fromkeys(take.seed for take in result.takes))
        record["steps"] = result.plan.generate.steps
        record["generate"] = backend_meta
    return record


def _metrics_json(scene, runs: list[Run], table, run_settings, notes, files, judged) -> dict[str, Any]:
    by_label: dict[str, dict[str, Any]] = {}
    for run in runs:
        by_label.setdefault(run.label, {})["-" if run.seed is None else str(run.seed)] = run_to_json(run)
    first = runs[0].metrics
    return clean_nans({
        "scene": scene.spec.shot.name,
        "verdict": judged.to_json(),
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
    return {**versions, "opencv": cv2.__version__}


def _write_report(out: Path, scene, runs, table, labels, run_settings, files, all_files, notes, passes, verdict_text) -> None:
    plots = {}
    for name, entry in table.items():
        png = metric_plot_png(name, runs, passes.fps, entry["direction"], entry["unit"])
        if png is not None:
            plots[name] = png
    still = passes.rgb[len(passes.rgb) // 2]
    ok, png = cv2.imencode(".png", np.ascontiguousarray(still[..., ::-1]))
    captions = {"preview": "simulation (RGB preview)", "guided": "guided", "unguided": "unguided", "video": "your video",
                "second_take": "second take (perturbed simulation)"}
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
        verdict=verdict_text,
        seeds=tuple(dict.fromkeys(run.seed for run in runs if run.seed is not None)),
        sizes=(tuple(passes.size), tuple(scene.spec.camera.resolution)),
        per_object={name: {label: per_object_means(runs, name, label) for label in labels}
                    for name in ("object_visibility", "object_color_error")},
    )
    with atomic_path(out / "report.html") as tmp:
        tmp.write_text(render_report(inputs), encoding="utf-8")

"""The one pipeline every command runs: scene -> shot -> passes -> requests -> videos -> scores.

`physreel render`, `physreel compare` (and library users) call `Pipeline`; each command only
adds its own files. Like a diffusers pipeline, `Pipeline.__call__` reads as numbered steps:

1. check the inputs: the scene is valid, the backend exists and finds its models, before any work;
2. resolve the settings once (engine.settings): overrides, defaults, the shape the backend makes;
3. simulate the scene -> Shot;
4. render the passes -> Passes, at the generation size when generating (so the controls, the
   noise flow and the metrics are exact on the video's own pixel grid), else at the camera's;
5. build one request per run (guided, unguided) and seed, sharing the control images;
6. generate each video;
7. score every video, and the RGB preview as the reference, against the passes (optional):
   first a second take of the shot (the scene with tiny perturbed initial conditions,
   engine.physical_variance) is simulated and rendered like steps 3 and 4, for Physics-IQ's
   physical variance, and the judged objects are read from the spec through the id table.

Nothing is written here; every stage's record is returned in `PipelineOutput`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from physreel.conditioning.control import control_image
from physreel.conditioning.output import write_passes
from physreel.conditioning.records import PASS_NAMES, Passes
from physreel.conditioning.render import render_passes
from physreel.sim.output import write_shot
from physreel.sim.particles import with_particles
from physreel.sim.records import Shot
from physreel.sim.simulate import simulate
from physreel.sim.spec import Scene, SimulationError, load_scene
from physreel.sim.timing import StageTimes, recording, timed

from .backends import Backend, get_backend
from .errors import BackendError
from .metrics import (DepthEstimator, PhysicsIQReference, compute_metrics, dynamic_seg_ids, physics_iq_reference,
                      scene_objects, sim_motion)
from .metrics.summary import Run
from .physical_variance import perturbed_scene
from .progress import Progress
from .records import GenerationRequest
from .request import build_request
from .settings import GenerationPlan, Overrides, located_backend_error, plan_generation, resolve_generate

RUN_LABELS = ("guided", "unguided")


@dataclass(frozen=True)
class Stages:
    """The upstream stages; replaceable (tests feed a synthetic shot through them)."""

    simulate: Callable[[Scene, bool], Shot]
    """(scene, progress bars) -> Shot."""
    render_passes: Callable[[Shot, tuple[int, int] | None, bool], Passes]
    """(shot, (width, height) or None for the camera's, progress bars) -> Passes."""
    control_image: Callable[..., np.ndarray]
    """(passes, kind, **options) -> uint8 [T, H, W, 3] control images (conditioning.control.control_image)."""
    write_shot: Callable[[Path, Shot], None]
    """Writers of the records above, for the commands that write them (the pipeline writes nothing)."""
    write_passes: Callable[[Path, Shot, Passes, Mapping[str, Mapping[str, Any]] | None], None]
    """(out, shot, passes, controls) writes passes.npz, control/<kind>/ and preview/; controls: kind ->
    control_image options (None: every available kind in its default convention)."""
    particles: Callable[[Shot], Shot] = lambda shot: shot
    """Shot -> the shot with its particles (sim.particles.with_particles); a stage of its own so that it is
    timed apart from `simulate`. The default keeps the shot as `simulate` made it."""


def default_stages() -> Stages:
    return Stages(
        simulate=lambda scene, bars: simulate(scene, progress=bars, particles=False),
        particles=with_particles,
        render_passes=lambda shot, resolution, bars: render_passes(shot, resolution=resolution, progress=bars),
        control_image=control_image,
        write_shot=write_shot,
        write_passes=write_passes,
    )


@dataclass(frozen=True)
class Take:
    """One video of the shot: generated for a run and seed, or given by the user."""

    label: str
    """'guided', 'unguided', or 'video' for a user's video."""
    seed: int | None
    frames: np.ndarray
    """uint8 [T, H, W, 3]."""
    fps: int
    meta: dict[str, Any] = field(default_factory=dict)
    """The backend's record of the run (GeneratedVideo.meta); empty for a user's video."""
    request: GenerationRequest | None = None


@dataclass(frozen=True)
class PipelineOutput:
    """Every stage's record of one pipeline call."""

    scene: Scene
    plan: GenerationPlan | None
    """None when nothing was generated (a user's video was scored)."""
    shot: Shot
    passes: Passes
    """As rendered."""
    scored_passes: Passes
    """`passes` cut to the frames every video has (a backend may make fewer than the shot's); the
    videos, and the preview, are scored against these."""
    takes: tuple[Take, ...]
    scores: tuple[Run, ...] = ()
    """The preview's first, then one per take; empty unless scoring was asked for."""
    notes: tuple[str, ...] = ()
    """What a person should know: shape adjustments, frames cut, skipped metrics."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Own wall time of each stage that ran (`times.wall`; see `times`)."""
    second_take: Passes | None = None
    """The perturbed second take's passes (cut like `scored_passes`), when scored; None if its simulation failed."""
    physics_iq: PhysicsIQReference | None = None
    """Physics-IQ's real side (the preview, its masks, the physical variance), when scored."""
    times: StageTimes | None = None
    """Own wall and CPU seconds of each stage (sim.timing): load, simulate, particles, passes, control images,
    request, model load, `generate <label> seed <seed>` per video, second take, metrics; and those of an
    enclosing command's recording (encoding, report) when one records around the pipeline (`--profile`)."""


class Pipeline:
    """Simulate, render, generate and score one shot.

    `backend`: a Backend instance to use instead of the one `generate.backend` names (e.g. one
    whose weights are already loaded, or a test double). `stages`: the upstream stages.
    `progress`: numbered stage lines; `bars`: progress bars inside long stages.
    """

    def __init__(self, backend: Backend | None = None, stages: Stages | None = None,
                 progress: Progress | None = None, bars: bool = False):
        self.backend = backend
        self.stages = stages or default_stages()
        self.progress = progress or Progress(0, quiet=True)
        self.bars = bars

    def __call__(
        self,
        scene: Scene | str | Path,
        *,
        overrides: Overrides | None = None,
        runs: Sequence[str] = ("guided",),
        seeds: Sequence[int] | None = None,
        video: np.ndarray | None = None,
        score: bool = False,
        depth_estimator: DepthEstimator | None = None,
        depth_note: str | None = None,
    ) -> PipelineOutput:
        """Run the steps of the module docstring.

        `runs`: which videos to generate per seed ('guided', 'unguided'); `seeds`: default the
        resolved `generate.seed`. `video`: uint8 [T, H, W, 3] frames made elsewhere to score
        instead of generating (with `runs=()`). `score`: run step 7, with `depth_estimator` for
        the depth metric (else it is skipped with `depth_note`).
        """
        with recording() as times:
            output = self._steps(scene, overrides, runs, seeds, video, score, depth_estimator, depth_note)
        return dataclasses.replace(output, seconds=dict(times.wall), times=times)

    def _steps(self, scene, overrides, runs, seeds, video, score, depth_estimator, depth_note) -> PipelineOutput:
        """The numbered steps of `__call__`, each stage timed by a span (sim.timing)."""
        # 1. inputs
        scene = scene if isinstance(scene, Scene) else load_scene(scene)
        _check_runs(runs, video)
        # 2. settings, once
        plan, backend = self._plan(scene, overrides, runs)
        seeds = tuple(seeds) if seeds else (() if plan is None else (plan.generate.seed,))
        # 3. simulate
        self.progress.stage(f"simulate {scene.spec.shot.num_frames} frames")
        shot = _timed("simulate", lambda: self._simulate(scene))
        # 4. passes
        resolution = None if plan is None else (plan.shape.width, plan.shape.height)
        self.progress.stage("render passes" + ("" if resolution is None else
                                               f" at the generation size {resolution[0]}x{resolution[1]}"))
        passes = _timed("passes", lambda: self.stages.render_passes(shot, resolution, self.bars))
        if score and passes.rgb is None:
            raise ValueError("the renderer returned no rgb preview; scoring needs it as the reference")
        notes = [] if plan is None else list(plan.shape.notes)
        # 5. and 6. requests and videos
        scored_passes = passes
        if video is not None:
            self.progress.stage(f"take the given video ({len(video)} frames)")
            takes = [Take("video", None, video, scene.spec.shot.fps)]
        else:
            self.progress.stage(f"generate {' and '.join(runs)} for seed{'s' if len(seeds) > 1 else ''} "
                                f"{', '.join(map(str, seeds))}")
            takes = self._generate(scene, plan, backend, passes, runs, seeds)
            scored_passes, takes, cut_note = _common_frames(passes, takes)
            notes += [cut_note] if cut_note else []
        # 7. scores, with a second take for Physics-IQ's physical variance
        scores: tuple[Run, ...] = ()
        second, reference = None, None
        if score:
            self.progress.stage("measure physics adherence")
            second, second_note = _timed("second take",
                                         lambda: self._second_take(scene, resolution, scored_passes.num_frames))
            reference = physics_iq_reference(scored_passes.rgb, None if second is None else second.rgb, second_note)
            scores = _timed("metrics", lambda: self._score(scene, shot, scored_passes, takes, depth_estimator,
                                                           depth_note, reference))
            if depth_estimator is None and depth_note:
                notes.append(f"depth_rank_correlation {depth_note}")
        return PipelineOutput(scene=scene, plan=plan, shot=shot, passes=passes, scored_passes=scored_passes,
                              takes=tuple(takes), scores=scores, notes=tuple(notes), second_take=second,
                              physics_iq=reference)

    # ----------------------------------------------------------------------------- step helpers
    def _plan(self, scene: Scene, overrides: Overrides | None, runs: Sequence[str]):
        """(GenerationPlan, Backend) with the backend's models checked for every run; (None, None)
        when nothing is generated."""
        if not runs:
            return None, None
        generate = resolve_generate(scene, overrides, self.backend)
        try:
            backend = self.backend or get_backend(generate.backend, generate.model)
            backend.check_settings(generate)
            for label in runs:
                backend.preflight(tuple(c.kind for c in generate.controls) if label == "guided" else ())
            plan = plan_generation(scene, generate, backend)
        except BackendError as exc:  # at the scene file's line when the setting came from it
            raise located_backend_error(scene, exc, overrides) from None
        return plan, backend

    def _simulate(self, scene: Scene) -> Shot:
        """Step 3: the shot, its particles (one-way coupled, from the recorded poses) timed as their own stage."""
        shot = self.stages.simulate(scene, self.bars)
        with timed("particles"):
            return self.stages.particles(shot)

    def _generate(self, scene, plan, backend, passes, runs, seeds) -> list[Take]:
        cache: dict[tuple, np.ndarray] = {}

        def controls(p: Passes, kind: str, **options) -> np.ndarray:
            key = (kind, tuple(sorted(options.items())))
            if key not in cache:
                cache[key] = _timed("control images", lambda: self.stages.control_image(p, kind, **options))  # (a replaced stage too)
            return cache[key]

        with timed("request"):
            requests = {label: build_request(plan, scene.spec.shot, passes, guided=(label == "guided"), control_source=controls)
                        for label in runs}
        takes = []
        for seed in seeds:
            for label in runs:
                self.progress.info(f"{label} seed {seed}")
                request = dataclasses.replace(requests[label], seed=seed)
                made = _timed(f"generate {label} seed {seed}", lambda: backend.generate(request, progress=self.bars))
                takes.append(Take(label, seed, made.frames, made.fps, made.meta, request))
        return takes

    def _second_take(self, scene: Scene, resolution, frames: int) -> tuple[Passes | None, str | None]:
        """Steps 3 and 4 on the perturbed scene (physical_variance.perturbed_scene), cut to the
        scored `frames`; (None, why) when its simulation fails."""
        self.progress.info("second take: the scene with tiny perturbed initial conditions (Physics-IQ's physical variance)")
        try:
            shot = self._simulate(perturbed_scene(scene))
        except SimulationError as exc:
            return None, f"the second take's simulation failed: {exc}"
        return first_frames(self.stages.render_passes(shot, resolution, self.bars), frames), None

    def _score(self, scene, shot, passes, takes, depth_estimator, depth_note, reference) -> tuple[Run, ...]:
        dynamic_ids = dynamic_seg_ids(shot)
        motion = sim_motion(passes)  # the simulation's side of the motion metrics, once for every video
        objects = scene_objects(scene.spec, passes.id_table, dynamic_ids, passes.size)

        def score(frames: np.ndarray):
            return compute_metrics(frames, passes, dynamic_ids, depth_estimator, depth_note, motion, objects, reference)

        runs = [Run("preview", None, score(passes.rgb))]
        for take in takes:
            runs.append(Run(take.label, take.seed, score(take.frames)))
        return tuple(runs)


def _check_runs(runs: Sequence[str], video: np.ndarray | None) -> None:
    unknown = [label for label in runs if label not in RUN_LABELS]
    if unknown:
        raise ValueError(f"unknown run {', '.join(map(repr, unknown))}; choose from {', '.join(RUN_LABELS)}")
    if (video is None) == (not runs):
        raise ValueError("give runs to generate, or a video to score (runs=()), not both or neither")


def _timed(stage: str, work: Callable[[], Any]) -> Any:
    """work(), its own time counted to `stage` (sim.timing.timed)."""
    with timed(stage):
        return work()


def _common_frames(passes: Passes, takes: list[Take]) -> tuple[Passes, list[Take], str | None]:
    """Every video and the passes cut to the frames every video has, with a note when cut.

    A backend may make fewer frames than the shot (Wan: 4k+1); the request gave it the first
    frames' controls, so the videos are scored against those frames, and so is the preview.
    """
    takes = [dataclasses.replace(t, frames=t.frames[: passes.num_frames]) for t in takes]
    made = min(len(t.frames) for t in takes)
    if made >= passes.num_frames:
        return passes, takes, None
    note = (f"the backend made {made} of the shot's {passes.num_frames} frames; "
            f"every video, the preview included, is scored on the shot's first {made} frames")
    takes = [dataclasses.replace(t, frames=t.frames[:made]) for t in takes]
    return first_frames(passes, made), takes, note


def first_frames(passes: Passes, count: int) -> Passes:
    """The passes of the shot's first `count` frames (every per-frame array cut to `count` rows)."""
    cut = {name: getattr(passes, name)[:count] for name in ("world_to_camera", *PASS_NAMES) if getattr(passes, name) is not None}
    return dataclasses.replace(passes, **cut)

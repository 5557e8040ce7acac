"""One task of a batch: one stage of one shot, run by a Ray worker (or in this process: it is a
plain function; engine.batch.run hands it to Ray with the stage's resources).

Each stage calls the code of its command (engine.stage_files, engine.compare.run_compare,
engine.batch.best_of for render with best_of) and writes the command's files into a temporary
folder beside the stage's folder, renamed into place only when complete (sim.files.atomic_path):
a task killed midway leaves a `.<stage>.*.part` folder, never a partial stage folder, and Ray's
retry writes a fresh one. A shot that cannot be made (an unstable simulation, a backend error)
returns a failed result with the message instead of raising, so Ray does not retry what would
fail again and the other shots go on.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physreel.sim.files import atomic_path
from physreel.sim.spec import Scene, SimulationError

from ..compare import CompareSettings, run_compare
from ..stage_files import passes_files, simulate_files
from .best_of import render_best
from .dataset import export_shot
from .resume import file_digests

TASK_STAGES = ("simulate", "passes", "dataset", "render", "compare")
"""Every task kind, in the order a shot's tasks are submitted; `dataset` is the --export-dataset
conversion of the passes stage's files."""


@dataclass(frozen=True)
class StageTask:
    """What a worker needs for one stage of one shot (a few KB: the validated spec and paths)."""

    key: str
    stage: str
    scene: Scene
    """Validated; its source is the shot's own YAML (OUT/shots/KEY/scene.yaml)."""
    folder: Path
    """The stage's final folder (absolute, on storage every worker sees)."""
    best_of: int = 1
    source: Path | None = None
    """dataset: the passes stage's folder it converts."""


@dataclass(frozen=True)
class StageResult:
    """What a worker sends back (a few KB): status, the files' digests, timing and metrics."""

    key: str
    stage: str
    status: str
    """'ok', 'failed' or 'skipped' (an upstream stage did not succeed)."""
    files: dict[str, str] = field(default_factory=dict)
    """Path relative to the stage folder -> sha256 of its bytes."""
    seconds: float = 0.0
    message: str = ""
    kind: str = ""
    """For a failure: 'unstable' (SimulationError: the same spec fails again) or 'error'."""
    details: dict[str, Any] = field(default_factory=dict)
    """Stage-specific: render's takes and kept seed, compare's key metrics."""
    worker: dict[str, Any] = field(default_factory=dict)
    """Host and process id of the worker that ran it."""


def run_stage(task: StageTask, upstream: StageResult | None = None) -> StageResult:
    """Run one stage into task.folder (see the module docstring). `upstream`: the result of the
    stage this one reads (the passes for the dataset export, render for compare after best_of);
    when it did not succeed this stage is skipped."""
    worker = {"host": socket.gethostname(), "pid": os.getpid()}
    if upstream is not None and upstream.status != "ok":
        return StageResult(task.key, task.stage, "skipped", message=f"{upstream.stage} {upstream.status}: {upstream.message}",
                           worker=worker)
    started = time.perf_counter()
    try:
        with atomic_path(task.folder) as tmp:
            details = _STAGES[task.stage](task, tmp, upstream)
    except SimulationError as exc:
        return StageResult(task.key, task.stage, "failed", seconds=time.perf_counter() - started,
                           message=f"unstable simulation: {exc}", kind="unstable", worker=worker)
    except Exception as exc:  # recorded for this shot; the batch goes on with the others
        return StageResult(task.key, task.stage, "failed", seconds=time.perf_counter() - started,
                           message=f"{type(exc).__name__}: {exc}", kind="error",
                           details={"traceback": traceback.format_exc(limit=8)}, worker=worker)
    return StageResult(task.key, task.stage, "ok", files=file_digests(task.folder), seconds=time.perf_counter() - started,
                       details=details, worker=worker)


# ----------------------------------------------------------------------------- stages
def _simulate(task: StageTask, out: Path, upstream: StageResult | None) -> dict[str, Any]:
    _, seconds = simulate_files(task.scene, out)
    return {"seconds": seconds}


def _passes(task: StageTask, out: Path, upstream: StageResult | None) -> dict[str, Any]:
    return {"seconds": passes_files(task.scene, out).seconds}


def _render(task: StageTask, out: Path, upstream: StageResult | None) -> dict[str, Any]:
    return render_best(task.scene, out, task.best_of)


def _compare(task: StageTask, out: Path, upstream: StageResult | None) -> dict[str, Any]:
    """`physreel compare SCENE`, or with best_of `--seeds BEST` (the render stage's kept take)."""
    seed = upstream.details["seed"] if task.best_of > 1 else None
    settings = CompareSettings(seeds=None if seed is None else (seed,), quiet=True)
    result = run_compare(task.scene, out, settings)
    table = result.metrics["aggregate"]
    keep = ("preview", "guided", "unguided")
    return {"seed": seed, "winners": result.metrics["winners"],
            "metrics": {name: {label: entry[label]["mean"] for label in keep if label in entry} for name, entry in table.items()},
            "notes": list(result.notes)}


def _dataset(task: StageTask, out: Path, upstream: StageResult | None) -> dict[str, Any]:
    return export_shot(task.source, out)


_STAGES = {"simulate": _simulate, "passes": _passes, "render": _render, "compare": _compare, "dataset": _dataset}

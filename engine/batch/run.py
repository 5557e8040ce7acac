"""`physreel batch`'s procedure: a validated sweep -> one Ray task per shot and stage -> OUT.

Steps (`run_batch`):
1. expand the sweep into shots, every one validated before any work (engine.batch.expand);
2. from the shots' records, which stages are complete (engine.batch.resume); only the others
   become tasks;
3. connect to Ray (engine.batch.cluster) before writing anything, write each shot's folder
   (keyed by its spec hash) and `scene.yaml`, and submit every task with its resources (1 CPU;
   1 GPU for render and compare when the backend runs on CUDA), Ray retrying a task whose
   worker dies; a task that needs another's result (the dataset export, compare after
   best_of) takes that task's result as an argument, so Ray orders them;
4. record each result in its shot's record as it arrives, with a progress bar of shots;
5. write OUT/batch.json and OUT/index.html (engine.batch.index).

Only this process writes records and the summary files; workers write stage folders, each whole
or not at all. One batch at a time may write an OUT (a lock file says so).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from tqdm import tqdm

from physreel.sim.files import atomic_path, write_json
from physreel.sim.spec import Scene, scene_from_data

from .cluster import Cluster, ray_cluster
from .expand import ShotPlan, expand_sweep
from .index import write_index
from .resume import clean_partials, is_complete, read_record, shot_dir, stage_folder, write_record
from .sweep import Sweep
from .tasks import TASK_STAGES, StageResult, StageTask, run_stage

MAX_RETRIES = 3
"""Ray's retries of a task whose worker died (killed, out of memory, a lost node)."""
CANCEL_WAIT_S = 30.0
LOCK = ".batch.lock"


class BatchBusyError(RuntimeError):
    """Another batch is writing the same OUT."""


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch (the command's flags)."""

    workers: int | None = None
    """CPUs of the local Ray instance (None: all of this machine's); ignored when joining `address`."""
    address: str | None = None
    """An existing Ray cluster: 'auto' or 'ray://HOST:PORT'; None starts a local instance."""
    temp_dir: Path | None = None
    """The local instance's session folder (logs, sockets); None: Ray's default."""
    export_dataset: bool = False
    """Also write every shot's passes in the Kubric-like layout under OUT/dataset (engine.batch.dataset)."""
    max_retries: int = MAX_RETRIES
    quiet: bool = False


@dataclass
class _Shot:
    """The driver's view of one shot during a run."""

    plan: ShotPlan
    scene: Scene
    folder: Path
    record: dict[str, Any]
    text: str
    """Its scene.yaml."""
    to_run: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class BatchResult:
    out: Path
    shots: tuple[dict[str, Any], ...]
    """batch.json's shot entries, in sweep order."""
    ran: tuple[tuple[str, str], ...]
    """(shot key, stage) of every task run by this call."""
    reused: tuple[tuple[str, str], ...]
    """(shot key, stage) found complete and left as they were."""
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(shot["key"] for shot in self.shots if shot["status"] == "failed")


def run_batch(sweep: Sweep, out: str | Path, options: BatchOptions = BatchOptions(), *,
              on_result: Callable[[StageResult], None] | None = None) -> BatchResult:
    """Run the sweep into `out` (module docstring). Raises SpecError (nothing written) for a bad
    sweep; KeyboardInterrupt after recording what finished when interrupted. `on_result` is called
    here, in the driver, after each task's result is recorded."""
    started = time.perf_counter()
    # 1. the shots, every one validated before any work
    plans, notes = expand_sweep(sweep)
    out = Path(out).resolve()
    stages = [stage for stage in TASK_STAGES if stage in sweep.spec.stages or (stage == "dataset" and options.export_dataset)]
    # 2. what is left to do (read only: Ray is reached before anything is written)
    shots = [_prepare(out, plan, sweep, stages) for plan in plans]
    todo = sum(len(shot.to_run) for shot in shots)
    ran: list[tuple[str, str]] = []
    interrupted = False
    connection = ray_cluster(options.workers, options.address, options.temp_dir) if todo else contextlib.nullcontext()
    with connection as cluster, _locked(out):
        for shot in shots:
            _write_scene(shot)
        try:
            if todo:
                # 3. and 4. run on Ray, recording each result as it arrives
                _execute(shots, sweep, options, cluster, ran, on_result)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            for shot in shots:
                clean_partials(shot.folder)
            clean_partials(out / "dataset")
            # 5. the summary and the index (also after an interruption: what is done is listed)
            entries = tuple(_entry(shot, sweep, stages, interrupted) for shot in shots)
            _write_summary(out, sweep, options, cluster, stages, entries, ran, time.perf_counter() - started, notes)
    reused = tuple((shot.plan.key, stage) for shot in shots for stage in shot.reused)
    return BatchResult(out=out, shots=entries, ran=tuple(ran), reused=reused, notes=notes)


# ----------------------------------------------------------------------------- step 2
def _prepare(out: Path, plan: ShotPlan, sweep: Sweep, stages: list[str]) -> _Shot:
    """The shot as its own scene.yaml reads, and which of its stages are complete (writes nothing)."""
    folder = shot_dir(out, plan.key)
    text = shot_yaml(plan, sweep)
    scene = dataclasses.replace(shot_scene(plan, text), source=folder / "scene.yaml", shown=str(folder / "scene.yaml"))
    shot = _Shot(plan, scene, folder, read_record(folder), text)
    recorded = shot.record.get("stages", {}) if shot.record.get("spec_hash") == plan.spec_hash else {}
    for stage in stages:
        upstream = _upstream(stage, sweep)
        settings = stage_settings(stage, sweep)
        if upstream in shot.to_run:
            shot.to_run.append(stage)
        elif upstream is not None and recorded.get(upstream, {}).get("status") == "failed" and \
                recorded.get(stage, {}).get("status") == "skipped" and recorded[stage].get("settings") == settings:
            shot.reused.append(stage)  # skipped after a final failure: nothing to redo
        elif is_complete(stage_folder(out, plan.key, stage), shot.record, stage, plan.spec_hash, settings):
            shot.reused.append(stage)
        else:
            shot.to_run.append(stage)
    shot.waiting = set(shot.to_run)
    return shot


def _write_scene(shot: _Shot) -> None:
    """The shot's folder with its scene.yaml (rewritten only if it differs), left-over `.part`s removed."""
    clean_partials(shot.folder)
    scene_file = shot.folder / "scene.yaml"
    if not scene_file.is_file() or scene_file.read_text(encoding="utf-8") != shot.text:
        with atomic_path(scene_file) as tmp:
            tmp.write_text(shot.text, encoding="utf-8")


def shot_yaml(plan: ShotPlan, sweep: Sweep) -> str:
    """The shot's own scene file: the scene's data with the sweep's values, and a comment saying so.
    `physreel <stage> OUT/shots/KEY/scene.yaml` makes the stage's files alone, byte for byte
    (for a scene whose assets lie beside it, copy this file there first)."""
    lines = [f"# A shot of a physreel batch: {plan.scene_file.name}"]
    lines += [f"#   {path}: {label}" for path, label in plan.labels.items()]
    lines += [f"#   {path} (set): {_short(value)}" for path, value in plan.parameters.items() if path not in plan.labels]
    return "\n".join(lines) + "\n" + yaml.dump(plan.data, Dumper=_ShotDumper, sort_keys=False, allow_unicode=True, width=100)


# libyaml's C emitter and parser where PyYAML has them: the same text as the Python ones (checked
# in tests/test_batch_shot_yaml.py) at a tenth of the time; the driver writes and reads back every
# shot's YAML before the first task starts, about 80 ms a shot in pure Python on a loaded 2-core machine.
_SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _ShotDumper(_SAFE_DUMPER):
    """Block style, except lists of plain values ([0, 0, 1]) on one line, as scene files write them."""


_ShotDumper.add_representer(list, lambda dumper, items: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", items, flow_style=all(not isinstance(item, (dict, list)) for item in items)))


def shot_scene(plan: ShotPlan, text: str) -> Scene:
    """The shot's Scene as its scene.yaml `text` reads (assets resolved beside the sweep's scene file);
    RuntimeError if that is not the validated spec (the file would not reproduce the shot)."""
    scene = scene_from_data(yaml.load(text, Loader=_SAFE_LOADER), plan.scene_file)
    if scene.spec_hash() != plan.spec_hash:
        raise RuntimeError(f"{plan.key}: the written scene.yaml does not read back as the validated spec")
    return scene


def stage_settings(stage: str, sweep: Sweep) -> dict[str, Any]:
    """What besides the spec decides a stage's files; a record with other settings is redone."""
    return {"best_of": sweep.spec.best_of} if stage in ("render", "compare") else {}


def _upstream(stage: str, sweep: Sweep) -> str | None:
    """The task whose result a stage reads: the passes for the dataset, the kept take for compare."""
    if stage == "dataset":
        return "passes"
    if stage == "compare" and sweep.spec.best_of > 1:
        return "render"
    return None


# ------------------------------------------------------------------------ steps 3, 4
def _execute(shots: list[_Shot], sweep: Sweep, options: BatchOptions, cluster: Cluster | None, ran: list,
             on_result: Callable[[StageResult], None] | None) -> None:
    import ray  # after ray_cluster, which decides how Ray is imported

    remote = ray.remote(run_stage)
    pending: dict[Any, tuple[_Shot, str]] = {}
    refs: dict[tuple[str, str], Any] = {}
    for shot in shots:
        for stage in shot.to_run:
            upstream = _upstream(stage, sweep)
            before = refs.get((shot.plan.key, upstream)) if upstream in shot.to_run else _recorded(shot, upstream)
            ref = remote.options(name=f"{stage} {shot.plan.key}", num_cpus=1, num_gpus=_gpus(stage, shot.scene, cluster),
                                 max_retries=options.max_retries, retry_exceptions=False
                                 ).remote(_task(shot, stage, sweep), before)
            refs[(shot.plan.key, stage)] = ref
            pending[ref] = (shot, stage)
    done_before = sum(1 for shot in shots if not shot.waiting)
    bar = tqdm(total=len(shots), initial=done_before, unit="shot", desc="batch", disable=options.quiet,
               file=sys.stderr, dynamic_ncols=True)
    counts = {"done": done_before, "failed": sum(1 for shot in shots if not shot.waiting and _failed(shot))}
    bar.set_postfix_str(_postfix(counts, len(shots)))
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                shot, stage = pending.pop(ref)
                result = _result(ray, ref, shot, stage)
                _record(shot, result, sweep)
                ran.append((shot.plan.key, stage))
                shot.waiting.discard(stage)
                if not shot.waiting:
                    counts["done"] += 1
                    counts["failed"] += _failed(shot)
                    bar.set_postfix_str(_postfix(counts, len(shots)), refresh=False)
                    bar.update(1)
                if on_result is not None:
                    on_result(result)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        if pending:  # let the cancelled tasks stop before the summary is written
            ray.wait(list(pending), num_returns=len(pending), timeout=CANCEL_WAIT_S)
        raise
    finally:
        bar.close()


def _task(shot: _Shot, stage: str, sweep: Sweep) -> StageTask:
    out = shot.folder.parent.parent
    return StageTask(key=shot.plan.key, stage=stage, scene=shot.scene, folder=stage_folder(out, shot.plan.key, stage),
                     best_of=sweep.spec.best_of,
                     source=stage_folder(out, shot.plan.key, "passes") if stage == "dataset" else None)


def _recorded(shot: _Shot, stage: str | None) -> StageResult | None:
    """The recorded result of a complete upstream stage, for a task that reads it (compare: the kept seed)."""
    entry = shot.record.get("stages", {}).get(stage) if stage is not None else None
    if entry is None:
        return None
    return StageResult(shot.plan.key, stage, entry["status"], message=entry.get("message", ""), kind=entry.get("kind", ""),
                       details=entry.get("details", {}))


def _gpus(stage: str, scene: Scene, cluster: Cluster) -> int:
    """1 for a generating stage whose backend runs on CUDA (generate.device cuda, or auto on a
    cluster with GPUs), else 0: simulation, passes, metrics and the dataset export use CPUs."""
    if stage not in ("render", "compare"):
        return 0
    device = scene.spec.generate.device
    return int(device == "cuda" or (device == "auto" and cluster.gpus >= 1))


def _result(ray, ref, shot: _Shot, stage: str) -> StageResult:
    """The task's result; a task Ray gave up on (retries spent, cancelled) as a failed result."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StageResult(shot.plan.key, stage, "failed", message=f"{type(exc).__name__}: {message}", kind="error")


def _record(shot: _Shot, result: StageResult, sweep: Sweep) -> None:
    """The result into the shot's record, written at once (an interrupted batch keeps it)."""
    earlier = shot.record.get("stages", {}) if shot.record.get("spec_hash") == shot.plan.spec_hash else {}
    shot.record = {
        "key": shot.plan.key,
        "spec_hash": shot.plan.spec_hash,
        "scene": str(shot.plan.scene_file),
        "parameters": shot.plan.parameters,
        "labels": shot.plan.labels,
        "stages": {**earlier,
                   result.stage: {"status": result.status, "files": result.files, "seconds": round(result.seconds, 3),
                                  "message": result.message, "kind": result.kind, "details": result.details,
                                  "worker": result.worker, "settings": stage_settings(result.stage, sweep)}},
    }
    write_record(shot.folder, shot.record)


def _failed(shot: _Shot) -> bool:
    return any(entry.get("status") in ("failed", "skipped") for entry in shot.record.get("stages", {}).values())


def _postfix(counts: dict[str, int], total: int) -> str:
    return f"done {counts['done'] - counts['failed']}, failed {counts['failed']}, left {total - counts['done']}"


# ----------------------------------------------------------------------------- step 5
def _entry(shot: _Shot, sweep: Sweep, stages: list[str], interrupted: bool) -> dict[str, Any]:
    """batch.json's entry of one shot: parameters, status, timings and metrics."""
    recorded = shot.record.get("stages", {}) if shot.record.get("spec_hash") == shot.plan.spec_hash else {}
    entry_stages = {}
    for stage in stages:
        entry = recorded.get(stage)
        if entry is None:
            entry_stages[stage] = {"status": "not run"}
            continue
        entry_stages[stage] = {"status": entry["status"], "seconds": entry.get("seconds"), "reused": stage in shot.reused,
                               "message": entry.get("message", ""), "files": len(entry.get("files", {}))}
    statuses = [entry["status"] for entry in entry_stages.values()]
    status = ("complete" if all(s == "ok" for s in statuses) else
              "failed" if any(s in ("failed", "skipped") for s in statuses) else "interrupted" if interrupted else "incomplete")
    message = next((entry["message"] for entry in entry_stages.values() if entry["status"] == "failed"), "")
    render, compare = recorded.get("render", {}).get("details", {}), recorded.get("compare", {}).get("details", {})
    return {
        "index": shot.plan.index,
        "key": shot.plan.key,
        "folder": f"shots/{shot.plan.key}",
        "scene": str(shot.plan.scene_file),
        "name": shot.scene.spec.shot.name,
        "spec_hash": shot.plan.spec_hash,
        "parameters": shot.plan.parameters,
        "labels": shot.plan.labels,
        "status": status,
        "message": message,
        "stages": entry_stages,
        "seconds": round(sum(entry.get("seconds") or 0.0 for entry in entry_stages.values()), 3),
        "metrics": {"render": render.get("metrics"), "compare": compare.get("metrics"), "winners": compare.get("winners")},
        "best_of": {"seed": render.get("seed"), "takes": render.get("takes")} if render else None,
    }


def _write_summary(out: Path, sweep: Sweep, options: BatchOptions, cluster: Cluster | None, stages: list[str],
                   entries: tuple[dict, ...], ran: list, seconds: float, notes: tuple[str, ...]) -> None:
    counts = {status: sum(1 for e in entries if e["status"] == status) for status in ("complete", "failed", "interrupted", "incomplete")}
    write_json(out / "batch.json", {
        "sweep": str(sweep.source),
        "stages": stages,
        "combine": sweep.spec.combine,
        "best_of": sweep.spec.best_of,
        "ray": None if cluster is None else {**cluster.describe(), "workers": options.workers},
        "summary": {"shots": len(entries), **counts, "tasks_run": len(ran), "seconds": round(seconds, 3)},
        "notes": list(notes),
        "shots": list(entries),
    })
    write_index(out, f"physreel batch: {sweep.name}", list(entries), list(sweep.spec.vary))
    if options.export_dataset:
        write_json(out / "dataset" / "index.json", {
            "layout": "Kubric / MOVi files per shot (docs/batch.md, 'Dataset export')",
            "shots": [{"folder": e["key"], "parameters": e["parameters"], "status": e["stages"].get("dataset", {}).get("status")}
                      for e in entries],
        })


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold OUT/.batch.lock for the run; BatchBusyError if another process holds it."""
    out.mkdir(parents=True, exist_ok=True)
    handle = os.open(out / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchBusyError(f"another physreel batch is writing {out}; wait for it or use another -o") from None
        yield
    finally:
        os.close(handle)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."

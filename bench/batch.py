"""Benchmark of `physreel batch`: shots per minute on Ray with 1 and 2 workers, and Ray's overhead
per task against running the same shots in one process.

A 24-shot sweep of scenes/bouncing_ball.yaml (6 restitutions x 4 seeds, 1 s at 24 fps, 128x128),
stages simulate and passes: 48 tasks. Each round times
  reference  the same sweep expanded and validated, each shot's scene.yaml written and read back
             (as run_batch does before its first task), then the same 48 tasks
             (engine.batch.tasks.run_stage, the function Ray runs) one after another in this
             process, no Ray;
  Ray, N     run_batch on a local Ray instance of N workers (N = 1, 2), from expanding the sweep
             to the last record, batch.json and index.html;
and measures wall time and CPU time: of this process and its children for the reference; of this
process and every process of the Ray instance (workers and their ffmpeg children, raylet, GCS,
agents) for Ray. It prints the median over rounds of each: shots per minute with its ratio to
the reference, and two overheads per task at N workers:
  CPU   (CPU(N) - CPU(reference)) / CPU(reference): the work Ray adds (scheduling, RPC, its
        daemons, the records); independent of other load on the machine;
  wall  (N x wall(N) - wall(reference)) / wall(reference): the worker-seconds beyond the work
        itself, 0 for perfect scaling; on a shared machine other users' load shows up here.
Goal: < 5 % at 2 workers. One-time costs are printed apart and left out: starting Ray, and each
worker's first import of physreel and its compiled kernels (a warm-up shot per worker, and one in
this process before the reference). Also printed: the driver's serial seconds, before the first
task starts (expanding, validating and writing the shots) and after the last ends (batch.json,
index.html with a still per shot): the workers idle then, so at N workers they count N times in
the wall overhead. Last, the data that crosses the network per task.

    /work/venv/bin/python bench/batch.py [--shots 24] [--size 128] [--workers 1,2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import resource
import shutil
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where other benchmarks are named
# like physreel's packages (bench/sim.py): import the packages, not those scripts.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from physreel.engine.batch import BatchOptions, load_sweep, run_batch  # noqa: E402
from physreel.engine.batch.cluster import ray_cluster  # noqa: E402
from physreel.engine.batch.expand import expand_sweep  # noqa: E402
from physreel.engine.batch.resume import stage_folder  # noqa: E402
from physreel.engine.batch.run import shot_scene, shot_yaml  # noqa: E402
from physreel.engine.batch.tasks import StageTask, run_stage  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAGES = ("simulate", "passes")


def write_sweep(folder: Path, shots: int, size: int, tag: str) -> Path:
    seeds = max(1, shots // 6)
    text = f"""
        scenes: [{REPO / 'scenes' / 'bouncing_ball.yaml'}]
        set: {{shot.duration: 1.0, camera.resolution: [{size}, {size}], shot.name: {tag}}}
        vary:
          objects.ball.material.restitution: [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
          shot.seed: range(0, {seeds})
        stages: [simulate, passes]
        """
    path = folder / f"{tag}.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def tasks_for(sweep, out: Path) -> list[StageTask]:
    """The batch's tasks, as run_batch makes them (the shot's scene read back from its own scene.yaml)."""
    tasks = []
    for plan in expand_sweep(sweep)[0]:
        folder = out / "shots" / plan.key
        folder.mkdir(parents=True, exist_ok=True)
        text = shot_yaml(plan, sweep)
        (folder / "scene.yaml").write_text(text)
        scene = dataclasses.replace(shot_scene(plan, text), source=folder / "scene.yaml")
        tasks += [StageTask(plan.key, stage, scene, stage_folder(out, plan.key, stage)) for stage in STAGES]
    return tasks


def reference(sweep, out: Path) -> float:
    tasks = tasks_for(sweep, out)
    started = time.perf_counter()
    for task in tasks:
        assert run_stage(task).status == "ok"
    return time.perf_counter() - started


def warm_up(workers: int, warm_sweep, out: Path) -> None:
    """One warm-up shot per worker: each worker's imports and compiled kernels are one-time costs."""
    import ray

    remote = ray.remote(run_stage)
    tasks = tasks_for(warm_sweep, out)
    refs = [remote.options(num_cpus=1).remote(task) for task in tasks[: 2 * workers]]
    ray.get(refs)


def timed_batch(sweep, out: Path, arrived: list[tuple[float, float]]):
    """(start, end, result) of run_batch; `arrived` gets (when the driver got it, the task's seconds) per result."""
    begun = time.perf_counter()
    result = run_batch(sweep, out, BatchOptions(quiet=True), on_result=lambda r: arrived.append((time.perf_counter(), r.seconds)))
    return begun, time.perf_counter(), result


def cpu_seconds(root_pid: int) -> float:
    """CPU seconds (user + system, with reaped children) of `root_pid`'s live descendants, not itself."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, times = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / tick

    def descends(pid: int) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == root_pid:
                return True
        return False

    return sum(t for pid, t in times.items() if descends(pid))


def own_cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def measure(fn, *args) -> tuple[float, float, object]:
    """(wall s, CPU s of this process and all its descendants, result) of fn(*args)."""
    cpu, wall = own_cpu() + cpu_seconds(os.getpid()), time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - wall, own_cpu() + cpu_seconds(os.getpid()) - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shots", type=int, default=24)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workers_list = [int(w) for w in args.workers.split(",")]
    root = Path(tempfile.mkdtemp(prefix="physreel-bench-batch-"))
    try:
        sweep = load_sweep(write_sweep(root, args.shots, args.size, "bench"))
        warm = load_sweep(write_sweep(root, 6, args.size, "warm"))
        shots = len(expand_sweep(sweep)[0])
        reference(warm, root / "warm-ref")  # imports, numba kernels, caches: one-time
        runs: dict[str, list[tuple[float, float]]] = {"reference": []}
        startup: dict[int, list[float]] = {w: [] for w in workers_list}
        serial: dict[int, list[tuple[float, float]]] = {w: [] for w in workers_list}
        for round_ in range(args.rounds):
            # the same preparation as run_batch's (expand, validate, write and read back each scene.yaml)
            wall, cpu, results = measure(lambda out: [run_stage(task) for task in tasks_for(sweep, out)], root / f"ref{round_}")
            assert all(result.status == "ok" for result in results)
            runs["reference"].append((wall, cpu))
            for workers in workers_list:
                started = time.perf_counter()
                with ray_cluster(workers=workers, temp_dir=root / f"r{round_}{workers}"):
                    startup[workers].append(time.perf_counter() - started)
                    warm_up(workers, warm, root / f"warm{round_}-{workers}")
                    arrived: list[tuple[float, float]] = []
                    wall, cpu, (begun, ended, result) = measure(timed_batch, sweep, root / f"out{round_}-{workers}", arrived)
                assert len(result.ran) == 2 * shots and not result.failed
                runs.setdefault(workers, []).append((wall, cpu))
                # the first task began at its result's arrival less its seconds (and the result's way back, ~ms)
                serial[workers].append((min(t - s for t, s in arrived) - begun, ended - max(t for t, _ in arrived)))
            shutil.rmtree(root / f"ref{round_}", ignore_errors=True)
        median = {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
                  for name, values in runs.items()}
        ref_wall, ref_cpu = median["reference"]
        print(f"{shots} shots of scenes/bouncing_ball.yaml (1 s, 24 frames, {args.size}x{args.size}), stages "
              f"simulate + passes: {2 * shots} tasks; median of {args.rounds} rounds")
        print(f"{'':26s}{'wall s':>8s}{'CPU s':>8s}{'shots/min':>11s}{'ratio to reference':>20s}")
        for name, (wall, cpu) in median.items():
            label = "one process (reference)" if name == "reference" else f"Ray, {name} worker{'s' if name > 1 else ''}"
            print(f"{label:26s}{wall:8.1f}{cpu:8.1f}{60 * shots / wall:11.1f}{ref_wall / wall:20.2f}")
        for workers in workers_list:
            wall, cpu = median[workers]
            print(f"Ray overhead per task, {workers} worker{'s' if workers > 1 else ''}: CPU {100 * (cpu - ref_cpu) / ref_cpu:+.1f} % "
                  f"({(cpu - ref_cpu) / (2 * shots) * 1000:+.0f} ms per task), wall {100 * (workers * wall - ref_wall) / ref_wall:+.1f} %"
                  f"   (goal < 5 % at 2 workers)")
        print("rounds (wall s, CPU s): " + "; ".join(f"{name}: " + ", ".join(f"{w:.1f}/{c:.1f}" for w, c in values)
                                                  for name, values in runs.items()))
        print("one-time, left out above: Ray start-up " + ", ".join(f"{w} worker(s) {statistics.median(s):.1f} s"
                                                                   for w, s in startup.items()))
        print("driver alone, workers idle (median): " + ", ".join(
            f"{w} worker(s): {statistics.median(h for h, _ in s):.2f} s before the first task, "
            f"{statistics.median(t for _, t in s):.2f} s after the last" for w, s in serial.items()))
        task = tasks_for(sweep, root / "sizes")[1]
        run_stage(task)
        done = run_stage(task)
        print(f"per task over the network: task {len(pickle.dumps(task)) / 1024:.1f} KB, result "
              f"{len(pickle.dumps(done)) / 1024:.1f} KB; files per shot: "
              + ", ".join(f"{stage} {sum(p.stat().st_size for p in (task.folder.parent / stage).rglob('*') if p.is_file()) / 1024:.0f} KB"
                          for stage in STAGES if (task.folder.parent / stage).exists()))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

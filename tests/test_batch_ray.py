"""`physreel batch` on a real local Ray instance (2 CPUs, loopback only, its session folder in a
tmp path): every shot byte for byte what its command makes alone; a worker killed mid-task loses
nothing; a rerun after an interruption redoes only what is missing; a failing shot is recorded
while the others complete; the index, batch.json and the dataset export."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from physreel.engine.batch import BatchOptions, load_sweep, run_batch
from physreel.engine.batch.cluster import ray_cluster
from physreel.engine.batch.dataset import planar_to_distance
from physreel.engine.batch.expand import expand_sweep
from physreel.engine.cli import main

GOLDEN = Path(__file__).parent / "golden" / "scene.yaml"
OPTIONS = BatchOptions(quiet=True)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the module, as `physreel batch --workers 2` starts it; shut down after."""
    with short_temp_dir() as temp, ray_cluster(workers=2, temp_dir=temp) as cluster:
        import ray

        assert cluster.resources["CPU"] == 2
        assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}  # loopback only
        assert Path(ray.get_runtime_context().get_temp_dir()).is_relative_to(temp)
        yield cluster
    assert not ray.is_initialized()


@contextlib.contextmanager
def short_temp_dir():
    """A fresh folder in the system's tmp, removed after: Ray's socket paths under it must fit in 107 bytes,
    which pytest's tmp_path (under xdist) does not always leave room for."""
    folder = Path(tempfile.mkdtemp(prefix="ray-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_sweep(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(GOLDEN, folder / "tiny.yaml")
    (folder / "sweep.yaml").write_text(textwrap.dedent(text).lstrip())
    return folder / "sweep.yaml"


SMALL = """
    scenes: [tiny.yaml]
    set: {shot.duration: 0.25}
    vary:
      objects.ball.material.restitution: [0.5, 0.9]
      objects.ball.velocity: [[0.3, 0, 0], [150, 0, 0]]   # 150 m/s: an unstable simulation
    stages: [simulate, passes]
    """


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def tasks_of(result) -> set[tuple[str, str]]:
    return set(result.ran) | set(result.reused)


@pytest.fixture(scope="module")
def small_batch(ray_local, tmp_path_factory):
    """The small sweep with the dataset export: 2 shots complete, 2 unstable."""
    root = tmp_path_factory.mktemp("small")
    sweep = load_sweep(make_sweep(root, SMALL))
    result = run_batch(sweep, root / "out", BatchOptions(export_dataset=True, quiet=True))
    return sweep, result, root / "out"


def test_every_shot_is_byte_for_byte_its_commands_run_alone(small_batch, tmp_path):
    sweep, result, out = small_batch
    complete = [shot for shot in result.shots if shot["status"] == "complete"]
    assert len(complete) == 2
    for shot in complete:
        scene_file = out / shot["folder"] / "scene.yaml"
        for stage in ("simulate", "passes"):
            alone = tmp_path / shot["key"] / stage
            assert main(["--quiet", stage, str(scene_file), "-o", str(alone)]) == 0
            batch_files = files_of(out / shot["folder"] / stage)
            assert batch_files == files_of(alone), f"{shot['key']} {stage}"
            assert "passes.npz" in batch_files or stage == "simulate"
            record = json.loads((out / shot["folder"] / "shot.json").read_text())["stages"][stage]
            assert record["status"] == "ok" and sorted(record["files"]) == sorted(batch_files)


def test_a_failing_shot_is_recorded_and_the_others_complete(small_batch):
    sweep, result, out = small_batch
    failed = [shot for shot in result.shots if shot["status"] == "failed"]
    assert [shot["parameters"]["objects.ball.velocity"] for shot in failed] == [[150, 0, 0], [150, 0, 0]]
    for shot in failed:
        assert shot["message"].startswith("unstable simulation: object 'ball' moves at 150 m/s at t=0.000 s")
        assert shot["stages"]["passes"]["status"] == "failed" and shot["stages"]["dataset"]["status"] == "skipped"
        assert not (out / shot["folder"] / "passes").exists()
    summary = json.loads((out / "batch.json").read_text())["summary"]
    assert (summary["shots"], summary["complete"], summary["failed"]) == (4, 2, 2)
    again = run_batch(sweep, out, BatchOptions(export_dataset=True, quiet=True))  # an unstable spec stays failed
    assert not again.ran and len(again.reused) == 12 and len(again.failed) == 2


def test_batch_json_and_the_index_list_every_shot(small_batch):
    sweep, result, out = small_batch
    data = json.loads((out / "batch.json").read_text())
    assert [shot["key"] for shot in data["shots"]] == [shot.key for shot in expand_sweep(sweep)[0]]
    first = data["shots"][0]
    assert first["parameters"] == {"shot.duration": 0.25, "objects.ball.material.restitution": 0.5,
                                   "objects.ball.velocity": [0.3, 0, 0]}
    assert first["stages"]["passes"]["seconds"] > 0 and first["spec_hash"].startswith(first["key"][-12:])
    page = (out / "index.html").read_text()
    assert page.count("<tr") == 5 and page.count("data:image/png;base64,") == 2  # head + 4 shots; 2 previews
    assert "unstable simulation" in page and "objects.<wbr>ball.<wbr>material.<wbr>restitution" in page
    assert page.count("<td data-value='0.5'>0.5</td>") == 2  # a varied value sorts as a number
    assert "http" not in page.replace("http-equiv", "")  # self-contained


def test_the_dataset_export_decodes_to_the_passes(small_batch):
    _, result, out = small_batch
    shot = next(s for s in result.shots if s["status"] == "complete")
    folder = out / "dataset" / shot["key"]
    meta = json.loads((folder / "metadata.json").read_text())
    with np.load(out / shot["folder"] / "passes" / "passes.npz") as npz:
        passes = {name: npz[name] for name in npz.files}
    K = np.array(meta["camera"]["K"])
    lo, hi = meta["metadata"]["depth_range"]
    depth = cv2.imread(str(folder / "depth_00001.png"), cv2.IMREAD_UNCHANGED)
    seg = cv2.imread(str(folder / "segmentation_00001.png"), cv2.IMREAD_UNCHANGED)
    distance = planar_to_distance(passes["depth"], K)[1]
    hit = seg > 0
    assert np.array_equal(hit, np.isfinite(distance)) and np.array_equal(seg, passes["seg"][1])
    assert np.all(depth[~hit] == 65535)
    assert np.abs(depth[hit] / 65535 * (hi - lo) + lo - distance[hit]).max() <= (hi - lo) / 65535
    flow = cv2.imread(str(folder / "forward_flow_00001.png"), cv2.IMREAD_UNCHANGED)[..., ::-1]  # RGB: row, column, 0
    lo, hi = meta["metadata"]["forward_flow_range"]
    decoded = flow[..., :2] / 65535 * (hi - lo) + lo
    assert np.abs(decoded - passes["flow_fwd"][1][..., ::-1]).max() <= (hi - lo) / 65535 and not flow[..., 2].any()
    camera = meta["camera"]
    assert np.allclose(camera["positions"][0], [0.4, -2.5, 1.0]) and len(camera["quaternions"]) == 6 // 2
    w, x, y, z = camera["quaternions"][0]  # Blender camera: looks down its -Z, which must point at look_at
    forward = -np.array([2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)])
    target = np.array([0.0, 0.0, 0.3]) - np.array([0.4, -2.5, 1.0])
    assert np.allclose(forward, target / np.linalg.norm(target), atol=1e-6)
    ball = next(i for i in meta["instances"] if i["name"] == "ball")
    assert ball["restitution"] == 0.5 and len(ball["positions"]) == 3 and ball["visibility"][0] > 0


def test_a_rerun_redoes_only_missing_or_damaged_stages_and_leaves_the_rest(ray_local, tmp_path):
    sweep = load_sweep(make_sweep(tmp_path, SMALL.replace("[150, 0, 0]", "[0, 0.2, 0]")))
    first = run_batch(sweep, tmp_path / "out", OPTIONS)
    assert len(first.ran) == 8 and not first.reused and not first.failed
    keys = [shot["key"] for shot in first.shots]
    out = tmp_path / "out" / "shots"
    before = stage_files(out)
    (out / keys[0] / "passes" / "passes.npz").unlink()                     # a partial stage
    damaged = out / keys[1] / "simulate" / "trajectory.npz"                # a changed byte
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    (out / keys[2] / ".passes.abc.part").mkdir()                           # what a killed task leaves
    second = run_batch(sweep, tmp_path / "out", OPTIONS)
    assert sorted(second.ran) == sorted([(keys[0], "passes"), (keys[1], "simulate")])
    assert len(second.reused) == 6 and not (out / keys[2] / ".passes.abc.part").exists()
    after = stage_files(out)
    assert {p: b for p, (_, b) in after.items()} == {p: b for p, (_, b) in before.items()}  # same bytes again
    untouched = [p for p in before if keys[0] not in str(p) and keys[1] not in str(p)]
    assert all(after[p][0] == before[p][0] for p in untouched)  # complete shots were not rewritten
    third = run_batch(sweep, tmp_path / "out", OPTIONS)
    assert not third.ran and len(third.reused) == 8


def test_a_rerun_after_an_interrupted_batch_does_only_what_was_missing(ray_local, tmp_path):
    sweep = load_sweep(make_sweep(tmp_path, SMALL.replace("[150, 0, 0]", "[0, 0.2, 0]")))
    recorded = []

    def interrupt_after_three(result):
        recorded.append((result.key, result.stage))
        if len(recorded) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(sweep, tmp_path / "out", OPTIONS, on_result=interrupt_after_three)
    summary = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert summary["summary"]["tasks_run"] == 3 and summary["summary"]["interrupted"] + summary["summary"]["complete"] == 4
    rerun = run_batch(sweep, tmp_path / "out", OPTIONS)
    assert set(rerun.reused) == set(recorded)
    assert set(rerun.ran) == tasks_of(rerun) - set(recorded) and len(tasks_of(rerun)) == 8
    assert all(shot["status"] == "complete" for shot in rerun.shots)


KILL = """
    scenes: [tiny.yaml]
    set: {shot.name: killtest, shot.duration: 2.0, camera.resolution: [256, 192]}
    vary: {objects.ball.material.restitution: [0.5, 0.9]}
    stages: [passes]
    """


def test_a_worker_killed_mid_task_loses_nothing(ray_local, tmp_path):
    sweep = load_sweep(make_sweep(tmp_path, KILL))
    out = tmp_path / "out"
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=run_batch(sweep, out, OPTIONS)))
    runner.start()
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and runner.is_alive() and time.monotonic() < deadline:
        staging = list((out / "shots").glob("killtest-*/.passes.*.part"))  # a task is writing its files
        workers = [pid for pid, title in _processes() if title.startswith("ray::passes killtest-")]
        if staging and workers:
            victim = workers[0]
            os.kill(victim, signal.SIGKILL)
        time.sleep(0.02)
    runner.join(timeout=300)
    assert victim is not None, "no passes task was caught running"
    result = outcome["result"]
    assert [shot["status"] for shot in result.shots] == ["complete", "complete"]
    assert all(int(entry["stages"]["passes"]["worker"]["pid"]) != victim
               for entry in (json.loads((out / s["folder"] / "shot.json").read_text()) for s in result.shots))
    assert not list((out / "shots").glob("*/.*.part*"))
    for shot in result.shots:  # every file whole: the same bytes as the command alone
        alone = tmp_path / "alone" / shot["key"]
        assert main(["--quiet", "passes", str(out / shot["folder"] / "scene.yaml"), "-o", str(alone)]) == 0
        assert files_of(out / shot["folder"] / "passes") == files_of(alone)


def stage_files(shots: Path) -> dict[Path, tuple[int, bytes]]:
    """Every file of the shots' stage folders and scene files (not the driver's records) -> (mtime, bytes)."""
    return {path: (path.stat().st_mtime_ns, path.read_bytes()) for path in shots.rglob("*")
            if path.is_file() and path.name != "shot.json"}


def _processes() -> list[tuple[int, str]]:
    """(pid, command line) of this test process's descendants: the workers of its own Ray instance,
    never another session's."""
    parents, lines = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError, ValueError):
                continue

    def mine(pid: int) -> bool:
        while pid in parents and pid > 1:
            pid = parents[pid]
            if pid == os.getpid():
                return True
        return False

    return [(pid, line) for pid, line in lines.items() if mine(pid)]


GENERATE = """
    scenes: [tiny.yaml]
    vary: {objects.ball.material.restitution: [0.5, 0.9]}
    stages: [render, compare]
    best_of: 2
    """


@pytest.mark.slow
def test_best_of_keeps_the_best_scored_take_and_compare_scores_it_against_unguided(ray_local, tmp_path):
    sweep = load_sweep(make_sweep(tmp_path, GENERATE))
    out = tmp_path / "out"
    result = run_batch(sweep, out, OPTIONS)
    assert [shot["status"] for shot in result.shots] == ["complete", "complete"]
    # alone: a fresh process with one thread, as a Ray task with 1 CPU runs (torch's CPU sums depend on the thread count)
    alone_env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for shot in result.shots:
        takes = shot["best_of"]["takes"]
        assert sorted(take["seed"] for take in takes) == [5, 6]
        assert takes[0]["rank_sum"] <= takes[1]["rank_sum"] and shot["best_of"]["seed"] == takes[0]["seed"]
        assert shot["metrics"]["compare"]["flow_epe_object"]["guided"] is not None
        scene_file, best = out / shot["folder"] / "scene.yaml", str(shot["best_of"]["seed"])
        alone = tmp_path / "alone" / shot["key"]
        for command in (["render", "--seed", best], ["compare", "--seeds", best]):
            done = subprocess.run([sys.executable, "-m", "physreel.engine", "--quiet", command[0], str(scene_file),
                                   "-o", str(alone / command[0]), *command[1:]], env=alone_env, timeout=600)
            assert done.returncode == 0
        for stage in ("render", "compare"):
            got, want = files_of(out / shot["folder"] / stage), files_of(alone / stage)
            assert sorted(got) == sorted(want)
            differ = [name for name in got if got[name] != want[name]]
            assert differ == (["meta.json"] if stage == "render" else []), differ
            if differ:  # only the measured seconds may differ
                strip = lambda data: {k: v for k, v in json.loads(data)["generate"]["guided"].items() if k != "seconds"}
                assert strip(got["meta.json"]) == strip(want["meta.json"])
    page = (out / "index.html").read_text()
    assert page.count("data:video/mp4;base64,") == 2 and page.count("/compare/report.html'>report</a>") == 2


def test_the_command_starts_its_own_local_ray_and_exits_1_when_a_shot_failed(tmp_path):
    sweep = make_sweep(tmp_path, SMALL.replace("stages: [simulate, passes]", "stages: [simulate]"))
    command = [sys.executable, "-m", "physreel.engine", "batch", str(sweep), "-o", str(tmp_path / "out"), "--workers", "2"]
    too_long = subprocess.run([*command, "--temp-dir", str(tmp_path / ("x" * 60))], capture_output=True, text=True, timeout=300)
    assert too_long.returncode == 2 and "Ray's socket paths under it would exceed 107 bytes" in too_long.stderr
    assert not (tmp_path / "out").exists()
    with short_temp_dir() as temp:
        done = subprocess.run([*command, "--temp-dir", str(temp)], capture_output=True, text=True, timeout=300)
        sessions = list(temp.glob("session_*"))  # Ray's session folder where it was told
    assert done.returncode == 1, done.stderr[-2000:]
    assert "4 shots, 2 complete, 2 failed; 4 tasks run, 0 complete before" in done.stdout
    assert done.stderr.count("unstable simulation: object 'ball' moves at 150 m/s") == 2
    assert "batch: 100%" in done.stderr and "done 2, failed 2, left 0" in done.stderr  # the progress bar
    assert sessions
    assert (tmp_path / "out" / "index.html").is_file()

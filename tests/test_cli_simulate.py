"""`physreel simulate SCENE -o OUT`: files, summary, exit statuses, nothing half-written, determinism."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from physreel.engine.cli import main

REPO = Path(__file__).resolve().parents[1]

BALL = """\
shot: {duration: 0.5, fps: 24}
camera: {resolution: [64, 64]}
objects:
  - {name: floor, shape: plane}
  - {name: ball, shape: sphere, radius: 0.1, position: [0, 0, 1]}
  - {name: box, shape: box, position: [0.3, 0, 0.6], euler_deg: [20, 10, 0], repeat: {count: 3, step: [0, 0.25, 0.1]}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scene.yaml"
    path.write_text(text)
    return path


def test_simulate_writes_trajectory_and_meta_and_prints_one_summary_line(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["simulate", str(write(tmp_path, BALL)), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert "12 frames (0.5 s at 24 fps, 240 Hz physics), 5 parts" in lines[0]
    with np.load(out / "trajectory.npz") as npz:
        assert npz["position"].shape == (13, 5, 3)
    assert json.loads((out / "meta.json").read_text())["num_frames"] == 12


def test_quiet_prints_nothing_at_all(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "physreel", "simulate", str(write(tmp_path, BALL)), "-o", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_a_bad_spec_exits_2_with_file_line_col_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    scene = write(tmp_path, BALL.replace("radius: 0.1", "radius: -0.1"))
    assert main(["simulate", str(scene), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{scene}:5:") and "objects[1].radius" in err[0]
    assert not out.exists()


def test_a_urdf_joint_the_file_lacks_exits_2_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    scene = write(tmp_path, BALL + "  - {name: man, shape: urdf, file: humanoid/humanoid.urdf, scale: 0.25, position: [2, 0, 1], joint_positions: {elbow: 0.5}}\n")
    assert main(["simulate", str(scene), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "objects[3].joint_positions.elbow: 'man' has no joint 'elbow' (revolute/prismatic joints: left_elbow, left_knee, right_elbow, right_knee)" in err
    assert not out.exists()


def test_an_unstable_scene_exits_3_naming_the_object_and_time_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    scene = write(tmp_path, BALL.replace("position: [0, 0, 1]}", "position: [0, 0, 1], velocity: [0, 0, 500]}"))
    assert main(["simulate", str(scene), "-o", str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert err == (
        "physreel simulate: unstable simulation: object 'ball' moves at 500 m/s at t=0.000 s (limit 100 m/s); "
        "lower its velocity, raise physics_hz or check overlapping objects"
    )
    assert not out.exists()


def test_an_existing_out_folder_keeps_its_other_files_when_a_run_fails(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    scene = write(tmp_path, BALL.replace("position: [0, 0, 1]}", "position: [0, 0, 1], velocity: [0, 0, 500]}"))
    assert main(["simulate", str(scene), "-o", str(out), "--quiet"]) == 3
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["simulate", str(write(tmp_path, BALL)), "-o", str(target)]) == 2
    assert "is a file; give a folder" in capsys.readouterr().err


def test_two_processes_write_byte_identical_files(tmp_path):
    scene = write(tmp_path, BALL)
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        env = dict(os.environ, PYTHONHASHSEED={"a": "1", "b": "2"}[run])  # set iteration order must not matter
        subprocess.run([sys.executable, "-m", "physreel", "simulate", str(scene), "-o", str(out), "-q"], check=True, cwd=REPO, env=env, timeout=120)
        digests.append({name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in ("trajectory.npz", "meta.json")})
    assert digests[0] == digests[1]

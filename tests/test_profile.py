"""`--profile` (sim/timing.py, engine/cli/args.py): each stage's own wall and CPU time, as a table
and in meta.json, for passes, render and compare.

Tolerances: the stages partition the recording by construction (own time = span less the spans
inside it; `other` = total less the stages), so the rows add up to the total to rounding (1 ms
wall, 20 ms CPU: os.times() ticks are 10 ms and two reads each way are rounded); `other`, the
time outside every named stage, stays under 5 % of the total plus 0.3 s (argument checks, folder
checks, meta.json's last update).
"""

from __future__ import annotations

import json
import time

import pytest

from physreel.engine.cli import main
from physreel.sim.timing import OTHER, StageTimes, recording, timed

SCENE = """\
shot: {name: profile_ball, duration: 0.5, fps: 8, seed: 1, prompt: a red ball falls on a grey floor}
camera: {resolution: [32, 32], fov_deg: 45, position: [0.0, -3.0, 0.8], look_at: [0.0, 0.0, 0.5]}
objects:
  - {name: floor, shape: plane, color: [0.6, 0.6, 0.6]}
  - {name: ball, shape: sphere, radius: 0.2, position: [0.0, 0.0, 1.0], color: [0.9, 0.1, 0.1]}
"""


def _spin(seconds: float) -> None:
    """Busy for `seconds` of this process's CPU time (on a loaded machine that takes longer in wall time)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


# ----------------------------------------------------------------------------- spans
def test_a_span_counts_its_own_time_less_the_spans_inside_it():
    with recording() as times:
        with timed("outer"):
            _spin(0.05)
            with timed("inner"):
                _spin(0.10)
            with timed("inner"):  # the same stage again adds up
                _spin(0.05)
        times.stop()
    assert list(times.wall) == ["outer", "inner"]
    assert times.cpu["outer"] == pytest.approx(0.05, abs=0.025)  # os.times() ticks are 10 ms
    assert times.cpu["inner"] == pytest.approx(0.15, abs=0.025)
    assert times.wall["outer"] >= 0.03 and times.wall["inner"] >= 0.13  # one thread: wall >= CPU


def test_rows_add_up_to_the_total_and_other_is_the_time_outside_every_span():
    with recording() as times:
        _spin(0.05)  # outside every span
        with timed("work"):
            _spin(0.05)
        times.stop()
    rows = times.rows()
    wall, cpu = times.total()
    assert [r.stage for r in rows] == ["work", OTHER]
    assert sum(r.wall_s for r in rows) == pytest.approx(wall, abs=1e-9)
    assert sum(r.cpu_s for r in rows) == pytest.approx(cpu, abs=1e-9)
    assert rows[1].cpu_s == pytest.approx(0.05, abs=0.025)
    assert sum(r.share for r in rows) == pytest.approx(1.0)


def test_spans_record_nothing_without_a_recording_and_nested_recordings_share_one():
    with timed("nobody listens"):
        pass
    with recording() as outer:
        with recording() as inner, timed("x"):
            pass
    assert inner is outer and list(outer.wall) == ["x"]
    with recording() as fresh:
        pass
    assert "nobody listens" not in fresh.wall


def test_a_span_that_raises_still_counts():
    times = StageTimes()
    with recording(times), pytest.raises(ValueError), timed("fails"):
        raise ValueError("boom")
    assert "fails" in times.wall and not times._children


# ----------------------------------------------------------------------------- commands
def _check_profile(out, printed: str, stages: set[str]) -> dict:
    """The meta.json profile, checked against the printed table and the tolerances of the module docstring."""
    profile = json.loads((out / "meta.json").read_text())["profile"]
    rows = {row["stage"]: row for row in profile["stages"]}
    assert stages <= set(rows), f"missing stages {stages - set(rows)}"
    total = profile["total"]
    assert sum(r["wall_s"] for r in rows.values()) == pytest.approx(total["wall_s"], abs=1e-3)
    assert sum(r["cpu_s"] for r in rows.values()) == pytest.approx(total["cpu_s"], abs=0.02)
    assert rows[OTHER]["wall_s"] <= 0.05 * total["wall_s"] + 0.3, rows[OTHER]
    for stage in stages:  # every stage is a row of the printed table, with its seconds
        assert any(line.startswith(stage + " ") and "%" in line for line in printed.splitlines()), stage
    assert printed.splitlines()[-1].startswith("total")
    return rows


def test_passes_profile_prints_the_table_and_writes_meta(tmp_path, capsys):
    scene = tmp_path / "ball.yaml"
    scene.write_text(SCENE)
    assert main(["--quiet", "passes", str(scene), "-o", str(tmp_path / "plain")]) == 0
    assert "profile" not in json.loads((tmp_path / "plain" / "meta.json").read_text())  # only when asked
    assert capsys.readouterr().out == ""
    assert main(["--quiet", "passes", str(scene), "-o", str(tmp_path / "out"), "--profile"]) == 0
    rows = _check_profile(tmp_path / "out", capsys.readouterr().out,
                          {"load", "simulate", "particles", "passes", "control images", "encoding"})
    assert "start-up" not in rows  # called in-process: the recording starts with the command


def test_render_profile_names_model_load_and_each_video(tmp_path, capsys):
    from physreel.engine.testing.tiny_models import write_tiny_animatediff

    model = write_tiny_animatediff(tmp_path / "model")
    scene = tmp_path / "ball.yaml"
    scene.write_text(SCENE)
    assert main(["--quiet", "render", str(scene), "-o", str(tmp_path / "out"), "--backend", "animatediff",
                 "--model", str(model), "--steps", "2", "--resolution", "32x32", "--seed", "7", "--profile"]) == 0
    _check_profile(tmp_path / "out", capsys.readouterr().out,
                   {"load", "simulate", "particles", "passes", "control images", "request", "model load",
                    "generate guided seed 7", "encoding"})


def test_compare_profile_covers_metrics_report_and_encoding(tmp_path, capsys):
    from physreel.engine.testing.tiny_models import write_tiny_animatediff

    model = write_tiny_animatediff(tmp_path / "model")
    scene = tmp_path / "ball.yaml"
    # compare has no --resolution flag: the spec keeps the tiny model's videos at 32 px (its native
    # 512 px would make this a ten-minute test of the tiny model rather than of the profile).
    scene.write_text(SCENE + "generate: {resolution: [32, 32]}\n")
    assert main(["--quiet", "compare", str(scene), "-o", str(tmp_path / "out"), "--backend", "animatediff",
                 "--model", str(model), "--steps", "2", "--seeds", "0,1", "--profile"]) == 0
    _check_profile(tmp_path / "out", capsys.readouterr().out,
                   {"load", "simulate", "particles", "passes", "control images", "model load", "generate guided seed 0",
                    "generate unguided seed 1", "second take", "metrics", "report", "encoding"})


def test_the_command_process_counts_its_start_up(tmp_path):
    import subprocess

    scene = tmp_path / "ball.yaml"
    scene.write_text(SCENE)
    done = subprocess.run(["physreel", "-q", "passes", str(scene), "-o", str(tmp_path / "out"), "--profile",
                           "--no-previews"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = _check_profile(tmp_path / "out", done.stdout, {"start-up", "load", "simulate", "passes", "encoding"})
    assert list(rows)[0] == "start-up" and rows["start-up"]["wall_s"] > 0.1  # at least the imports of numpy and pybullet

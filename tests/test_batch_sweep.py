"""The sweep file of `physreel batch`: every error path (file:line:col: field: problem (fix), exit 2,
nothing written), the expansion into shots, and each shot's own scene file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from physreel.engine.batch.expand import expand_sweep
from physreel.engine.batch.run import shot_yaml
from physreel.engine.batch.sweep import load_sweep
from physreel.engine.cli import main
from physreel.sim.spec import SpecError, load_scene, scene_from_data

GOLDEN = Path(__file__).parent / "golden" / "scene.yaml"


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A folder holding the tiny golden scene as tiny.yaml; the working directory, so paths print short."""
    shutil.copy(GOLDEN, tmp_path / "tiny.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sweep_file(folder: Path, text: str, name: str = "sweep.yaml") -> str:
    (folder / name).write_text(textwrap.dedent(text).lstrip())
    return name


def problems(folder: Path, text: str) -> list[str]:
    """The error lines of loading and expanding the sweep."""
    with pytest.raises(SpecError) as caught:
        expand_sweep(load_sweep(sweep_file(folder, text)))
    return [str(issue) for issue in caught.value.issues]


# ----------------------------------------------------------------------------- the file itself
@pytest.mark.parametrize("text, expected", [
    ("scenes: [tiny.yaml]\nstages: [simulate]\nvaryy: {}\n",
     "sweep.yaml:3:1: varyy: unknown key 'varyy' (did you mean 'vary'?)"),
    ("scenes: [tiny.yaml]\nstages: [simulate, rendr]\n",
     "sweep.yaml:2:20: stages[1]: 'rendr' is not allowed here (did you mean 'render'?)"),
    ("scenes: [tiny.yaml]\n",
     "sweep.yaml:1:1: stages: required field 'stages' is missing (add stages: a list of simulate, passes, render, compare)"),
    ("stages: [passes]\n",
     "sweep.yaml:1:1: scenes: required field 'scenes' is missing (add scenes: [path/to/scene.yaml])"),
    ("scenes: []\nstages: [passes]\n", "sweep.yaml:1:9: scenes: is empty (give at least one item)"),
    ("scenes: [tiny.yaml]\nstages: [passes, passes]\n",
     "sweep.yaml:2:9: stages: stage 'passes' is listed twice (list each stage once)"),
    ("scenes: [tiny.yaml]\nstages: [render]\nbest_of: 0\n",
     "sweep.yaml:3:10: best_of: must be at least 1, got 0 (best_of is the number of takes rendered per shot)"),
    ("scenes: [tiny.yaml]\nstages: [render]\nbest_of: 65\n",
     "sweep.yaml:3:10: best_of: must be at most 64, got 65 (best_of is the number of takes rendered per shot)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nbest_of: 3\n",
     "sweep.yaml:3:10: best_of: best_of 3 ranks the takes of the render stage, which is not run "
     "(add render to stages, or set best_of: 1)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nset: {shot.seed: 1}\nvary: {shot.seed: [2, 3]}\n",
     "sweep.yaml:4:8: vary.shot.seed: shot.seed is both set and varied (keep it in one of set and vary)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary: {shot..seed: [2, 3]}\n",
     "sweep.yaml:3:8: vary.'shot..seed': 'shot..seed' is not a dotted field path "
     "(write fields joined by dots, e.g. objects.ball.material.restitution)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\ncombine: cross\n",
     "sweep.yaml:3:10: combine: 'cross' is not allowed here (one of product, zip)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary: [shot.seed]\n",
     "sweep.yaml:3:7: vary: expected a mapping of path: value lines, got [shot.seed] "
     "(e.g. objects.ball.material.restitution: [0.5, 0.9])"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary:\n  shot.seed: range(0, 5, 0)\n",
     "sweep.yaml:4:14: vary.shot.seed: 'range(0, 5, 0)' has step 0 (e.g. range(0, 20) for 0, 1, ..., 19)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary: {shot.seed: range(0.5)}\n",
     "sweep.yaml:3:19: vary.shot.seed: 'range(0.5)' is not range(stop), range(start, stop) or range(start, stop, step) "
     "(e.g. range(0, 20) for 0, 1, ..., 19)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary: {shot.seed: []}\n",
     "sweep.yaml:3:19: vary.shot.seed: gives no value (give at least one value)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary: {shot.seed: 4}\n",
     "sweep.yaml:3:19: vary.shot.seed: expected a list of values, range(...) or named values, got 4 "
     "(write shot.seed: [4] for one value, or move it under set:)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\ncombine: zip\nvary:\n  shot.seed: [1, 2, 3]\n  shot.fps: [12, 24]\n",
     "sweep.yaml:6:3: vary.shot.fps: has 2 values but shot.seed has 3 (combine: zip takes the i-th value of every path "
     "together; give every path the same number of values, or use combine: product)"),
    ("scenes: [tiny.yaml]\nstages: [passes]\nvary:\n  shot.seed: range(0, 400)\n  objects.ball.radius: range(1, 400)\n",
     "sweep.yaml:3:1: vary: expands to 159,600 shots, over the limit of 100,000 (split the sweep into several files)"),
    ("scenes: [tiny.yaml, missing.yaml]\nstages: [passes]\n",
     "sweep.yaml:1:21: scenes[1]: no such scene file"),
    ("scenes: [tiny.yaml]\nstages: [passes\n",
     "sweep.yaml:3:1: YAML syntax: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 2 column 9)"),
    ("- scenes: [tiny.yaml]\n", "sweep.yaml:1:1: the sweep must be a YAML mapping (write scenes:, vary: and stages:; "
     "see sweeps/ball_materials.yaml)"),
    ("# nothing\n", "sweep.yaml: the sweep file is empty (write scenes:, vary: and stages:; see sweeps/ball_materials.yaml)"),
])
def test_a_bad_sweep_file_is_one_line_per_problem_at_its_line_and_column(folder, text, expected):
    found = problems(folder, text)
    assert any(line.startswith(expected) for line in found), found


def test_a_missing_sweep_file_is_named():
    with pytest.raises(SpecError) as caught:
        load_sweep("no/such/sweep.yaml")
    assert str(caught.value) == "no/such/sweep.yaml: no such sweep file (check the path)"


# ---------------------------------------------------------------------- the shots it makes
def test_each_bad_value_points_at_its_own_place_in_the_sweep(folder):
    found = problems(folder, """
        scenes: [tiny.yaml]
        stages: [simulate]
        vary:
          objects.ball.material.restitution: [0.5, 1.5]
          objects.bal.radius: [0.1]
          camera:
            ok: {resolution: [48, 32], position: [0, -2.5, 0.8], look_at: [0, 0, 0.3]}
            bad: {resolution: [48, 32], orbit: {radius: -1}}
          shot.fps: [12, 25]
        """)
    assert found == [
        "sweep.yaml:4:44: vary.objects.ball.material.restitution[1]: must be at most 1.0, got 1.5 "
        "(0 is a dead stop, 1 a perfectly elastic bounce)",
        "sweep.yaml:5:3: vary.objects.bal.radius: objects has no item named 'bal' (did you mean 'ball'?)",
        "sweep.yaml:8:10: vary.camera.bad: camera.orbit.radius: must be greater than 0.0, got -1 (metres, e.g. 0.1)",
        # a value that breaks another field: the field is named, the line is the value's
        "sweep.yaml:9:18: shot.physics_hz: physics_hz (240) must be an integer multiple of fps (25); try physics_hz: 250 "
        "(see docs/spec.md; the sweep sets shot.fps: 25)",
    ]


def test_a_misspelt_key_under_a_path_gets_its_did_you_mean_at_the_sweep(folder):
    found = problems(folder, "scenes: [tiny.yaml]\nstages: [passes]\nset:\n  objects.ball.materail.friction: 0.2\n")
    assert found == ["sweep.yaml:4:35: set.objects.ball.materail.friction: objects[2].materail: unknown key 'materail' "
                     "(did you mean 'material'?)"]


def test_a_scene_that_is_invalid_on_its_own_is_reported_at_the_scene_file(folder):
    text = GOLDEN.read_text().replace("radius: 0.1", "radius: -0.1")
    (folder / "broken.yaml").write_text(text)
    found = problems(folder, "scenes: [broken.yaml]\nstages: [passes]\nvary: {shot.seed: [1, 2]}\n")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "radius: -0.1" in row)
    assert found == [f"broken.yaml:{line}:13: objects[2].radius: must be greater than 0.0, got -0.1 (metres, e.g. 0.1)"]


def test_guided_stages_need_controls_and_best_of_needs_seeds_in_range(folder):
    found = problems(folder, """
        scenes: [tiny.yaml]
        stages: [render]
        best_of: 4
        set: {generate.controls: [], shot.seed: 2147483646}
        """)
    assert found == [
        "sweep.yaml:2:9: stages: render makes guided video, which needs generate.controls; tiny.yaml sets an empty list "
        "(leave generate.controls unset for the backend's own, or set: {generate.controls: [{kind: depth}]} here)",
        "sweep.yaml:3:10: best_of: takes seeds 2147483646 to 2147483649, past the largest seed 2147483647 "
        "(lower shot.seed or generate.seed)",
    ]


def test_a_start_image_is_checked_beside_the_scene_and_needs_a_backend_that_takes_one(folder):
    from PIL import Image

    Image.new("RGB", (48, 32), (200, 40, 40)).save(folder / "start.png")
    found = problems(folder, """
        scenes: [tiny.yaml]
        stages: [render]
        vary: {generate.image: [start.png, strat.png]}
        """)
    assert found[0] == ("sweep.yaml:2:9: stages: render makes video with the builtin backend, which takes no start image; "
                        "tiny.yaml sets generate.image (set generate.backend to one of animatediff, wan-vace, cogvideox-flow, or drop the image)")
    assert found[1].startswith("sweep.yaml:3:36: vary.generate.image[1]: 'strat.png' does not exist in ")
    assert found[1].endswith("(did you mean 'start.png' in that folder?)") and len(found) == 2
    shots, _ = expand_sweep(load_sweep(sweep_file(folder, """
        scenes: [tiny.yaml]
        stages: [passes]
        set: {generate.image: start.png}
        """, name="passes.yaml")))
    assert shots[0].scene.assets["generate:image"] == folder / "start.png"  # the passes need no backend


def test_product_zip_range_and_named_values_expand_in_written_order(folder):
    sweep = load_sweep(sweep_file(folder, """
        scenes: [tiny.yaml]
        stages: [simulate]
        vary:
          shot.seed: range(1, 3)
          camera:
            front: {resolution: [48, 32], position: [0, -2.5, 0.8], look_at: [0, 0, 0.3]}
            side: {resolution: [48, 32], position: [2.5, 0, 0.8], look_at: [0, 0, 0.3]}
        set:
          camera.fov_deg: 40
        """))
    shots, notes = expand_sweep(sweep)
    assert [(s.labels["shot.seed"], s.labels["camera"]) for s in shots] == [("1", "front"), ("1", "side"), ("2", "front"), ("2", "side")]
    assert [s.scene.spec.shot.seed for s in shots] == [1, 1, 2, 2]
    assert {s.scene.spec.camera.fov_deg for s in shots} == {40.0}  # set's deeper path refines the named camera
    assert len({s.key for s in shots}) == 4 and notes == ()
    assert all(s.key == f"golden-{s.spec_hash[:12]}" for s in shots)
    zipped, _ = expand_sweep(load_sweep(sweep_file(folder, """
        scenes: [tiny.yaml]
        stages: [simulate]
        combine: zip
        vary: {shot.seed: [1, 2], objects.ball.radius: [0.1, 0.12]}
        """, "zip.yaml")))
    assert [(s.scene.spec.shot.seed, s.scene.spec.objects[2].radius) for s in zipped] == [(1, 0.1), (2, 0.12)]


def test_values_that_resolve_to_the_same_spec_are_one_shot(folder):
    shots, notes = expand_sweep(load_sweep(sweep_file(folder, """
        scenes: [tiny.yaml]
        stages: [simulate]
        vary: {objects.ball.material.restitution: [0.8, 0.5, 0.8]}
        """)))
    assert len(shots) == 2 and len(notes) == 1 and "resolves to the same spec as shot 0" in notes[0]


def test_a_shots_scene_file_reads_back_as_its_validated_spec(folder):
    sweep = load_sweep(sweep_file(folder, """
        scenes: [tiny.yaml]
        stages: [simulate]
        vary: {objects.ball.velocity: [[0.3, 0, 0], [1.0e-5, 2, 3]], shot.prompt: ["yes", "a: b"]}
        """))
    for shot in expand_sweep(sweep)[0]:
        text = shot_yaml(shot, sweep)
        assert text.startswith("# A shot of a physreel batch: tiny.yaml\n")
        (folder / "shot.yaml").write_text(text)
        assert load_scene(folder / "shot.yaml").spec_hash() == shot.spec_hash
        assert scene_from_data(yaml.safe_load(text), GOLDEN).spec == shot.scene.spec


def test_the_command_exits_2_with_the_lines_and_writes_nothing(folder, capsys):
    name = sweep_file(folder, "scenes: [tiny.yaml]\nstages: [passes]\nvary: {objects.ball.radius: [0.1, -2]}\n")
    assert main(["batch", name, "-o", "out"]) == 2
    err = capsys.readouterr().err
    assert err == "sweep.yaml:3:35: vary.objects.ball.radius[1]: must be greater than 0.0, got -2 (metres, e.g. 0.1)\n"
    assert not (folder / "out").exists()


@pytest.mark.parametrize("flags, message", [
    (["--workers", "0"], "physreel batch: --workers 0: give at least 1"),
    (["--address", "auto", "--workers", "2"], "physreel batch: --workers and --temp-dir set up a local Ray instance"),
    (["--export-dataset"], "physreel batch: --export-dataset exports the passes stage; add passes to the sweep's stages"),
])
def test_bad_flags_exit_2_before_any_work(folder, capsys, flags, message):
    name = sweep_file(folder, "scenes: [tiny.yaml]\nstages: [simulate]\n")
    assert main(["batch", name, "-o", "out", *flags]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not (folder / "out").exists()


def test_the_example_sweep_is_valid_and_the_readme_shows_it():
    repo = Path(__file__).resolve().parents[1]
    sweep = load_sweep(repo / "sweeps" / "ball_materials.yaml")
    shots, _ = expand_sweep(sweep)
    assert len(shots) == 6 and {s.scene.spec.shot.duration for s in shots} == {1.0}
    blocks = re.findall(r"```yaml\n(.*?)```", (repo / "README.md").read_text(), re.S)
    shown = next(yaml.safe_load(block) for block in blocks if "scenes:" in block)
    assert shown == yaml.safe_load((repo / "sweeps" / "ball_materials.yaml").read_text())


def test_an_address_without_a_cluster_exits_2_and_writes_nothing(folder):
    # a subprocess: the first import of Ray in a process decides whether a local instance is loopback only
    name = sweep_file(folder, "scenes: [tiny.yaml]\nstages: [simulate]\n")
    done = subprocess.run([sys.executable, "-m", "physreel.engine", "batch", name, "-o", "out", "--address", "auto"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "RAY_ADDRESS": ""})
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("physreel batch: cannot join the Ray cluster at auto: Could not find any running Ray")
    assert not (folder / "out").exists()

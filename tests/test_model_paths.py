"""Where `generate.model` is read from: a relative folder in a scene file is beside the scene."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from physreel.engine.settings import spec_model_dir
from physreel.sim.spec import scene_from_data

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "engine" / "builtin" / "weights"


def _scene(tmp_path: Path, model: str | None):
    generate = {} if model is None else {"model": model}
    return scene_from_data({"generate": generate}, tmp_path / "scenes" / "shot.yaml")


def test_relative_spec_model_is_read_from_the_scene_folder(tmp_path):
    assert spec_model_dir(_scene(tmp_path, "weights/mine")) == str(tmp_path / "scenes" / "weights" / "mine")


def test_absolute_spec_model_is_kept(tmp_path):
    assert spec_model_dir(_scene(tmp_path, str(tmp_path / "elsewhere"))) == str(tmp_path / "elsewhere")


def test_no_spec_model_means_the_backend_default(tmp_path):
    assert spec_model_dir(_scene(tmp_path, None)) is None


SCENE = """
shot: {duration: 0.25, fps: 8, prompt: a red sphere falls on a grey floor}
camera: {resolution: [64, 64], position: [0, -3, 0.8], look_at: [0, 0, 0.4]}
objects:
  - {name: floor, shape: plane, color: grey}
  - {name: ball, shape: sphere, radius: 0.2, position: [0, 0, 1.0], color: red}
generate: {backend: builtin, model: mymodel, steps: 2}
"""


def test_render_finds_a_relative_model_beside_the_scene_from_another_working_directory(tmp_path):
    scene_dir = tmp_path / "project"
    scene_dir.mkdir()
    (scene_dir / "shot.yaml").write_text(SCENE)
    shutil.copytree(WEIGHTS, scene_dir / "mymodel")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "physreel", "-q", "render", str(scene_dir / "shot.yaml"), "-o", str(tmp_path / "out")],
        cwd=elsewhere, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert str(scene_dir / "mymodel") in json.dumps(meta["generate"])


def _builtin_request(**changes):
    from physreel.engine.records import GenerationRequest

    base = dict(prompt="a red sphere", num_frames=2, fps=8, width=64, height=64, seed=0, steps=1, guidance_scale=1.0)
    base.update(changes)
    return GenerationRequest(**base)


def test_a_backend_refuses_a_request_made_for_another_backend():
    import pytest

    from physreel.engine.backends import get_backend
    from physreel.engine.errors import BackendError

    with pytest.raises(BackendError, match="request is for backend 'animatediff', not 'builtin'"):
        get_backend("builtin").check_request(_builtin_request(backend="animatediff"))


def test_a_backend_refuses_a_request_that_reads_models_from_another_folder(tmp_path):
    import pytest

    from physreel.engine.backends import get_backend
    from physreel.engine.errors import BackendError

    with pytest.raises(BackendError, match="reads models from"):
        get_backend("builtin").check_request(_builtin_request(model_path=str(tmp_path)))

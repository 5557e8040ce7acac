"""`physreel passes`: files written, their contents, and bad arguments (exit 2, nothing written)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from physreel.conditioning.video import read_png_sequence, read_video
from physreel.engine.cli import main

SCENE = """
shot: {duration: 0.25, fps: 12}
camera: {resolution: [64, 48], fov_deg: 50, position: [0.0, -3.0, 1.2], look_at: [0.0, 0.0, 0.3]}
objects:
  - {name: floor, shape: plane, size: [4, 4], texture: {kind: checker, scale: 0.25}}
  - {name: crate, shape: box, size: [0.4, 0.4, 0.4], position: [-0.3, 0.0, 0.6]}
  - {name: ball, shape: sphere, radius: 0.15, position: [0.4, 0.0, 0.15], velocity: [-0.5, 0.0, 0.0]}
"""


@pytest.fixture()
def scene_file(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text(SCENE)
    return path


def test_passes_command_writes_every_file(scene_file, tmp_path):
    out = tmp_path / "out"
    assert main(["-q", "passes", str(scene_file), "-o", str(out), "--passes", "depth,seg,normal,flow_fwd,flow_bwd,flow_valid,rgb"]) == 0
    frames = 3  # 0.25 s at 12 fps
    with np.load(out / "passes.npz") as npz:
        assert sorted(npz.files) == ["depth", "flow_bwd", "flow_fwd", "flow_valid", "normal", "rgb", "seg"]
        assert npz["depth"].shape == (frames, 48, 64) and npz["depth"].dtype == np.float32
        assert npz["flow_fwd"].shape == (frames, 48, 64, 2) and npz["seg"].dtype == np.int32
    for kind in ("depth", "flow", "seg", "normal", "edges"):
        images = read_png_sequence(out / "control" / kind)
        assert images.shape == (frames, 48, 64, 3), kind
    assert not (out / "control" / "pose").exists()  # no figure in the scene
    video, fps = read_video(out / "preview" / "overview.mp4")
    assert video.shape[0] == frames and fps == pytest.approx(12.0)
    assert video.shape[1:3] == (96, 192)  # 2 rows x 3 columns of 48x64 tiles (rgb, depth, flow, seg)
    meta = json.loads((out / "meta.json").read_text())
    assert "spec_hash" in meta  # the simulation's section is kept
    assert meta["passes"]["resolution"] == [64, 48]
    assert [e["name"] for e in meta["passes"]["id_table"]] == ["floor", "crate", "ball"]
    assert (out / "trajectory.npz").exists()


def test_resolution_override_and_determinism(scene_file, tmp_path):
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["-q", "passes", str(scene_file), "-o", str(out), "--passes", "depth,flow_fwd", "--resolution", "32x24",
                     "--no-previews"]) == 0
        outputs.append((out / "passes.npz").read_bytes())
    assert outputs[0] == outputs[1]
    with np.load(tmp_path / "a" / "passes.npz") as npz:
        assert npz["depth"].shape == (3, 24, 32)


@pytest.mark.parametrize("flags, message", [
    (["--resolution", "64by48"], "is not WIDTHxHEIGHT"),
    (["--resolution", "4x4"], "out of range"),
    (["--passes", "depth,dpeth"], "unknown dpeth"),
])
def test_bad_arguments_exit_2_and_write_nothing(scene_file, tmp_path, capsys, flags, message):
    out = tmp_path / "out"
    assert main(["passes", str(scene_file), "-o", str(out)] + flags) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_output_path_that_is_a_file_is_a_usage_error(scene_file, tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["passes", str(scene_file), "-o", str(target)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_bad_scene_exits_2_with_a_located_message(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("camera: {fov_deg: 500}\n")
    assert main(["passes", str(bad), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:1:" in err and "fov_deg" in err
    assert not (tmp_path / "out").exists()


def test_flow_scope_previews_and_shadow_flags_take_effect(scene_file, tmp_path):
    from physreel.conditioning.control import control_image
    from physreel.conditioning.records import Passes

    shaded, plain = tmp_path / "shaded", tmp_path / "plain"
    assert main(["-q", "passes", str(scene_file), "-o", str(shaded), "--passes", "rgb,flow_fwd", "--flow-scope", "frame"]) == 0
    assert main(["-q", "passes", str(scene_file), "-o", str(plain), "--passes", "rgb,flow_fwd", "--no-shadows", "--no-previews"]) == 0
    meta = json.loads((shaded / "meta.json").read_text())
    assert meta["passes"]["controls"]["flow"] == {"scope": "frame"}
    with np.load(shaded / "passes.npz") as npz:
        flow, rgb_shaded = npz["flow_fwd"], npz["rgb"]
    passes = Passes(fps=12, K=np.array(meta["passes"]["K"]), world_to_camera=np.array(meta["passes"]["world_to_camera"]),
                    id_table=(), flow_fwd=flow)
    np.testing.assert_array_equal(read_png_sequence(shaded / "control" / "flow"), control_image(passes, "flow", scope="frame"))
    with np.load(plain / "passes.npz") as npz:
        rgb_plain = npz["rgb"]
    assert (rgb_shaded.astype(int).sum(-1) < rgb_plain.astype(int).sum(-1)).any()  # shadows darken something
    assert (shaded / "preview" / "overview.mp4").exists() and not (plain / "preview").exists()

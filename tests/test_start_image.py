"""The start image (`generate.image`): checked with the scene, fitted to the video by one rule,
recorded by its hash, refused up front by the builtin backend, and really used by wan-vace (VACE's
first frame, kept by mask 0) and animatediff (SparseCtrl RGB at frame 0, with the physics ControlNets).

Backends run on tiny random models (engine/testing/tiny_models.py) through their own loaders, on the
passes of a simulated 32x32 shot of 9 frames. What reaches the diffusers pipeline is read by a spy
on the pipeline class's `__call__` (or the SparseCtrl model's `forward`) that records its arguments
and calls the original.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from physreel.engine.backends import get_backend
from physreel.engine.errors import BackendError
from physreel.engine.records import GenerationRequest
from physreel.engine.request import build_request
from physreel.engine.settings import OverrideError, plan_generation, resolve_generate
from physreel.engine.start_image import centre_crop_box, fit_start_image, load_start_image

SCENE = {
    "shot": {"duration": 0.3125, "fps": 16, "seed": 3, "prompt": "a red ball"},
    "camera": {"resolution": [32, 32], "fov_deg": 45, "position": [0.0, -3.0, 0.8], "look_at": [0.0, 0.0, 0.55]},
    "objects": [
        {"name": "floor", "shape": "plane", "color": [0.6, 0.4, 0.2]},
        {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [-0.5, 0.0, 1.0], "velocity": [2.0, 0.0, 0.0]},
    ],
}
NUM_FRAMES = 5  # round(0.3125 * 16); 4k+1 so wan-vace keeps it whole


def _picture() -> np.ndarray:
    """uint8 [32, 48, 3]: a red band (columns 0-7) and a blue one (40-47) around a 32x32 middle of
    smooth colours, the part a 32x32 video keeps."""
    rows, cols = np.mgrid[0:32, 0:32]
    middle = np.stack([rows * 8, cols * 8, 255 - rows * 4], axis=-1).astype(np.uint8)
    red, blue = np.zeros((32, 8, 3), np.uint8), np.zeros((32, 8, 3), np.uint8)
    red[..., 0], blue[..., 2] = 255, 255
    return np.concatenate([red, middle, blue], axis=1)


def _write_png(path: Path, pixels: np.ndarray) -> Path:
    from PIL import Image

    Image.fromarray(pixels).save(path)
    return path


pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A scene folder with start.png beside the scene file."""
    folder = tmp_path_factory.mktemp("scene")
    _write_png(folder / "start.png", _picture())
    return folder


@pytest.fixture(scope="module")
def animatediff_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_animatediff, write_tiny_sparsectrl_rgb

    return write_tiny_sparsectrl_rgb(write_tiny_animatediff(tmp_path_factory.mktemp("animatediff"), ("depth",)))


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_wan_vace

    return write_tiny_wan_vace(tmp_path_factory.mktemp("wan"))


@pytest.fixture(scope="module")
def passes(folder):
    from physreel.conditioning.render import render_passes
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import scene_from_data

    return render_passes(simulate(scene_from_data(SCENE, folder / "ball.yaml")), passes=("depth", "flow_fwd", "flow_valid"))


def _scene(folder: Path, **generate):
    from physreel.sim.spec import scene_from_data

    return scene_from_data({**SCENE, "generate": generate}, folder / "ball.yaml")


def _request(folder, passes, backend, guided=True, image="start.png", overrides=None, **generate):
    """The pipeline's steps 2 and 5 for a 32x32 run of 2 steps, with the start image unless image=None."""
    settings = dict(backend=backend.name, model=backend.model_path, steps=2, resolution=[32, 32],
                    controls=[{"kind": "depth"}], noise_warp=False, **generate)
    if image is not None:
        settings["image"] = image
    scene = _scene(folder, **settings)
    plan = plan_generation(scene, resolve_generate(scene, overrides, backend), backend)
    return build_request(plan, scene.spec.shot, passes, guided=guided)


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


class _Spy:
    """Records the arguments (by name) of every call of `owner.method` and runs the original."""

    def __init__(self, monkeypatch, owner: type, method: str):
        self.calls: list[dict] = []
        original = getattr(owner, method)
        signature = inspect.signature(original)

        def spy(this, *args, **kwargs):
            self.calls.append(signature.bind(this, *args, **kwargs).arguments)
            return original(this, *args, **kwargs)

        monkeypatch.setattr(owner, method, spy)


# ------------------------------------------------------------------------ the spec and the fit
def test_a_scene_resolves_its_start_image_inside_its_folder(folder):
    scene = _scene(folder, image="start.png")
    assert scene.assets["generate:image"] == (folder / "start.png").resolve()
    assert resolve_generate(scene).image == str((folder / "start.png").resolve())
    assert _scene(folder).assets.get("generate:image") is None


def test_an_overridden_start_image_is_checked_like_the_scenes(folder):
    scene = _scene(folder, image="start.png")
    with pytest.raises(OverrideError, match=r"generate.image: 'strat.png' does not exist in .*did you mean 'start.png'"):
        resolve_generate(scene, {"image": "strat.png"})
    with pytest.raises(OverrideError, match="escapes the scene's folder"):
        resolve_generate(scene, {"image": "../start.png"})


def test_the_picture_is_centre_cropped_to_the_videos_aspect_ratio_then_resized():
    picture = _picture()
    frame, crop = fit_start_image(picture, 32, 32)
    assert crop == (8, 0, 32, 32)  # the red and blue bands are cut, the middle kept as it is
    np.testing.assert_array_equal(frame, picture[:, 8:40])
    # a tall picture loses its top and bottom; a flat colour stays exactly that colour when shrunk
    tall = np.full((64, 32, 3), 200, np.uint8)
    tall[:8], tall[-8:] = 0, 255
    frame, crop = fit_start_image(tall, 16, 8)
    assert crop == (0, 24, 32, 16) and frame.shape == (8, 16, 3) and np.all(frame == 200)
    assert centre_crop_box((640, 480), 832, 480) == (0, 55, 640, 369)  # 640 / 832 * 480 = 369.2 rows


def test_the_picture_follows_the_camera_when_the_video_is_stretched_from_it(folder, passes, wan_dir):
    import cv2

    from physreel.sim.spec import scene_from_data

    wan = get_backend("wan-vace", wan_dir)
    wide = {**SCENE, "camera": {**SCENE["camera"], "resolution": [48, 32]}}  # the picture's own shape
    scene = scene_from_data({**wide, "generate": {"backend": "wan-vace", "resolution": [32, 32], "image": "start.png"}},
                            folder / "ball.yaml")
    plan = plan_generation(scene, resolve_generate(scene, None, wan), wan)
    assert plan.camera_size == (48, 32)
    assert any("the controls and flow and the start image are stretched" in note for note in plan.shape.notes)
    request = build_request(plan, scene.spec.shot, passes, guided=False)
    # not cropped: the whole 48x32 view, squeezed to 32x32 as the controls are (area averaging)
    assert request.image.crop == (0, 0, 48, 32)
    np.testing.assert_array_equal(request.image.frame, cv2.resize(_picture(), (32, 32), interpolation=cv2.INTER_AREA))


def test_both_runs_carry_the_fitted_image_and_its_file_hash(folder, passes, wan_dir):
    wan = get_backend("wan-vace", wan_dir)
    digest = hashlib.sha256((folder / "start.png").read_bytes()).hexdigest()
    for guided in (True, False):
        request = _request(folder, passes, wan, guided=guided)
        np.testing.assert_array_equal(request.image.frame, _picture()[:, 8:40])
        assert request.settings()["image"] == {"file": str((folder / "start.png").resolve()), "sha256": digest,
                                               "source_size": [48, 32], "crop": [8, 0, 32, 32]}
    assert _request(folder, passes, wan, image=None).settings()["image"] is None


# ------------------------------------------------------------------------------ the builtin
def test_the_builtin_backend_refuses_a_start_image_before_simulating(folder):
    from physreel.engine.pipeline import Pipeline, default_stages

    def no_simulation(scene, bars):
        raise AssertionError("the scene was simulated before the start image was refused")

    pipeline = Pipeline(stages=dataclasses.replace(default_stages(), simulate=no_simulation))
    with pytest.raises(BackendError, match="the builtin backend takes no start image; remove generate.image "
                                           r"or use a backend that starts from one \(animatediff, wan-vace, cogvideox-flow\)") as caught:
        pipeline(_scene(folder, image="start.png"))
    assert caught.value.field == "image"  # so a scene file's value is reported at its line (next test)


def test_a_request_with_an_image_built_by_hand_is_refused_by_the_builtin_too(folder):
    builtin = get_backend("builtin")
    request = GenerationRequest(prompt="a ball", num_frames=2, fps=8, width=32, height=32, seed=0, steps=1,
                                image=load_start_image(folder / "start.png", 32, 32))
    with pytest.raises(BackendError, match="the builtin backend takes no start image"):
        builtin.generate(request)
    wan = get_backend("wan-vace", "/nonexistent")  # the frame's shape is checked before any model is looked for
    wrong = request.with_changes(backend="wan-vace", model_path="/nonexistent", num_frames=1,
                                 image=load_start_image(folder / "start.png", 16, 16))
    with pytest.raises(BackendError, match=r"the start image is uint8 \(16, 16, 3\); expected uint8 \(32, 32, 3\)"):
        wan.generate(wrong)


def test_the_refusal_names_exactly_the_backends_that_take_a_start_image():
    from physreel.engine.backends import BACKENDS, backend_class
    from physreel.engine.backends.base import START_IMAGE_BACKENDS

    assert START_IMAGE_BACKENDS == tuple(name for name in BACKENDS if backend_class(name).image_route is not None)


def test_the_render_command_refuses_it_at_the_fields_line_and_writes_nothing(tmp_path, capsys):
    from physreel.engine.cli import main

    _write_png(tmp_path / "start.png", _picture())
    scene_path = tmp_path / "ball.yaml"
    scene_path.write_text(yaml.safe_dump({**SCENE, "generate": {"image": "start.png"}}, sort_keys=False))
    line = scene_path.read_text().splitlines().index("  image: start.png") + 1
    assert main(["render", str(scene_path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{scene_path}:{line}:10: generate.image: the builtin backend takes no start image "
                   "(remove generate.image or use a backend that starts from one (animatediff, wan-vace, cogvideox-flow))"]
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------------- wan-vace
def test_wan_unguided_starts_from_the_image_kept_by_mask_0(folder, passes, wan_dir, monkeypatch):
    from diffusers import WanVACEPipeline

    wan = get_backend("wan-vace", wan_dir)
    spy = _Spy(monkeypatch, WanVACEPipeline, "__call__")
    request = _request(folder, passes, wan, guided=False)
    video = wan.generate(request)
    sent = spy.calls[-1]
    frames = np.stack([np.asarray(f) for f in sent["video"]])
    masks = np.stack([np.asarray(m) for m in sent["mask"]])
    np.testing.assert_array_equal(frames[0], request.image.frame)
    assert np.all(frames[1:] == 128) and np.all(masks[0] == 0) and np.all(masks[1:] == 255)
    assert sent["conditioning_scale"] == 1.0 and masks.shape == (NUM_FRAMES, 32, 32)
    assert "start image as frame 0" in video.meta["resolved"]["vace_context"]
    # without the image the unguided run is the base model (context scale 0): a different video
    plain = wan.generate(_request(folder, passes, wan, guided=False, image=None))
    assert _mean_abs_diff(video.frames, plain.frames) > 0.1


def test_wan_guided_composes_the_image_with_the_control_video(folder, passes, wan_dir, monkeypatch):
    from diffusers import WanVACEPipeline

    wan = get_backend("wan-vace", wan_dir)
    spy = _Spy(monkeypatch, WanVACEPipeline, "__call__")
    request = _request(folder, passes, wan, overrides={"controls.*.scale": 0.7})
    first = wan.generate(request)
    frames = np.stack([np.asarray(f) for f in spy.calls[-1]["video"]])
    np.testing.assert_array_equal(frames[0], request.image.frame)
    np.testing.assert_array_equal(frames[1:], request.controls[0].frames[1:])  # the control, from frame 1 on
    assert spy.calls[-1]["conditioning_scale"] == pytest.approx(0.7)
    np.testing.assert_array_equal(first.frames, wan.generate(request).frames)  # same request, same bytes
    without = wan.generate(request.with_changes(image=None))
    # the tiny random VACE branch at scale 0.7 moves these 5 frames by thousandths of a grey level
    # (0.003 measured); identical requests give identical bytes (above), so this is the picture's doing
    assert _mean_abs_diff(first.frames, without.frames) > 0.001


# ----------------------------------------------------------------------------- animatediff
def test_animatediff_reads_the_image_through_sparsectrl_at_frame_0(folder, passes, animatediff_dir, monkeypatch):
    from diffusers import AnimateDiffSparseControlNetPipeline, SparseControlNetModel

    animatediff = get_backend("animatediff", animatediff_dir)
    calls = _Spy(monkeypatch, AnimateDiffSparseControlNetPipeline, "__call__")
    nets = _Spy(monkeypatch, SparseControlNetModel, "forward")
    request = _request(folder, passes, animatediff, guided=False)
    video = animatediff.generate(request)
    sent = calls.calls[-1]
    assert sent["controlnet_frame_indices"] == [0] and sent["controlnet_conditioning_scale"] == 1.0
    np.testing.assert_array_equal(np.asarray(sent["conditioning_frames"][0]), request.image.frame)
    # inside: the picture (as VAE latents, 4 channels at 16x16) at frame 0 only, marked by the mask
    cond, mask = nets.calls[0]["controlnet_cond"], nets.calls[0]["conditioning_mask"]
    assert cond.shape[1:] == (4, NUM_FRAMES, 16, 16)
    assert torch.all(mask[:, :, 0] == 1) and torch.all(mask[:, :, 1:] == 0)
    assert cond[:, :, 0].abs().mean() > 0.01 and torch.all(cond[:, :, 1:] == 0)
    assert video.meta["pipeline"] == "AnimateDiffSparseControlNetPipeline"
    # a tiny test folder says nothing of a repository: its id stays unknown, what was looked for is recorded
    assert video.meta["models"]["sparsectrl-rgb"]["expected_id"] == "guoyww/animatediff-sparsectrl-rgb"
    assert video.meta["models"]["sparsectrl-rgb"]["id"] is None
    assert video.meta["settings"]["image"]["sha256"] == hashlib.sha256((folder / "start.png").read_bytes()).hexdigest()
    # same request, same bytes: the VAE sample of the picture is drawn from the seeded global generator,
    # which is the process's own again afterwards
    state = torch.get_rng_state()
    np.testing.assert_array_equal(video.frames, animatediff.generate(request).frames)
    assert torch.equal(torch.get_rng_state(), state)
    plain = animatediff.generate(request.with_changes(image=None))
    assert _mean_abs_diff(video.frames, plain.frames) > 1.0


def test_animatediff_guided_adds_the_physics_controlnets_to_the_image(folder, passes, animatediff_dir):
    animatediff = get_backend("animatediff", animatediff_dir)
    guided = _request(folder, passes, animatediff)
    image_only = animatediff.generate(_request(folder, passes, animatediff, guided=False)).frames
    with_depth = animatediff.generate(guided)
    assert with_depth.meta["pipeline"] == "AnimateDiffSparseControlNetPipeline"
    assert set(with_depth.meta["models"]) >= {"controlnet-depth", "sparsectrl-rgb"}
    assert _mean_abs_diff(with_depth.frames, image_only) > 0.5
    # depth at scale 0 adds exactly nothing: the image-only video, bit for bit
    depth = guided.controls[0]
    off = guided.with_changes(controls=(dataclasses.replace(depth, scale=0.0),))
    np.testing.assert_array_equal(animatediff.generate(off).frames, image_only)
    # a window ending at 0.5 acts on the first of the 2 steps only
    windowed = guided.with_changes(controls=(dataclasses.replace(depth, end=0.5),))
    half = animatediff.generate(windowed).frames
    assert _mean_abs_diff(half, with_depth.frames) > 0.01 and _mean_abs_diff(half, image_only) > 0.01


def test_animatediff_with_an_image_refuses_more_frames_than_its_context_before_simulating(folder, animatediff_dir):
    animatediff = get_backend("animatediff", animatediff_dir)
    long = {**SCENE, "shot": {**SCENE["shot"], "duration": 1.0625}}  # 17 frames at 16 fps
    from physreel.sim.spec import scene_from_data

    scene = scene_from_data({**long, "generate": {"backend": "animatediff", "image": "start.png"}}, folder / "ball.yaml")
    with pytest.raises(BackendError, match="at most 16 frames, and the shot has 17; shorten shot.duration"):
        plan_generation(scene, resolve_generate(scene, None, animatediff), animatediff)
    request = GenerationRequest(prompt="a ball", num_frames=17, fps=16, width=32, height=32, seed=0, steps=1,
                                backend="animatediff", model_path=animatediff.model_path,
                                image=load_start_image(folder / "start.png", 32, 32))
    with pytest.raises(BackendError, match="at most 16 frames, and the shot has 17"):  # a request built by hand
        animatediff.generate(request)


def test_animatediff_without_its_sparsectrl_model_refuses_the_image_before_simulating(folder, animatediff_dir, tmp_path, monkeypatch):
    import shutil

    from physreel.engine.errors import ModelNotFoundError

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    partial = tmp_path / "models"
    shutil.copytree(animatediff_dir, partial, ignore=shutil.ignore_patterns("sparsectrl-rgb"))
    backend = get_backend("animatediff", partial)
    with pytest.raises(ModelNotFoundError, match="sparsectrl-rgb: guoyww/animatediff-sparsectrl-rgb, fetch with `hf download"):
        backend.check_settings(resolve_generate(_scene(folder, backend="animatediff", image="start.png"), None, backend))


def test_meta_json_of_a_render_records_the_image_hash(folder, animatediff_dir, tmp_path):
    from physreel.engine.cli import main

    scene_path = folder / "render.yaml"
    scene_path.write_text(yaml.safe_dump({**SCENE, "generate": {
        "backend": "animatediff", "model": str(animatediff_dir), "steps": 1, "resolution": [32, 32], "image": "start.png"}}))
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out)]) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["generate"]["guided"]["settings"]["image"]["sha256"] == hashlib.sha256((folder / "start.png").read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ the example
EXAMPLE = Path(__file__).resolve().parents[1] / "scenes" / "start_image"


def test_the_example_scene_loads_with_its_start_image_beside_it():
    from physreel.sim.spec import load_scene

    scene = load_scene(EXAMPLE / "ball_push.yaml")
    assert scene.assets["generate:image"] == EXAMPLE / "start.png"
    assert scene.spec.shot.num_frames % 4 == 1  # wan-vace makes it whole


@pytest.mark.slow
def test_the_examples_start_image_is_its_own_preview_of_frame_0():
    import importlib.util

    from PIL import Image

    spec = importlib.util.spec_from_file_location("make_start_image", EXAMPLE / "make_start_image.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    from physreel import render_passes, simulate

    passes = render_passes(simulate(maker.load_scene_without_image(EXAMPLE / "ball_push.yaml")), passes=("rgb",))
    np.testing.assert_array_equal(np.asarray(Image.open(EXAMPLE / "start.png")), passes.rgb[0])


# --------------------------------------------------------------------------- the --image flag
def _scene_file(folder: Path, name: str, **generate) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump({**SCENE, "generate": generate} if generate else SCENE, sort_keys=False))
    return path


def test_render_image_reads_the_path_from_the_current_directory_and_overrides_the_scenes(folder, wan_dir, tmp_path,
                                                                                        monkeypatch):
    from physreel.engine.cli import main

    _write_png(folder / "other.png", np.full((32, 32, 3), 90, np.uint8))
    scene_path = _scene_file(folder, "flag.yaml", backend="wan-vace", model=str(wan_dir), steps=1,
                             resolution=[32, 32], image="other.png")
    monkeypatch.chdir(folder.parent)  # the shell's view: the scene folder is a subfolder here
    out = tmp_path / "out"
    assert main(["--quiet", "render", f"{folder.name}/flag.yaml", "-o", str(out), "--unguided",
                 "--image", f"{folder.name}/start.png"]) == 0
    image = json.loads((out / "meta.json").read_text())["generate"]["unguided"]["settings"]["image"]
    assert image["file"] == str((folder / "start.png").resolve())  # the flag's picture, not the scene's other.png
    assert image["sha256"] == hashlib.sha256((folder / "start.png").read_bytes()).hexdigest()
    # an absolute path, or one through a link, to a file in the scene's folder is the same override
    from physreel.engine.cli.args import parse_image

    (tmp_path / "link").symlink_to(folder)
    assert parse_image(str(folder / "start.png"), scene_path) == "start.png"
    assert parse_image(str(tmp_path / "link" / "start.png"), scene_path) == "start.png"


def test_compare_image_starts_both_runs_from_the_picture(folder, wan_dir, tmp_path, monkeypatch):
    from physreel.engine.cli import main

    scene_path = _scene_file(folder, "compare.yaml", backend="wan-vace", model=str(wan_dir), steps=1, resolution=[32, 32])
    monkeypatch.chdir(folder)
    out = tmp_path / "out"
    assert main(["--quiet", "compare", str(scene_path), "-o", str(out), "--image", "start.png"]) == 0
    runs = json.loads((out / "metrics.json").read_text())["settings"]["generate"]
    digest = hashlib.sha256((folder / "start.png").read_bytes()).hexdigest()
    assert {label: runs[label]["3"]["settings"]["image"]["sha256"] for label in ("guided", "unguided")} == \
        {"guided": digest, "unguided": digest}


def _bad_image_path(kind: str, folder: Path, elsewhere: Path) -> str:
    """A path, from the scene's folder, to something --image refuses."""
    if kind == "outside the scene's folder":
        return str(_write_png(elsewhere / "outside.png", _picture()))
    if kind == "not an image":
        (folder / "notes.png").write_text("not a picture")
        return "notes.png"
    return {"missing": "strat.png", "a folder": ".", "empty": ""}[kind]


@pytest.mark.parametrize("command", ["render", "compare"])
@pytest.mark.parametrize("kind, expected", [
    ("missing", "--image strat.png: does not exist (the path is read from the current directory, "),
    ("a folder", "--image .: is a folder (the path is read from the current directory, "),
    ("outside the scene's folder", "the start image must lie inside the scene's folder "),
    ("not an image", "--image notes.png: 'notes.png' is not an image Pillow can read; save it as PNG or JPEG"),
    ("empty", "--image '': not a file name; give the picture's path"),
])
def test_a_bad_image_path_exits_2_with_one_line_and_writes_nothing(folder, tmp_path, monkeypatch, capsys, command,
                                                                    kind, expected):
    from physreel.engine.cli import main

    monkeypatch.setattr("physreel.engine.pipeline.simulate", _no_simulation)
    scene_path = _scene_file(folder, "bad.yaml", backend="wan-vace")
    monkeypatch.chdir(folder)
    out = tmp_path / "out"
    assert main([command, str(scene_path), "-o", str(out), "--image", _bad_image_path(kind, folder, tmp_path)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.startswith(f"physreel {command}: --image ") and expected in err
    assert not out.exists()


def _no_simulation(*args, **kwargs):
    raise AssertionError("the scene was simulated before --image was refused")

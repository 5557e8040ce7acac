"""The generation engine (noise warping: tests/test_noise_warp.py): requests, the animatediff and wan-vace backends, the CLI.

Backends run on tiny randomly initialised models written locally with save_pretrained
(engine/testing/tiny_models.py) and loaded through the same loader users use, on the passes of
a real simulated scene (a ball flying over a floor, 32x32, 9 frames).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ball_scene import NUM_FRAMES, SCENE
from physreel.engine.backends import get_backend
from physreel.engine.errors import BackendError, ModelNotFoundError
from physreel.engine.records import ControlInput, GenerationRequest
from physreel.engine.request import build_request
from physreel.engine.resample import resize_flow
from physreel.engine.settings import plan_generation, resolve_generate


pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")


@pytest.fixture(scope="module")
def animatediff_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_animatediff

    return write_tiny_animatediff(tmp_path_factory.mktemp("animatediff"))


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_wan_vace

    return write_tiny_wan_vace(tmp_path_factory.mktemp("wan"))


@pytest.fixture(scope="module")
def scene():
    from physreel.sim.spec import scene_from_data

    return scene_from_data(SCENE, Path("/virtual/ball.yaml"))


@pytest.fixture(scope="module")
def passes(scene):
    from physreel.conditioning.render import render_passes
    from physreel.sim.simulate import simulate

    return render_passes(simulate(scene), passes=("depth", "normal", "seg", "flow_fwd", "flow_valid"))


@pytest.fixture(scope="module")
def animatediff(animatediff_dir):
    return get_backend("animatediff", animatediff_dir)


@pytest.fixture(scope="module")
def wan(wan_dir):
    return get_backend("wan-vace", wan_dir)


def _scene_with(scene, **generate):
    from physreel.sim.spec import scene_from_data

    return scene_from_data({**SCENE, "generate": generate}, scene.source)


def _build(scene, passes, backend, guided=True, overrides=None) -> GenerationRequest:
    """The pipeline's steps 2 and 5: settings resolved once, then the request from the passes."""
    plan = plan_generation(scene, resolve_generate(scene, overrides, backend), backend)
    return build_request(plan, scene.spec.shot, passes, guided=guided)


def _request(scene, passes, backend, guided=True, **overrides) -> GenerationRequest:
    shot = _scene_with(scene, backend=backend.name, model=backend.model_path, steps=2, resolution=[32, 32],
                       controls=[{"kind": "depth"}])
    paths = {"control_scale": "controls.*.scale"}
    return _build(shot, passes, backend, guided, {paths.get(k, k): v for k, v in overrides.items()})


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# ------------------------------------------------------------------------------ requests
def test_unguided_request_keeps_prompt_seed_and_model_but_drops_controls_and_warp(scene, passes, animatediff):
    guided = _request(scene, passes, animatediff, guided=True)
    unguided = _request(scene, passes, animatediff, guided=False)
    assert guided.controls and guided.noise_flow is not None
    assert unguided.controls == () and unguided.noise_flow is None
    for field in ("prompt", "negative_prompt", "seed", "model_path", "steps", "num_frames", "width", "height"):
        assert getattr(guided, field) == getattr(unguided, field)
    assert guided.seed == 3 and guided.prompt == "a red ball"  # the shot's seed when generate.seed is unset


def test_overrides_replace_spec_settings(scene, passes, animatediff):
    request = _request(scene, passes, animatediff, steps=5, seed=9, noise_warp=False, control_scale=0.25,
                       guidance_scale=2.0, dtype="float32", vae_tiling=True)
    assert (request.steps, request.seed, request.guidance_scale, request.dtype, request.vae_tiling) == (5, 9, 2.0, "float32", True)
    assert request.noise_flow is None
    assert [c.scale for c in request.controls] == [0.25]


def test_request_resamples_controls_and_flow_to_the_generation_size(scene, passes, animatediff):
    request = _request(scene, passes, animatediff, resolution=(16, 16))
    assert request.controls[0].frames.shape == (NUM_FRAMES, 16, 16, 3)
    # nearest sample at pixel centres, vectors halved with the pixels
    expected, _ = resize_flow(passes.flow_fwd, passes.flow_valid, 16, 16)
    np.testing.assert_array_equal(request.noise_flow.flow_fwd, passes.flow_fwd[:, 1::2, 1::2] * 0.5)
    np.testing.assert_array_equal(request.noise_flow.flow_fwd, expected)


def test_a_control_whose_pass_was_not_rendered_is_a_clear_error(scene, passes, animatediff):
    from dataclasses import replace

    shot = _scene_with(scene, backend="animatediff", controls=[{"kind": "edges"}])
    with pytest.raises(BackendError, match="edges"):
        _build(shot, replace(passes, depth=None, normal=None, seg=None), animatediff)


def test_noise_warp_without_flow_passes_is_a_clear_error(scene, passes, animatediff):
    from dataclasses import replace

    with pytest.raises(BackendError, match="--no-noise-warp"):
        _request(scene, replace(passes, flow_fwd=None), animatediff)


def test_a_guided_run_without_controls_is_a_clear_error(scene, passes, animatediff):
    shot = _scene_with(scene, backend="animatediff", controls=[])
    with pytest.raises(BackendError, match="--unguided"):
        _build(shot, passes, animatediff)


def test_unknown_backend_is_a_loud_error():
    with pytest.raises(BackendError, match="choose one of builtin, animatediff, wan-vace, cogvideox-flow"):
        get_backend("sora")


# ------------------------------------------------------------------------ device, dtype
def test_auto_dtype_is_float16_on_cuda_and_float32_on_cpu():
    from physreel.engine.backends.runtime import resolve_dtype

    assert resolve_dtype("auto", "cuda") == torch.float16
    assert resolve_dtype("auto", "cpu") == torch.float32
    assert resolve_dtype("bfloat16", "cpu") == torch.bfloat16


def test_auto_device_picks_cpu_without_a_gpu_and_a_missing_gpu_is_an_error():
    from physreel.engine.backends.runtime import resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert resolve_device("auto") in ("cpu", "mps")
    with pytest.raises(BackendError, match="no CUDA GPU"):
        resolve_device("cuda")


class _RecordingPipe:
    """Stands in for a diffusers pipeline: records the memory calls a backend makes."""

    def __init__(self):
        self.calls = []
        self.vae = self

    def enable_model_cpu_offload(self, device):
        self.calls.append(("offload", device))

    def enable_tiling(self):
        self.calls.append("tiling on")

    def disable_tiling(self):
        self.calls.append("tiling off")


def test_cpu_offload_and_vae_tiling_flags_reach_the_pipeline():
    from physreel.engine.backends.animatediff import apply_memory_flags

    pipe = _RecordingPipe()
    request = GenerationRequest(prompt="", num_frames=1, fps=1, width=8, height=8, seed=0, cpu_offload=True, vae_tiling=True)
    apply_memory_flags(pipe, request, "cuda")
    assert pipe.calls == [("offload", "cuda"), "tiling on"]
    with pytest.raises(BackendError, match="needs --device cuda"):
        apply_memory_flags(_RecordingPipe(), request, "cpu")


# ----------------------------------------------------------------------------- animatediff
def test_animatediff_same_seed_gives_the_same_frames(scene, passes, animatediff):
    request = _request(scene, passes, animatediff)
    first = animatediff.generate(request)
    assert first.frames.shape == (NUM_FRAMES, 32, 32, 3) and first.frames.dtype == np.uint8
    np.testing.assert_array_equal(first.frames, animatediff.generate(request).frames)
    assert _mean_abs_diff(first.frames, animatediff.generate(request.with_changes(seed=4)).frames) > 1.0


def test_animatediff_guided_differs_from_unguided(scene, passes, animatediff):
    guided = animatediff.generate(_request(scene, passes, animatediff, guided=True))
    unguided = animatediff.generate(_request(scene, passes, animatediff, guided=False))
    assert _mean_abs_diff(guided.frames, unguided.frames) > 1.0
    assert guided.meta["pipeline"] == "AnimateDiffControlNetPipeline"
    assert unguided.meta["pipeline"] == "AnimateDiffPipeline"


def test_animatediff_changing_the_control_changes_the_video(scene, passes, animatediff):
    request = _request(scene, passes, animatediff, noise_warp=False)
    control = request.controls[0]
    flipped = request.with_changes(controls=(ControlInput("depth", 255 - control.frames),))
    # identical requests give identical frames (test above), so any clear difference is the control's
    assert _mean_abs_diff(animatediff.generate(request).frames, animatediff.generate(flipped).frames) > 0.2


def test_animatediff_control_scale_zero_matches_unguided(scene, passes, animatediff):
    # ControlNet residuals are multiplied by the scale before they join the UNet, so at scale 0
    # the UNet computes exactly what the control-free pipeline computes; with the same (unwarped)
    # noise, seed and scheduler the frames are identical.
    zero = animatediff.generate(_request(scene, passes, animatediff, noise_warp=False, control_scale=0.0))
    unguided = animatediff.generate(_request(scene, passes, animatediff, guided=False))
    np.testing.assert_array_equal(zero.frames, unguided.frames)


def test_animatediff_multi_controlnet_applies_each_scale_and_window(scene, passes, animatediff):
    shot = _scene_with(scene, backend="animatediff", model=animatediff.model_path, steps=2, noise_warp=False,
                       resolution=[32, 32], controls=[{"kind": "depth"}, {"kind": "edges", "scale": 0.0}])
    both = _build(shot, passes, animatediff)
    depth_only = both.with_changes(controls=both.controls[:1])
    # edges at scale 0 adds nothing: the same as depth alone through one ControlNet
    np.testing.assert_array_equal(animatediff.generate(both).frames, animatediff.generate(depth_only).frames)
    edges_on = both.with_changes(controls=(both.controls[0], ControlInput("edges", both.controls[1].frames, 1.0)))
    assert _mean_abs_diff(animatediff.generate(edges_on).frames, animatediff.generate(depth_only).frames) > 0.5
    # a guidance window ending at 0.5 acts on the first of the 2 steps only
    windowed = depth_only.with_changes(controls=(ControlInput("depth", both.controls[0].frames, 1.0, 0.0, 0.5),))
    assert _mean_abs_diff(animatediff.generate(windowed).frames, animatediff.generate(depth_only).frames) > 0.01


def test_animatediff_runs_more_frames_than_its_context_through_free_noise(animatediff):
    frames = 18
    request = GenerationRequest(prompt="a ball", num_frames=frames, fps=8, width=16, height=16, seed=0, steps=1,
                                backend="animatediff", model_path=animatediff.model_path)
    video = animatediff.generate(request)
    assert video.frames.shape == (frames, 16, 16, 3)
    assert video.meta["free_noise"] == {"context_length": 16, "context_stride": 4}


def test_default_size_is_the_native_size_at_the_shots_aspect(animatediff, wan):
    # SD 1.5: 512 px on the shorter side; Wan 2.1 VACE: 480 px; both at the shot's aspect ratio,
    # rounded to sizes each can make (tiny VAE: multiples of 2; Wan: 16)
    assert animatediff.default_size((256, 256)) == (512, 512)
    assert animatediff.default_size((320, 240)) == (682, 512)
    assert wan.default_size((320, 180)) == (848, 480)


def test_animatediff_rounds_an_odd_size_down_with_a_note(animatediff):
    plan = animatediff.plan_shape(9, 33, 31)
    assert (plan.width, plan.height) == (32, 30)  # tiny VAE: multiples of 2
    assert "not a multiple of 2" in plan.notes[0]
    request = GenerationRequest(prompt="", num_frames=2, fps=8, width=33, height=31, seed=0,
                                backend="animatediff", model_path=animatediff.model_path)
    with pytest.raises(BackendError, match="build_request"):
        animatediff.generate(request)


def test_animatediff_missing_model_names_its_id_and_the_fetch_command(tmp_path, monkeypatch, animatediff_dir):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    backend = get_backend("animatediff", animatediff_dir)
    with pytest.raises(ModelNotFoundError) as caught:
        backend.preflight(("normal",))
    message = str(caught.value)
    assert "lllyasviel/control_v11p_sd15_normalbae" in message
    assert (f"hf download lllyasviel/control_v11p_sd15_normalbae --include config.json --include "
            f"diffusion_pytorch_model.fp16.safetensors --local-dir {animatediff_dir}/controlnet-normal") in message
    with pytest.raises(ModelNotFoundError, match="stable-diffusion-v1-5/stable-diffusion-v1-5"):
        get_backend("animatediff", tmp_path).preflight(())


def test_animatediff_meta_records_model_ids_hashes_and_settings(scene, passes, animatediff):
    video = animatediff.generate(_request(scene, passes, animatediff))
    models = video.meta["models"]
    # the tiny folders say what they are; the official ids are only what physreel looked for
    assert models["base"]["expected_id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert models["controlnet-depth"]["expected_id"] == "lllyasviel/control_v11f1p_sd15_depth"
    assert all(m["id"] is None and "tiny random test model" in m["source"]["origin"] for m in models.values())
    assert models["base"]["class"] == "StableDiffusionPipeline" and len(models["base"]["config_sha256"]) == 64
    assert all(len(m["sha256"]) == 64 for m in models.values())
    assert video.meta["settings"]["seed"] == 3 and video.meta["settings"]["noise_warp"] is True
    assert video.meta["resolved"] == {"device": "cpu", "dtype": "float32", "vae_scale_factor": 2}
    json.dumps(video.meta)  # JSON-ready


# -------------------------------------------------------------------------------- wan-vace
def test_wan_adjusts_frames_to_4k_plus_1_and_size_to_multiples_of_16(wan):
    plan = wan.plan_shape(12, 40, 33)
    assert (plan.num_frames, plan.width, plan.height) == (9, 32, 32)
    assert any("4k+1" in note for note in plan.notes) and any("multiple of 16" in note for note in plan.notes)
    assert wan.plan_shape(9, 32, 48).notes == ()
    # a request built by hand with a frame count Wan cannot make is refused, naming what it makes
    request = GenerationRequest(prompt="", num_frames=8, fps=8, width=32, height=32, seed=0, backend="wan-vace",
                                model_path=wan.model_path)
    with pytest.raises(BackendError, match="it makes 5 frames at 32x32"):
        wan.generate(request)


def test_wan_same_seed_same_frames_and_guided_differs_from_unguided(scene, passes, wan):
    request = _request(scene, passes, wan)
    guided = wan.generate(request)
    assert guided.frames.shape == (NUM_FRAMES, 32, 32, 3)
    np.testing.assert_array_equal(guided.frames, wan.generate(request).frames)
    unguided = wan.generate(_request(scene, passes, wan, guided=False))
    assert _mean_abs_diff(guided.frames, unguided.frames) > 0.1


def test_wan_changing_the_control_changes_the_video(scene, passes, wan):
    request = _request(scene, passes, wan, noise_warp=False)
    flipped = request.with_changes(controls=(ControlInput("depth", 255 - request.controls[0].frames),))
    # the tiny random VACE branch moves the frames by a few hundredths of a grey level on average;
    # identical requests give identical frames (test above), so this is the control's doing
    assert _mean_abs_diff(wan.generate(request).frames, wan.generate(flipped).frames) > 0.01


def test_wan_control_scale_zero_matches_unguided(scene, passes, wan):
    # VACE adds its hints times the context scale; unguided runs the same pipeline at scale 0.
    zero = wan.generate(_request(scene, passes, wan, noise_warp=False, control_scale=0.0))
    np.testing.assert_array_equal(zero.frames, wan.generate(_request(scene, passes, wan, guided=False)).frames)


def test_wan_refuses_settings_it_cannot_honour(scene, passes, wan):
    request = _request(scene, passes, wan)
    depth = request.controls[0]
    with pytest.raises(BackendError, match="one control video"):
        wan.generate(request.with_changes(controls=(depth, ControlInput("flow", depth.frames))))
    with pytest.raises(BackendError, match="start=0.2"):
        wan.generate(request.with_changes(controls=(ControlInput("depth", depth.frames, 1.0, 0.2, 1.0),)))
    with pytest.raises(BackendError, match="no 'seg' control"):
        wan.generate(request.with_changes(controls=(ControlInput("seg", depth.frames),)))


def test_wan_missing_model_names_its_id(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelNotFoundError, match="Wan-AI/Wan2.1-VACE-1.3B-diffusers.*hf download"):
        get_backend("wan-vace", tmp_path).preflight(("depth",))


# ------------------------------------------------------------------------------------ CLI
def _write_scene(tmp_path: Path, **changes) -> Path:
    import yaml

    data = json.loads(json.dumps(SCENE))
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value}
    path = tmp_path / "ball.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_render_cli_writes_a_playable_mp4_png_frames_and_meta(tmp_path, animatediff_dir):
    from physreel.conditioning.video import read_video
    from physreel.engine.cli import main

    scene_path = _write_scene(tmp_path, generate={"backend": "animatediff", "model": str(animatediff_dir), "steps": 2,
                                                     "resolution": [32, 32]})
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out)]) == 0
    assert main(["--quiet", "render", str(scene_path), "-o", str(out), "--unguided", "--seed", "5"]) == 0
    frames, fps = read_video(out / "video" / "guided.mp4")
    assert frames.shape == (NUM_FRAMES, 32, 32, 3) and fps == 16
    assert len(list((out / "video" / "guided").glob("*.png"))) == NUM_FRAMES
    assert read_video(out / "video" / "unguided.mp4")[0].shape == (NUM_FRAMES, 32, 32, 3)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["generate"]["guided"]["settings"]["seed"] == 3
    assert meta["generate"]["unguided"]["settings"]["seed"] == 5  # the flag overrode the shot's seed
    assert meta["generate"]["unguided"]["settings"]["controls"] == []
    assert "spec_hash" in meta  # the shot's own meta is there too


def test_render_cli_adjusts_the_shot_for_wan_and_says_so(tmp_path, wan_dir, capsys):
    from physreel.conditioning.video import read_video
    from physreel.engine.cli import main

    scene_path = _write_scene(tmp_path, shot={"duration": 0.75}, camera={"resolution": [40, 36]},
                              generate={"backend": "wan-vace", "model": str(wan_dir), "steps": 2, "resolution": [40, 36]})
    out = tmp_path / "out"
    assert main(["render", str(scene_path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "using the first 9 of the shot's 12" in printed and "generating 32x32" in printed
    assert read_video(out / "video" / "guided.mp4")[0].shape == (9, 32, 32, 3)
    assert len(json.loads((out / "meta.json").read_text())["generate"]["guided"]["settings"]["adjustments"]) == 3


def test_render_cli_missing_model_exits_2_with_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from physreel.engine.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    scene_path = _write_scene(tmp_path)
    out = tmp_path / "out"
    assert main(["render", str(scene_path), "-o", str(out), "--backend", "wan-vace", "--model", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Wan-AI/Wan2.1-VACE-1.3B-diffusers" in err
    assert not out.exists()


@pytest.mark.parametrize("backend", ["builtin", "animatediff", "wan-vace", "cogvideox-flow"])
def test_render_cli_device_cuda_without_a_gpu_exits_2_before_simulating(tmp_path, monkeypatch, capsys, backend):
    from physreel.engine.cli import main
    from physreel.engine.pipeline import Pipeline

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    simulated = []
    monkeypatch.setattr(Pipeline, "_simulate", lambda self, scene: simulated.append(scene))
    scene_path = _write_scene(tmp_path, generate={"backend": backend} if backend != "cogvideox-flow"
                              else {"backend": backend, "controls": [{"kind": "flow"}]})
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no CUDA GPU" in err, err
    assert simulated == [], "the simulation ran before the missing GPU was reported"
    assert not out.exists()


def test_render_cli_rejects_bad_flags(tmp_path, capsys):
    from physreel.engine.cli import main

    scene_path = _write_scene(tmp_path)
    assert main(["render", str(scene_path), "-o", str(tmp_path / "o"), "--resolution", "big"]) == 2
    assert main(["render", str(scene_path), "-o", str(tmp_path / "o"), "--steps", "0"]) == 2
    assert main(["render", str(scene_path), "-o", str(tmp_path / "o"), "--unguided", "--noise-warp"]) == 2
    err = capsys.readouterr().err
    assert "WIDTHxHEIGHT" in err and "--steps 0: input should be greater than or equal to 1" in err
    assert "apply to guided runs" in err


def test_models_cli_lists_each_backend_with_found_and_missing_models(tmp_path, monkeypatch, animatediff_dir, capsys):
    from physreel.engine.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert main(["models", "--model", str(animatediff_dir), "--json"]) == 0
    report = {entry["name"]: entry for entry in json.loads(capsys.readouterr().out)}
    assert set(report) == {"builtin", "animatediff", "wan-vace", "cogvideox-flow"}
    assert report["animatediff"]["available"] is True
    found = {r["role"]: r["found"] for r in report["animatediff"]["requirements"]}
    assert found["base"] and found["controlnet-depth"] and not found["controlnet-seg"]
    assert report["wan-vace"]["available"] is False
    assert main(["models", "--backend", "wan-vace"]) == 0
    assert "[missing] pipeline: Wan-AI/Wan2.1-VACE-1.3B-diffusers" in capsys.readouterr().out


@pytest.mark.slow
def test_render_cli_on_the_bouncing_ball_example_runs_free_noise_windows(tmp_path, animatediff_dir):
    # The README's first scene (48 frames, 256x256 passes) through tiny models at 32x32, 1 step:
    # 48 frames exceed the motion module's 16-frame context, so FreeNoise windows run.
    from physreel.conditioning.video import read_video
    from physreel.engine.cli import main

    scene_path = Path(__file__).resolve().parent.parent / "scenes" / "bouncing_ball.yaml"
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out), "--backend", "animatediff", "--model",
                 str(animatediff_dir), "--steps", "1", "--resolution", "32x32"]) == 0
    frames, fps = read_video(out / "video" / "guided.mp4")
    assert frames.shape == (48, 32, 32, 3) and fps == 24
    guided = json.loads((out / "meta.json").read_text())["generate"]["guided"]
    assert guided["free_noise"] == {"context_length": 16, "context_stride": 4}
    assert guided["noise"]["method"].startswith("exact-flow warp")


def test_guidance_scale_defaults_to_the_backends_own_and_the_spec_or_flag_wins():
    from physreel.sim.spec import scene_from_data

    def settings(generate: dict, **overrides):
        return resolve_generate(scene_from_data({**SCENE, "generate": generate}, Path("/virtual/ball.yaml")), overrides)

    assert settings({"backend": "builtin"}).guidance_scale == 1.0
    assert settings({"backend": "animatediff"}).guidance_scale == 7.5
    assert settings({"backend": "builtin"}, backend="animatediff").guidance_scale == 7.5  # the chosen backend's
    assert settings({"backend": "builtin", "guidance_scale": 3.0}).guidance_scale == 3.0
    assert settings({"backend": "builtin", "guidance_scale": 3.0}, guidance_scale=2.0).guidance_scale == 2.0


def test_controls_default_to_the_backends_own_and_the_spec_or_flag_wins():
    from physreel.sim.spec import scene_from_data

    def kinds(generate: dict, **overrides):
        resolved = resolve_generate(scene_from_data({**SCENE, "generate": generate}, Path("/virtual/ball.yaml")), overrides)
        return [(c.kind, c.scale) for c in resolved.controls]

    every = [(k, 1.0) for k in ("depth", "normal", "edges", "flow", "seg", "albedo")]
    assert kinds({"backend": "builtin"}) == every  # what the builtin model reads, albedo included
    assert kinds({"backend": "animatediff"}) == [("depth", 1.0)]
    assert kinds({"backend": "animatediff"}, backend="builtin") == every  # the chosen backend's
    assert kinds({"backend": "builtin", "controls": [{"kind": "seg"}]}) == [("seg", 1.0)]
    # A scale override applies to the defaults it stands for.
    assert kinds({"backend": "builtin"}, **{"controls.*.scale": 0.5}) == [(k, 0.5) for k, _ in every]


def test_an_unknown_backend_override_is_a_settings_error_before_the_defaults():
    from physreel.engine.settings import OverrideError
    from physreel.sim.spec import scene_from_data

    scene = scene_from_data({**SCENE, "generate": {"backend": "builtin"}}, Path("/virtual/ball.yaml"))
    with pytest.raises(OverrideError, match="generate.backend: input should be 'builtin', 'animatediff', 'wan-vace' or 'cogvideox-flow'"):
        resolve_generate(scene, {"backend": "sora"})

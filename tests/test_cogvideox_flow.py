"""The cogvideox-flow backend: CogVideoX + a Go-with-the-Flow LoRA, guided by warped noise.

GWTF's latent noise layout (engine/backends/gwtf_noise.py) is checked against its definitions;
the backend runs tiny random CogVideoX components and a tiny random LoRA written locally
(engine/testing/tiny_models.py), loaded through the backend's own loader, on the passes of a
simulated ball flying over a floor (32x32, 9 frames: 3 latent frames).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ball_scene import NUM_FRAMES, SCENE
from physreel.engine.backends import get_backend
from physreel.engine.backends.cogvideox_flow import initial_latents
from physreel.engine.backends.gwtf_noise import degrade, reduce_to_latent_frames, reduction_for_lora
from physreel.engine.errors import BackendError, ModelNotFoundError
from physreel.engine.noise_warp import independent_noise, warped_noise
from physreel.engine.records import ControlInput
from physreel.engine.request import build_request
from physreel.engine.settings import plan_generation, resolve_generate


pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_cogvideox_flow

    return write_tiny_cogvideox_flow(tmp_path_factory.mktemp("cogvideox"))


@pytest.fixture(scope="module")
def backend(model_dir):
    return get_backend("cogvideox-flow", model_dir)


@pytest.fixture(scope="module")
def scene():
    from physreel.sim.spec import scene_from_data

    return scene_from_data(SCENE, Path("/virtual/ball.yaml"))


@pytest.fixture(scope="module")
def passes(scene):
    from physreel.conditioning.render import render_passes
    from physreel.sim.simulate import simulate

    return render_passes(simulate(scene), passes=("depth", "flow_fwd", "flow_valid"))


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path, monkeypatch):
    """Nothing is found in a Hugging Face cache: only the folders a test writes."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))


def _request(scene, passes, backend, guided=True, **generate):
    from physreel.sim.spec import scene_from_data

    shot = scene_from_data({**SCENE, "generate": {"backend": "cogvideox-flow", "model": backend.model_path, "steps": 2,
                                                  **generate}}, scene.source)
    plan = plan_generation(shot, resolve_generate(shot, None, backend), backend)
    return build_request(plan, shot.spec.shot, passes, guided=guided)


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# ----------------------------------------------------------------------- GWTF's noise layout
def _frames_numbered(num_frames: int) -> torch.Tensor:
    """[T, 2, 3, 4] noise whose frame t holds the value t everywhere (to see which frames are taken)."""
    return torch.arange(num_frames, dtype=torch.float32)[:, None, None, None].expand(num_frames, 2, 3, 4).clone()


def test_nearest_reduction_takes_every_fourth_video_frame():
    # rp.resize_list(noise, 13) on 49 frames: round(i * 48 / 12) = 4i
    assert reduce_to_latent_frames(_frames_numbered(49), 13, "nearest")[:, 0, 0, 0].tolist() == [4.0 * i for i in range(13)]
    assert reduce_to_latent_frames(_frames_numbered(1), 1, "nearest")[:, 0, 0, 0].tolist() == [0.0]


def test_blend_reduction_averages_runs_cut_as_gwtf_cuts_them():
    # rp.split_into_n_sublists(49 frames, 13): cuts at int(i * 49 / 13) = 0, 3, 7, 11, 15, 18, ...
    reduced = reduce_to_latent_frames(_frames_numbered(49), 13, "blend")[:, 0, 0, 0]
    assert reduced[:4].tolist() == [1.0, 4.5, 8.5, 12.5]  # means of 0..2, 3..6, 7..10, 11..14
    assert reduced[-1].item() == pytest.approx(sum(range(45, 49)) / 4)


def test_blend_norm_gives_unit_std_along_the_rows_as_gwtf_does():
    noise = torch.randn(9, 16, 6, 5, generator=torch.Generator().manual_seed(0))
    reduced = reduce_to_latent_frames(noise, 3, "blend_norm")
    # GWTF divides each [C, H, W] latent frame by x.std(1): over H, per channel and column
    torch.testing.assert_close(reduced.std(dim=2), torch.ones(3, 16, 5))
    torch.testing.assert_close(reduced, reduce_to_latent_frames(noise, 3, "blend") / reduce_to_latent_frames(noise, 3, "blend").std(dim=2, keepdim=True))


def test_degradation_blends_with_fresh_noise_and_keeps_unit_variance():
    noise = torch.randn(13, 16, 30, 45, generator=torch.Generator().manual_seed(0))
    assert degrade(noise, 0.0, seed=1) is noise
    half = degrade(noise, 0.5, seed=1)
    n = noise.numel()  # 280800 values: the standard error of a variance or correlation is ~ 1/sqrt(n) = 0.002
    assert abs(half.var().item() - 1.0) < 0.01
    # corr = (1 - d) / sqrt(d^2 + (1 - d)^2) = 0.7071 for d = 0.5 (GWTF's blend_noise)
    assert np.corrcoef(half.ravel(), noise.ravel())[0, 1] == pytest.approx(0.5 ** 0.5, abs=5 / np.sqrt(n))
    fresh = degrade(noise, 1.0, seed=1)
    assert abs(np.corrcoef(fresh.ravel(), noise.ravel())[0, 1]) < 5 / np.sqrt(n)
    assert torch.equal(half, degrade(noise, 0.5, seed=1)) and not torch.equal(half, degrade(noise, 0.5, seed=2))


def test_the_fresh_noise_does_not_repeat_the_warped_noise_of_the_same_seed():
    # the warp's first frame is torch.randn from the seed; the fresh noise must not be that same stream
    first = independent_noise((1, 16, 4, 4), 7)
    fresh = degrade(torch.zeros(1, 16, 4, 4), 1.0, seed=7)
    assert not torch.allclose(first, fresh)


def test_the_temporal_reduction_is_read_from_gwtf_lora_names():
    assert reduction_for_lora("T2V5B_blendnorm_i18000_DATASET_lora_weights.safetensors") == "blend_norm"
    assert reduction_for_lora("I2V5B_resum_blendnorm_0degrad_i13600_DATASET_lora_weights.safetensors") == "blend_norm"
    # a later stage's mode is appended to the checkpoint it continued: '_nearest' wins
    assert reduction_for_lora("T2V5B_blendnorm_i25000_DATASET_nearest_lora_weights.safetensors") == "nearest"
    assert reduction_for_lora("I2V5B_final_i38800_nearest_lora_weights.safetensors") == "nearest"
    assert reduction_for_lora("T2V2B_RDeg_i30000_lora_weights.safetensors") == "nearest"  # the script's default
    assert reduction_for_lora("my_blend_lora.safetensors") == "blend"


# --------------------------------------------------------------------------------- shape
def test_shape_is_4k_plus_1_frames_up_to_the_trained_count_at_multiples_of_16(backend):
    plan = backend.plan_shape(12, 40, 33)
    assert (plan.num_frames, plan.width, plan.height) == (9, 32, 32)
    assert "at most the 9 it was trained on; using the first 9 of the shot's 12" in plan.notes[0]
    assert "generating 32x32" in plan.notes[1]
    assert backend.plan_shape(8, 32, 32).num_frames == 5
    assert backend.plan_shape(9, 32, 48).notes == ()
    # the default size is the trained one (tiny: 4x4 latent cells = 32x32), whatever the shot's aspect
    assert backend.default_size((320, 180)) == (32, 32)


def test_without_a_model_folder_the_shape_is_cogvideox_1_0s(tmp_path):
    bare = get_backend("cogvideox-flow", tmp_path)
    assert bare.default_size((256, 256)) == (720, 480)
    assert bare.plan_shape(60, 720, 480).num_frames == 49


# ----------------------------------------------------------------------------- generation
def _generate_seeing_first_transformer_input(backend, request):
    """(the backend's video for `request`, the hidden states its transformer got at the first step)."""
    pipe = backend.load_pipeline("cpu", torch.float32).loaded.pipe
    seen = []
    handle = pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["hidden_states"].clone()) if not seen else None, with_kwargs=True)
    try:
        video = backend.generate(request)
    finally:
        handle.remove()
    return video, seen[0]


def test_the_warped_noise_reaches_the_pipeline_in_gwtf_layout(scene, passes, backend):
    request = _request(scene, passes, backend)
    assert request.noise_flow is not None and request.controls[0].kind == "flow"
    video, first_input = _generate_seeing_first_transformer_input(backend, request)
    # expected, from the definitions: the per-video-frame warped noise, frames 0, 4, 8 (the LoRA is
    # named '_nearest_'), no degradation at scale 1; classifier-free guidance doubles the batch
    per_frame = warped_noise(16, 4, 4, request.noise_flow, request.seed)
    expected = per_frame[[0, 4, 8]][None]
    assert first_input.shape == (2, 3, 16, 4, 4)
    torch.testing.assert_close(first_input[0:1], expected, rtol=0, atol=0)
    torch.testing.assert_close(first_input[1:2], expected, rtol=0, atol=0)
    assert video.frames.shape == (NUM_FRAMES, 32, 32, 3) and video.frames.dtype == np.uint8
    assert video.meta["noise"]["temporal_reduction"] == "nearest" and video.meta["noise"]["degradation"] == 0.0


def test_the_flow_scale_is_one_minus_gwtf_degradation(scene, passes, backend):
    request = _request(scene, passes, backend, controls=[{"kind": "flow", "scale": 0.25}])
    latents, meta = initial_latents(request, 16, "T2Vtiny_nearest_lora_weights.safetensors")
    assert meta["degradation"] == 0.75
    warped = warped_noise(16, 4, 4, request.noise_flow, request.seed)[[0, 4, 8]]
    torch.testing.assert_close(latents[0], degrade(warped, 0.75, request.seed), rtol=0, atol=0)


def test_the_lora_is_applied_to_guided_runs(scene, passes, backend, monkeypatch):
    request = _request(scene, passes, backend)
    with_lora = backend.generate(request).frames
    pipe = backend.load_pipeline("cpu", torch.float32).loaded.pipe
    assert "gwtf" in pipe.transformer.peft_config
    # the same latents with the LoRA kept off: the tiny random LoRA moves the frames by several grey levels
    monkeypatch.setattr(pipe, "enable_lora", pipe.disable_lora)
    without = backend.generate(request).frames
    assert _mean_abs_diff(with_lora, without) > 1.0


def test_unguided_runs_the_base_model_on_independent_noise(scene, passes, backend):
    request = _request(scene, passes, backend, guided=False)
    assert request.controls == () and request.noise_flow is None
    video, first_input = _generate_seeing_first_transformer_input(backend, request)
    torch.testing.assert_close(first_input[0], independent_noise((3, 16, 4, 4), request.seed), rtol=0, atol=0)
    assert video.meta["resolved"]["lora_enabled"] is False
    pipe = backend.load_pipeline("cpu", torch.float32).loaded.pipe
    assert not any(layer.merged or not layer.disable_adapters for layer in _lora_layers(pipe))
    backend.generate(_request(scene, passes, backend))  # a guided run afterwards switches it back on
    assert all(not layer.disable_adapters for layer in _lora_layers(pipe))


def _lora_layers(pipe) -> list:
    from peft.tuners.lora import LoraLayer

    return [m for m in pipe.transformer.modules() if isinstance(m, LoraLayer)]


def test_same_seed_same_bytes_and_another_seed_another_video(scene, passes, backend):
    request = _request(scene, passes, backend)
    first = backend.generate(request)
    np.testing.assert_array_equal(first.frames, backend.generate(request).frames)
    assert _mean_abs_diff(first.frames, backend.generate(request.with_changes(seed=4)).frames) > 1.0


def test_meta_records_what_base_and_lora_are_by_their_own_files_with_their_hashes(scene, passes, backend, model_dir):
    from physreel.engine.testing.tiny_models import TINY_ORIGIN

    video = backend.generate(_request(scene, passes, backend))
    models = video.meta["models"]
    # the tiny folders say they are tiny: no hub id, the id physreel looked for kept apart
    base = models["base"]
    assert base["id"] is None and base["expected_id"] == "THUDM/CogVideoX-5b" and base["path"] == str(model_dir / "base")
    assert base["class"] == "CogVideoXPipeline" and base["source"] == {"origin": TINY_ORIGIN} and base["variant"] is None
    lora = model_dir / "lora" / "T2Vtiny_nearest_lora_weights.safetensors"
    assert models["lora"] == {"id": None, "expected_id": "Eyeline-Research/Go-with-the-Flow", "file": lora.name,
                              "source": {"origin": TINY_ORIGIN}, "path": str(lora),
                              "sha256": backend._hasher.file_sha256(lora)}
    assert len(models["lora"]["sha256"]) == 64
    assert video.meta["pipeline"] == "CogVideoXPipeline" and video.meta["settings"]["guidance_scale"] == 6.0


# ------------------------------------------------------------------------------- refusals
def test_missing_base_and_lora_are_named_at_once_with_their_hf_commands(tmp_path, model_dir):
    with pytest.raises(ModelNotFoundError) as caught:
        get_backend("cogvideox-flow", tmp_path).preflight(("flow",))
    message = str(caught.value)
    assert "\n" not in message and "2 models are not in" in message
    assert (f"base: THUDM/CogVideoX-5b, fetch with `hf download THUDM/CogVideoX-5b --include model_index.json "
            f"--include 'scheduler/*'") in message and f"--local-dir {tmp_path / 'base'}`" in message
    assert ("lora: Eyeline-Research/Go-with-the-Flow, fetch with `hf download Eyeline-Research/Go-with-the-Flow --include "
            f"T2V5B_blendnorm_i25000_DATASET_nearest_lora_weights.safetensors --local-dir {tmp_path / 'lora'}`") in message
    assert f"physreel models --backend cogvideox-flow --model {tmp_path} --fetch" in message
    # with the base in place, the LoRA alone is named
    only_base = tmp_path / "only_base"
    only_base.mkdir()
    (only_base / "base").symlink_to(model_dir / "base")
    with pytest.raises(ModelNotFoundError) as caught:
        get_backend("cogvideox-flow", only_base).preflight(("flow",))
    assert "a model is not in" in str(caught.value) and "lora: Eyeline-Research/Go-with-the-Flow" in str(caught.value)
    assert "THUDM/CogVideoX-5b" not in str(caught.value)


def test_two_lora_files_are_refused_rather_than_guessed(tmp_path, model_dir):
    folder = tmp_path / "two"
    (folder / "lora").mkdir(parents=True)
    (folder / "base").symlink_to(model_dir / "base")
    for name in ("a_nearest_lora.safetensors", "b_blendnorm_lora.safetensors"):
        (folder / "lora" / name).symlink_to(model_dir / "lora" / "T2Vtiny_nearest_lora_weights.safetensors")
    with pytest.raises(BackendError, match="holds 2 LoRA files"):
        get_backend("cogvideox-flow", folder).preflight(("flow",))


def test_a_folder_of_another_pipeline_or_cogvideox_1_5_is_refused(tmp_path, model_dir):
    import shutil

    folder = tmp_path / "other"
    shutil.copytree(model_dir / "base", folder / "base")
    shutil.copytree(model_dir / "lora", folder / "lora")
    index = json.loads((folder / "base" / "model_index.json").read_text())
    (folder / "base" / "model_index.json").write_text(json.dumps({**index, "_class_name": "CogVideoXVideoToVideoPipeline"}))
    with pytest.raises(BackendError, match="holds a CogVideoXVideoToVideoPipeline"):
        get_backend("cogvideox-flow", folder).preflight(("flow",))
    # CogVideoX 1.5 (temporal patches) is refused from its config, before its weights load
    (folder / "base" / "model_index.json").write_text(json.dumps(index))
    config = json.loads((folder / "base" / "transformer" / "config.json").read_text())
    (folder / "base" / "transformer" / "config.json").write_text(json.dumps({**config, "patch_size_t": 2}))
    with pytest.raises(BackendError, match="is CogVideoX 1.5"):
        get_backend("cogvideox-flow", folder).preflight(("flow",))


# -------------------------------------------------------------------------- image-to-video
@pytest.fixture(scope="module")
def i2v_backend(tmp_path_factory):
    from physreel.engine.testing.tiny_models import write_tiny_cogvideox_flow

    folder = write_tiny_cogvideox_flow(tmp_path_factory.mktemp("cogvideox-i2v"), "I2Vtiny_nearest_lora_weights.safetensors",
                                       image_to_video=True)
    return get_backend("cogvideox-flow", folder)


def _start_frame(value: int) -> np.ndarray:
    """uint8 [32, 32, 3]: a grey `value` with a red square, as the ball's first frame might show."""
    frame = np.full((32, 32, 3), value, np.uint8)
    frame[8:24, 8:24] = (200, 30, 30)
    return frame


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    """A scene folder with start.png (the 32x32 frame above, so its fit is itself) and light.png."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("scene-with-image")
    Image.fromarray(_start_frame(40)).save(folder / "start.png")
    Image.fromarray(_start_frame(220)).save(folder / "light.png")
    return folder


def _image_request(folder, passes, backend, guided=True, image="start.png"):
    """A 2-step request from the scene beside `folder`'s pictures, starting from `image`."""
    from physreel.sim.spec import scene_from_data

    shot = scene_from_data({**SCENE, "generate": {"backend": "cogvideox-flow", "model": backend.model_path, "steps": 2,
                                                  "image": image}}, folder / "ball.yaml")
    plan = plan_generation(shot, resolve_generate(shot, None, backend), backend)
    return build_request(plan, shot.spec.shot, passes, guided=guided)


class _CallSpy:
    """Records the keyword arguments of every call of `owner.__call__` and runs the original."""

    def __init__(self, monkeypatch, owner: type):
        self.calls: list[dict] = []
        original = owner.__call__

        def spy(this, *args, **kwargs):
            self.calls.append(kwargs)
            return original(this, *args, **kwargs)

        monkeypatch.setattr(owner, "__call__", spy)


def test_the_start_image_is_the_image_to_video_pipelines_image_with_the_warped_noise(image_folder, passes, i2v_backend,
                                                                                  monkeypatch):
    from diffusers import CogVideoXImageToVideoPipeline

    request = _image_request(image_folder, passes, i2v_backend)
    np.testing.assert_array_equal(request.image.frame, _start_frame(40))  # 32x32 picture, 32x32 video: as it is
    spy = _CallSpy(monkeypatch, CogVideoXImageToVideoPipeline)
    video, first_input = _generate_seeing_first_transformer_input(i2v_backend, request)
    np.testing.assert_array_equal(np.asarray(spy.calls[-1]["image"]), request.image.frame)
    assert video.frames.shape == (NUM_FRAMES, 32, 32, 3) and video.meta["resolved"]["mode"] == "image-to-video"
    assert video.meta["pipeline"] == "CogVideoXImageToVideoPipeline"
    assert video.meta["models"]["base"]["expected_id"] == "THUDM/CogVideoX-5b-I2V"
    assert video.meta["settings"]["image"]["file"] == str(image_folder / "start.png")
    # the transformer reads [noise (16 channels) | start frame latents (16)]: the noise half is the warped noise
    assert first_input.shape == (2, 3, 32, 4, 4)
    expected = warped_noise(16, 4, 4, request.noise_flow, request.seed)[[0, 4, 8]]
    torch.testing.assert_close(first_input[0, :, :16], expected, rtol=0, atol=0)


def test_another_start_image_gives_another_video_and_the_same_one_the_same_bytes(image_folder, passes, i2v_backend):
    request = _image_request(image_folder, passes, i2v_backend)
    video = i2v_backend.generate(request).frames
    np.testing.assert_array_equal(video, i2v_backend.generate(request).frames)
    # same seed and warped noise, a light picture for a dark one: the tiny random VAE and transformer
    # carry it through to every frame (6.4 grey levels measured)
    light = i2v_backend.generate(_image_request(image_folder, passes, i2v_backend, image="light.png")).frames
    assert _mean_abs_diff(video, light) > 1.0


def test_an_unguided_run_starts_from_the_image_too_with_the_lora_off(image_folder, passes, i2v_backend, monkeypatch):
    from diffusers import CogVideoXImageToVideoPipeline

    request = _image_request(image_folder, passes, i2v_backend, guided=False)
    assert request.controls == () and request.noise_flow is None and request.image is not None
    spy = _CallSpy(monkeypatch, CogVideoXImageToVideoPipeline)
    video = i2v_backend.generate(request)
    np.testing.assert_array_equal(np.asarray(spy.calls[-1]["image"]), _start_frame(40))
    torch.testing.assert_close(spy.calls[-1]["latents"][0], independent_noise((3, 16, 4, 4), request.seed), rtol=0, atol=0)
    assert video.meta["resolved"]["lora_enabled"] is False
    guided = i2v_backend.generate(_image_request(image_folder, passes, i2v_backend)).frames
    assert _mean_abs_diff(video.frames, guided) > 1.0  # the LoRA and the warped noise (58 grey levels measured)


def test_a_request_built_by_hand_must_match_the_base_models_mode(scene, image_folder, passes, backend, i2v_backend):
    with pytest.raises(BackendError, match="image-to-video .* needs a start image"):
        i2v_backend.generate(_image_request(image_folder, passes, i2v_backend).with_changes(image=None))
    with_image = _image_request(image_folder, passes, i2v_backend).image
    text_to_video = _request(scene, passes, backend).with_changes(image=with_image)
    with pytest.raises(BackendError, match="text-to-video and cannot start from a picture; fetch THUDM/CogVideoX-5b-I2V"):
        backend.generate(text_to_video)


def test_a_start_image_with_a_text_to_video_base_is_refused_with_the_models_to_use(image_folder, backend):
    from physreel.sim.spec import scene_from_data

    shot = scene_from_data({**SCENE, "generate": {"image": "start.png"}}, image_folder / "ball.yaml")
    with pytest.raises(BackendError) as caught:
        backend.check_settings(resolve_generate(shot, None, backend))
    assert caught.value.field == "image"
    message = str(caught.value)
    assert message.startswith(f"cogvideox-flow: the base model {backend.model_path}/base is text-to-video "
                              "(CogVideoXPipeline), which cannot start from a picture; ")
    assert ("`hf download THUDM/CogVideoX-5b-I2V --include model_index.json" in message
            and "--local-dir I2V_DIR/base`" in message)
    assert ("`hf download Eyeline-Research/Go-with-the-Flow --include I2V5B_final_i38800_nearest_lora_weights.safetensors "
            "--local-dir I2V_DIR/lora`") in message
    assert "\n" not in message and message.endswith("or remove the start image")


def _no_simulation(*args, **kwargs):
    raise AssertionError("the scene was simulated before its settings were refused")


def test_render_refuses_a_start_image_on_a_text_to_video_base_at_the_fields_line(image_folder, model_dir, tmp_path,
                                                                                monkeypatch, capsys):
    import yaml

    from physreel.engine.cli import main

    monkeypatch.setattr("physreel.engine.pipeline.simulate", _no_simulation)
    scene_path = image_folder / "t2v.yaml"
    scene_path.write_text(yaml.safe_dump({**SCENE, "generate": {"backend": "cogvideox-flow", "model": str(model_dir),
                                                                "image": "start.png"}}, sort_keys=False))
    line = scene_path.read_text().splitlines().index("  image: start.png") + 1
    out = tmp_path / "out"
    assert main(["render", str(scene_path), "-o", str(out)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.startswith(f"{scene_path}:{line}:10: generate.image: cogvideox-flow: the base model {model_dir}/base is "
                          "text-to-video (CogVideoXPipeline), which cannot start from a picture (fetch THUDM/CogVideoX-5b-I2V")
    assert not out.exists()


def test_render_refuses_an_image_to_video_base_without_a_start_image_at_the_models_line(image_folder, i2v_backend, tmp_path,
                                                                                       monkeypatch, capsys):
    import yaml

    from physreel.engine.cli import main

    monkeypatch.setattr("physreel.engine.pipeline.simulate", _no_simulation)
    scene_path = image_folder / "i2v.yaml"
    scene_path.write_text(yaml.safe_dump({**SCENE, "generate": {"backend": "cogvideox-flow", "model": i2v_backend.model_path}},
                                         sort_keys=False))
    line = next(i for i, text in enumerate(scene_path.read_text().splitlines(), 1) if text.startswith("  model: "))
    out = tmp_path / "out"
    for unguided in ([], ["--unguided"]):  # both runs need the picture
        assert main(["render", str(scene_path), "-o", str(out), *unguided]) == 2
        (err,) = capsys.readouterr().err.strip().splitlines()
        assert err == (f"{scene_path}:{line}:10: generate.model: cogvideox-flow: the base model {i2v_backend.model_path}/base "
                       "is image-to-video (CogVideoXImageToVideoPipeline) and needs a start image (set generate.image "
                       "(a picture beside the scene) or --image, or use a text-to-video base (THUDM/CogVideoX-5b or "
                       "THUDM/CogVideoX-2b))")
        assert not out.exists()


def test_settings_it_cannot_honour_are_refused_before_simulation(scene, backend):
    from physreel.sim.spec.model import GenerateSpec

    def settings(**generate):  # the spec's sequences are tuples (strict), as the YAML loader makes them
        controls = tuple(generate.pop("controls", ()))
        return GenerateSpec.model_validate({"backend": "cogvideox-flow", "controls": controls, **generate})

    def refused(**generate):
        with pytest.raises(BackendError) as caught:
            backend.check_settings(settings(**generate))
        return caught.value

    assert refused(noise_warp=False, controls=[{"kind": "flow"}]).field == "noise_warp"
    assert "one flow control, got 2" in str(refused(controls=[{"kind": "flow"}, {"kind": "flow", "scale": 0.5}]))
    assert "0..1; got 1.5" in str(refused(controls=[{"kind": "flow", "scale": 1.5}]))
    assert "start=0.2" in str(refused(controls=[{"kind": "flow", "start": 0.2}]))
    backend.check_settings(settings(controls=[{"kind": "flow", "scale": 0.5}]))  # GWTF's script's degradation 0.5


def test_a_control_of_another_kind_is_refused_before_a_guided_run(backend):
    with pytest.raises(BackendError, match="has no 'depth' control; it takes flow") as caught:
        backend.preflight(("depth",))
    assert caught.value.field == "controls"


def test_a_guided_request_without_warped_noise_is_refused(scene, passes, backend):
    request = _request(scene, passes, backend)
    with pytest.raises(BackendError, match="needs the flow as warped noise"):
        backend.generate(request.with_changes(noise_flow=None))
    with pytest.raises(BackendError, match="has no 'depth' control"):
        backend.generate(request.with_changes(controls=(ControlInput("depth", request.controls[0].frames),)))


# ------------------------------------------------------------------------------------ CLI
def _write_scene(tmp_path: Path, **generate) -> Path:
    import yaml

    path = tmp_path / "ball.yaml"
    path.write_text(yaml.safe_dump({**SCENE, "generate": generate} if generate else SCENE))
    return path


def test_render_cli_runs_end_to_end_with_tiny_local_components(tmp_path, model_dir):
    from physreel.conditioning.video import read_video
    from physreel.engine.cli import main

    scene_path = _write_scene(tmp_path, steps=2)
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out), "--backend", "cogvideox-flow",
                 "--model", str(model_dir)]) == 0
    frames, fps = read_video(out / "video" / "guided.mp4")
    assert frames.shape == (NUM_FRAMES, 32, 32, 3) and fps == 16
    guided = json.loads((out / "meta.json").read_text())["generate"]["guided"]
    assert guided["backend"] == "cogvideox-flow" and guided["settings"]["controls"][0]["kind"] == "flow"
    assert guided["noise"]["method"].startswith("exact-flow warp") and guided["noise"]["latent_shape"] == [3, 16, 4, 4]
    assert guided["models"]["lora"]["path"].endswith("T2Vtiny_nearest_lora_weights.safetensors")


def test_render_cli_missing_lora_exits_2_with_one_line_and_writes_nothing(tmp_path, model_dir, capsys):
    from physreel.engine.cli import main

    folder = tmp_path / "no_lora"
    folder.mkdir()
    (folder / "base").symlink_to(model_dir / "base")
    out = tmp_path / "out"
    assert main(["render", str(_write_scene(tmp_path)), "-o", str(out), "--backend", "cogvideox-flow",
                 "--model", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Eyeline-Research/Go-with-the-Flow" in err
    assert not out.exists()


def test_a_scene_turning_warping_off_is_refused_at_its_line_before_simulating(tmp_path, model_dir, capsys):
    from physreel.engine.cli import main

    scene_path = _write_scene(tmp_path, noise_warp=False)
    out = tmp_path / "out"
    assert main(["render", str(scene_path), "-o", str(out), "--backend", "cogvideox-flow", "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{scene_path}:" in err and "noise_warp" in err and "warped noise alone" in err
    assert not out.exists()


def test_models_cli_finds_base_and_lora(model_dir, capsys):
    from physreel.engine.cli import main

    assert main(["models", "--backend", "cogvideox-flow", "--model", str(model_dir), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["available"] is True
    found = {r["role"]: r["location"] for r in entry["requirements"]}
    assert found == {"base": str(model_dir / "base"),
                     "lora": str(model_dir / "lora" / "T2Vtiny_nearest_lora_weights.safetensors")}
    identity = {r["role"]: r["identity"] for r in entry["requirements"]}
    assert identity["base"]["class"] == "CogVideoXPipeline" and identity["lora"]["file"] == "T2Vtiny_nearest_lora_weights.safetensors"
    assert identity["lora"]["source"]["origin"].startswith("tiny random test model")


def test_render_with_image_runs_image_to_video_end_to_end(image_folder, i2v_backend, tmp_path, monkeypatch):
    import hashlib

    from physreel.engine.cli import main

    scene_path = _write_scene(image_folder, steps=2)
    monkeypatch.chdir(image_folder)
    out = tmp_path / "out"
    assert main(["--quiet", "render", str(scene_path), "-o", str(out), "--backend", "cogvideox-flow",
                 "--model", i2v_backend.model_path, "--image", "start.png"]) == 0
    guided = json.loads((out / "meta.json").read_text())["generate"]["guided"]
    assert guided["pipeline"] == "CogVideoXImageToVideoPipeline" and guided["resolved"]["mode"] == "image-to-video"
    assert guided["settings"]["image"]["sha256"] == hashlib.sha256((image_folder / "start.png").read_bytes()).hexdigest()
    assert guided["models"]["lora"]["file"] == "I2Vtiny_nearest_lora_weights.safetensors"

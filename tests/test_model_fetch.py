"""Fetching the pretrained backends' models: the printed `hf download` commands (parsed and run by
the installed huggingface_hub's own CLI, its network call replaced by a local fake hub), what they
select from a repository holding more than physreel loads, `physreel models --fetch`, every
missing model reported at once, and a folder's identity from its own files. No network is used."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from physreel.engine.backends import get_backend
from physreel.engine.backends.identity import SOURCE_FILE, folder_identity
from physreel.engine.backends.model_files import GWTF_DEFAULT_LORA_FILE
from physreel.engine.errors import ModelNotFoundError
from physreel.engine.records import ControlInput, GenerationRequest, NoiseFlow

from fake_hub import COMMIT, FakeHub

CONTROL_KINDS = ("depth", "pose", "edges", "normal", "seg")
DECOYS = {
    # files the hub repositories hold but the backends do not load (fp32 and .bin copies, single-file
    # checkpoints, the safety checker, sample images); a fetch must leave every one of them behind
    "stable-diffusion-v1-5/stable-diffusion-v1-5": (
        "v1-5-pruned-emaonly.safetensors", "v1-5-pruned.ckpt", "unet/diffusion_pytorch_model.safetensors",
        "unet/diffusion_pytorch_model.bin", "unet/diffusion_pytorch_model.non_ema.safetensors",
        "text_encoder/model.safetensors", "text_encoder/pytorch_model.fp16.bin", "vae/diffusion_pytorch_model.bin",
        "safety_checker/config.json", "safety_checker/model.fp16.safetensors", "README.md",
    ),
    "guoyww/animatediff-motion-adapter-v1-5-2": ("diffusion_pytorch_model.fp16.safetensors", "README.md"),
    "controlnet": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin",
                   "diffusion_pytorch_model.fp16.bin", "images/input.png", "README.md"),
    "Wan-AI/Wan2.1-VACE-1.3B-diffusers": ("README.md", "assets/logo.png", "examples/depth.mp4"),
    "THUDM/CogVideoX-5b": ("README.md", "README_zh.md", "LICENSE"),
    "guoyww/animatediff-sparsectrl-rgb": ("diffusion_pytorch_model.safetensors", "README.md"),
    # GWTF's other LoRAs lie beside the default one (cut_and_drag_inference.py lines 24-31): fetched
    # too, they would leave DIR/lora with several LoRA files, which the backend refuses
    "Eyeline-Research/Go-with-the-Flow": (
        "T2V5B_blendnorm_i18000_DATASET_lora_weights.safetensors", "T2V2B_RDeg_i30000_lora_weights.safetensors",
        "I2V5B_final_i38800_nearest_lora_weights.safetensors", "README.md",
    ),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")


@pytest.fixture(scope="module")
def hub_repos(tmp_path_factory) -> dict[str, Path]:
    """Tiny stand-ins of the eight kinds of hub repository, laid out as the hub holds them (fp16
    copies where the hub has them, plus decoys), keyed by the repository ids physreel fetches."""
    from physreel.engine.backends.animatediff import CONTROLNET_IDS
    from physreel.engine.testing.tiny_models import (
        write_tiny_animatediff,
        write_tiny_cogvideox_flow,
        write_tiny_sparsectrl_rgb,
        write_tiny_wan_vace,
    )

    root = tmp_path_factory.mktemp("hub")
    built = write_tiny_animatediff(root / "built", ("depth",), variant="fp16")
    for kind in CONTROL_KINDS[1:]:  # same layout for every ControlNet repository; one tiny net serves
        shutil.copytree(built / "controlnet-depth", built / f"controlnet-{kind}")
    repos = {
        "stable-diffusion-v1-5/stable-diffusion-v1-5": built / "base",
        "guoyww/animatediff-motion-adapter-v1-5-2": built / "motion_adapter",
        **{CONTROLNET_IDS[kind]: built / f"controlnet-{kind}" for kind in CONTROL_KINDS},
        "Wan-AI/Wan2.1-VACE-1.3B-diffusers": write_tiny_wan_vace(root / "wan"),
        "guoyww/animatediff-sparsectrl-rgb": write_tiny_sparsectrl_rgb(root / "sparse", variant="fp16") / "sparsectrl-rgb",
    }
    cogvideox = write_tiny_cogvideox_flow(root / "cogvideox", GWTF_DEFAULT_LORA_FILE)
    repos["THUDM/CogVideoX-5b"] = cogvideox / "base"
    repos["Eyeline-Research/Go-with-the-Flow"] = cogvideox / "lora"  # the LoRA files lie at the repository root
    # the SD 1.5 repository's model_index.json also lists its feature extractor (fetched: the
    # AnimateDiff pipelines take it) and its safety checker (not fetched: they do not)
    from transformers import CLIPImageProcessor

    sd = repos["stable-diffusion-v1-5/stable-diffusion-v1-5"]
    CLIPImageProcessor().save_pretrained(sd / "feature_extractor")
    index = json.loads((sd / "model_index.json").read_text())
    index.update(feature_extractor=["transformers", "CLIPImageProcessor"],
                 safety_checker=["stable_diffusion", "StableDiffusionSafetyChecker"])
    (sd / "model_index.json").write_text(json.dumps(index, indent=2))
    for repo_id, folder in repos.items():
        (folder / SOURCE_FILE).unlink()  # a hub repository does not carry physreel's statement
        for decoy in DECOYS.get(repo_id, DECOYS["controlnet"] if "control_v11" in repo_id else ()):
            (folder / decoy).parent.mkdir(parents=True, exist_ok=True)
            (folder / decoy).write_bytes(b"not loaded by physreel")
    return repos


@pytest.fixture
def hub(hub_repos, tmp_path, monkeypatch) -> FakeHub:
    """The fake hub behind both the hf CLI and physreel's --fetch; an empty HF cache in tmp_path."""
    import huggingface_hub.cli.download as hf_download

    from physreel.engine.backends import fetch

    fake = FakeHub(hub_repos, tmp_path / "hf-cache")
    monkeypatch.setenv("HF_HUB_CACHE", str(fake.cache_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # belt and braces: nothing here may reach the network
    monkeypatch.setattr(hf_download, "snapshot_download", fake.snapshot_download)
    monkeypatch.setattr(fetch, "snapshot_download", fake.snapshot_download)
    return fake


def run_hf(command: str) -> None:
    """Run one printed command through the installed huggingface_hub's own `hf` command line."""
    from huggingface_hub.cli.hf import app

    argv = shlex.split(command)
    assert argv[0] == "hf", command
    app.main(args=argv[1:], prog_name="hf", standalone_mode=False)


def _missing(backend_name: str, model_dir: Path | None):
    return [r for r in get_backend(backend_name, model_dir).describe().requirements if not r.found]


# ------------------------------------------------------------------------------ printed commands
@pytest.mark.parametrize("backend_name", ["animatediff", "wan-vace", "cogvideox-flow"])
def test_each_printed_command_is_parsed_by_the_hf_cli_into_the_repo_patterns_and_folder_physreel_reads(
        hub, tmp_path, backend_name):
    model_dir = tmp_path / "my models"  # a space: the command quotes its paths
    missing = _missing(backend_name, model_dir)
    assert missing
    for req in missing:
        assert req.fetch_command.startswith(f"hf download {req.model_id} ")
        run_hf(req.fetch_command)
        call = hub.calls[-1]
        assert call["repo_id"] == req.model_id and call["repo_type"] == "model" and call["revision"] is None
        assert call["allow_patterns"] == list(req.include) and call["ignore_patterns"] is None
        assert call["local_dir"] == req.local_dir
    # where physreel looks: DIR/<role folder> for animatediff and cogvideox-flow, DIR itself for wan-vace
    expected_dirs = {str(model_dir) if backend_name == "wan-vace" else str(model_dir / r.role) for r in missing}
    assert {r.local_dir for r in missing} == expected_dirs
    assert get_backend(backend_name, model_dir).describe().available


def test_without_model_folder_the_commands_fetch_into_the_hf_cache_where_physreel_finds_them(hub):
    missing = _missing("wan-vace", None)
    assert len(missing) == 1 and "--local-dir" not in missing[0].fetch_command
    run_hf(missing[0].fetch_command)
    info = get_backend("wan-vace", None).describe()
    assert info.available
    assert info.requirements[0].identity["source"]["repo_id"] == "Wan-AI/Wan2.1-VACE-1.3B-diffusers"  # read from the cache layout


def test_without_model_folder_the_cogvideox_lora_is_found_in_the_hf_cache_by_its_file_name(hub):
    missing = _missing("cogvideox-flow", None)
    assert [r.role for r in missing] == ["base", "lora"] and not any("--local-dir" in r.fetch_command for r in missing)
    for req in missing:
        run_hf(req.fetch_command)
    info = get_backend("cogvideox-flow", None).describe()
    assert info.available
    lora = next(r for r in info.requirements if r.role == "lora")
    assert Path(lora.location).name == GWTF_DEFAULT_LORA_FILE
    assert lora.identity["file"] == GWTF_DEFAULT_LORA_FILE
    assert lora.identity["source"]["repo_id"] == "Eyeline-Research/Go-with-the-Flow"  # read from the cache layout


def test_the_commands_fetch_only_the_loaded_files_and_the_backend_generates_from_them(hub, hub_repos, tmp_path):
    model_dir = tmp_path / "models"
    for req in _missing("animatediff", model_dir):
        run_hf(req.fetch_command)
    fetched = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file() and ".cache" not in p.parts}
    for decoy in DECOYS["stable-diffusion-v1-5/stable-diffusion-v1-5"]:
        assert f"base/{decoy}" not in fetched
    assert "motion_adapter/diffusion_pytorch_model.fp16.safetensors" not in fetched
    assert {f for f in fetched if f.startswith("controlnet-depth/")} == {
        "controlnet-depth/config.json", "controlnet-depth/diffusion_pytorch_model.fp16.safetensors"}
    assert "base/unet/diffusion_pytorch_model.fp16.safetensors" in fetched
    assert "base/feature_extractor/preprocessor_config.json" in fetched and not any("safety_checker" in f for f in fetched)
    backend = get_backend("animatediff", model_dir)
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    request = GenerationRequest(prompt="a ball", num_frames=2, fps=8, width=16, height=16, seed=0, steps=1,
                                backend="animatediff", model_path=backend.model_path,
                                controls=(ControlInput("depth", frames), ControlInput("pose", frames)))
    video = backend.generate(request)
    assert video.frames.shape == (2, 16, 16, 3)
    assert video.meta["models"]["base"]["variant"] == "fp16" and video.meta["models"]["motion_adapter"]["variant"] is None


def test_the_wan_patterns_fetch_the_pipeline_components_and_leave_the_rest(hub, tmp_path):
    model_dir = tmp_path / "wan"
    (req,) = _missing("wan-vace", model_dir)
    run_hf(req.fetch_command)
    fetched = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert not fetched & set(DECOYS["Wan-AI/Wan2.1-VACE-1.3B-diffusers"])
    assert {f.split("/")[0] for f in fetched} == {"model_index.json", "scheduler", "tokenizer", "text_encoder", "transformer", "vae"}
    pipe = get_backend("wan-vace", model_dir).load_pipeline("cpu", torch.float32).loaded.pipe
    assert type(pipe).__name__ == "WanVACEPipeline"


def _fetched(model_dir: Path) -> set[str]:
    return {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file() and ".cache" not in p.parts}


def _guided_cogvideox_request(backend) -> GenerationRequest:
    """9 frames at 32x32 (the tiny transformer's trained shape), guided by a still flow."""
    frames = np.zeros((9, 32, 32, 3), np.uint8)
    flow = NoiseFlow(np.zeros((9, 32, 32, 2), np.float32), np.ones((9, 32, 32), bool))
    return GenerationRequest(prompt="a ball", num_frames=9, fps=8, width=32, height=32, seed=0, steps=1,
                             backend="cogvideox-flow", model_path=backend.model_path,
                             controls=(ControlInput("flow", frames),), noise_flow=flow)


def test_the_cogvideox_commands_fetch_the_pipeline_and_the_one_default_lora_and_the_backend_generates(hub, tmp_path):
    model_dir = tmp_path / "cog"
    for req in _missing("cogvideox-flow", model_dir):
        run_hf(req.fetch_command)
    fetched = _fetched(model_dir)
    assert not {f"base/{decoy}" for decoy in DECOYS["THUDM/CogVideoX-5b"]} & fetched
    assert {f.split("/")[1] for f in fetched if f.startswith("base/")} == {
        "model_index.json", "scheduler", "tokenizer", "text_encoder", "transformer", "vae"}
    assert {f for f in fetched if f.startswith("lora/")} == {f"lora/{GWTF_DEFAULT_LORA_FILE}"}  # the other LoRAs stay behind
    backend = get_backend("cogvideox-flow", model_dir)
    video = backend.generate(_guided_cogvideox_request(backend))
    assert video.frames.shape == (9, 32, 32, 3) and video.meta["resolved"]["lora_enabled"] is True
    assert video.meta["models"]["lora"]["path"] == str(model_dir / "lora" / GWTF_DEFAULT_LORA_FILE)
    assert video.meta["noise"]["temporal_reduction"] == "nearest"  # read from the default LoRA's name


# ------------------------------------------------------------------------------ missing models
def test_every_missing_model_is_reported_at_once_with_its_command_on_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelNotFoundError) as caught:
        get_backend("animatediff", tmp_path / "m").preflight(("depth", "pose"))
    message = str(caught.value)
    assert "\n" not in message and "4 models are not in" in message
    for role, repo in (("base", "stable-diffusion-v1-5/stable-diffusion-v1-5"), ("motion_adapter", "guoyww/animatediff-motion-adapter-v1-5-2"),
                       ("controlnet-depth", "lllyasviel/control_v11f1p_sd15_depth"), ("controlnet-pose", "lllyasviel/control_v11p_sd15_openpose")):
        assert f"{role}: {repo}, fetch with `hf download {repo} --include" in message
        assert f"--local-dir {tmp_path / 'm' / role}`" in message
    assert "huggingface-cli" not in message
    assert f"physreel models --backend animatediff --model {tmp_path / 'm'} --fetch" in message


def test_models_prints_a_runnable_command_for_each_missing_model(tmp_path, monkeypatch, capsys):
    from physreel.engine.cli import main

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert main(["models", "--model", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("hf download ")]
    assert len(commands) == 11  # 2 + 5 ControlNets + SparseCtrl RGB for animatediff, 1 for wan-vace, base and LoRA for cogvideox-flow
    assert "huggingface-cli" not in out and "11 models missing" in out
    assert f"hf download Eyeline-Research/Go-with-the-Flow --include {GWTF_DEFAULT_LORA_FILE} --local-dir {tmp_path / 'm' / 'lora'}" in commands


# ------------------------------------------------------------------------------ --fetch
def test_fetch_dry_run_lists_every_missing_file_with_its_size_and_downloads_nothing(hub, hub_repos, tmp_path, capsys):
    from physreel.engine.cli import main

    model_dir = tmp_path / "m"
    assert main(["models", "--backend", "animatediff", "--model", str(model_dir), "--fetch", "--dry-run",
                 "--role", "base", "--role", "controlnet-depth"]) == 0
    out = capsys.readouterr().out
    unet = hub_repos["stable-diffusion-v1-5/stable-diffusion-v1-5"] / "unet" / "diffusion_pytorch_model.fp16.safetensors"
    from physreel.engine.backends.fetch import format_size

    assert f"unet/diffusion_pytorch_model.fp16.safetensors  {format_size(unet.stat().st_size)}" in out
    assert "animatediff controlnet-depth: lllyasviel/control_v11f1p_sd15_depth" in out and "motion_adapter" not in out
    assert "total: " in out
    assert not model_dir.exists()
    assert all(call["dry_run"] for call in hub.calls)


def test_fetch_downloads_into_the_layout_and_the_folders_say_where_they_came_from(hub, tmp_path, capsys):
    from physreel.engine.cli import main

    model_dir = tmp_path / "m"
    assert main(["models", "--backend", "animatediff", "--model", str(model_dir), "--fetch"]) == 0
    assert "fetched animatediff controlnet-seg into" in capsys.readouterr().out
    assert main(["models", "--backend", "animatediff", "--model", str(model_dir), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["available"] and all(r["found"] for r in entry["requirements"])
    base = next(r for r in entry["requirements"] if r["role"] == "base")
    assert base["identity"]["class"] == "StableDiffusionPipeline"
    assert base["identity"]["source"]["repo_id"] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert base["identity"]["source"]["revision"] == COMMIT
    statement = json.loads((model_dir / "base" / SOURCE_FILE).read_text())
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in {f["name"] for f in statement["files"]}
    assert main(["models", "--backend", "animatediff", "--model", str(model_dir), "--fetch"]) == 0
    assert "nothing to fetch from the hub" in capsys.readouterr().out


def test_fetch_dry_run_lists_the_cogvideox_files_and_only_the_default_lora(hub, hub_repos, tmp_path, capsys):
    from physreel.engine.backends.fetch import format_size
    from physreel.engine.cli import main

    model_dir = tmp_path / "m"
    assert main(["models", "--backend", "cogvideox-flow", "--model", str(model_dir), "--fetch", "--dry-run"]) == 0
    out = capsys.readouterr().out
    lora = hub_repos["Eyeline-Research/Go-with-the-Flow"] / GWTF_DEFAULT_LORA_FILE
    assert f"cogvideox-flow lora: Eyeline-Research/Go-with-the-Flow -> {model_dir / 'lora'} (1 files, " in out
    assert f"    {GWTF_DEFAULT_LORA_FILE}  {format_size(lora.stat().st_size)}" in out
    assert f"cogvideox-flow base: THUDM/CogVideoX-5b -> {model_dir / 'base'}" in out
    assert "    transformer/config.json  " in out and "    model_index.json  " in out
    for decoy in DECOYS["Eyeline-Research/Go-with-the-Flow"] + DECOYS["THUDM/CogVideoX-5b"]:
        assert f"    {decoy}  " not in out
    assert not model_dir.exists() and all(call["dry_run"] for call in hub.calls)


def test_cogvideox_fetch_downloads_base_and_lora_and_meta_records_the_repositories_they_say_they_are(hub, tmp_path, capsys):
    from physreel.engine.cli import main

    model_dir = tmp_path / "m"
    assert main(["models", "--backend", "cogvideox-flow", "--model", str(model_dir), "--fetch"]) == 0
    assert main(["models", "--backend", "cogvideox-flow", "--model", str(model_dir)]) == 0
    out = capsys.readouterr().out
    assert f"[found]   lora: Eyeline-Research/Go-with-the-Flow wanted; found at {model_dir / 'lora' / GWTF_DEFAULT_LORA_FILE} " \
           f"(file {GWTF_DEFAULT_LORA_FILE} from Eyeline-Research/Go-with-the-Flow@{COMMIT[:12]})" in out
    backend = get_backend("cogvideox-flow", model_dir)
    models = backend.generate(_guided_cogvideox_request(backend)).meta["models"]
    assert models["base"]["id"] == models["base"]["expected_id"] == "THUDM/CogVideoX-5b"
    assert models["base"]["source"]["revision"] == COMMIT and models["base"]["class"] == "CogVideoXPipeline"
    assert models["lora"]["id"] == models["lora"]["expected_id"] == "Eyeline-Research/Go-with-the-Flow"
    assert models["lora"]["file"] == GWTF_DEFAULT_LORA_FILE and models["lora"]["source"]["revision"] == COMMIT


def test_fetch_names_a_missing_model_that_is_not_on_the_hub_instead_of_passing_over_it(hub, tmp_path, capsys):
    from physreel.engine.cli import main

    assert main(["models", "--backend", "builtin", "--model", str(tmp_path / "m"), "--fetch"]) == 0
    out = capsys.readouterr().out
    assert "builtin weights: not on the hub; physreel train -o DIR" in out and "nothing to fetch from the hub" in out
    assert hub.calls == []


def test_a_pipeline_folders_variant_is_read_from_its_components_only(tmp_path):
    from physreel.engine.backends.model_files import weights_variant

    (tmp_path / "transformer").mkdir()
    (tmp_path / "transformer" / "diffusion_pytorch_model.safetensors").write_bytes(b"")
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "WanVACEPipeline", "transformer": ["diffusers", "X"]}))
    (tmp_path / "base" / "unet").mkdir(parents=True)  # another backend's folder kept inside it
    (tmp_path / "base" / "unet" / "diffusion_pytorch_model.fp16.safetensors").write_bytes(b"")
    assert weights_variant(tmp_path) is None
    assert weights_variant(tmp_path / "base") == "fp16"
    (tmp_path / "transformer" / "diffusion_pytorch_model.fp16.safetensors").write_bytes(b"")
    assert weights_variant(tmp_path) == "fp16"


def test_fetch_stops_before_downloading_when_a_repository_lacks_a_file_physreel_loads(hub, hub_repos, tmp_path, capsys):
    from physreel.engine.cli import main

    unet = hub_repos["stable-diffusion-v1-5/stable-diffusion-v1-5"] / "unet" / "diffusion_pytorch_model.fp16.safetensors"
    hidden = unet.with_name("moved")
    shutil.move(unet, hidden)
    try:
        code = main(["models", "--backend", "animatediff", "--model", str(tmp_path / "m"), "--fetch"])
    finally:
        shutil.move(hidden, unet)
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "has no file matching unet/diffusion_pytorch_model.fp16.safetensors" in err
    assert not (tmp_path / "m").exists()


def test_fetch_reports_an_unreachable_repository_on_one_line(hub, tmp_path, capsys, monkeypatch):
    from physreel.engine.backends import animatediff
    from physreel.engine.backends.model_files import controlnet_v11
    from physreel.engine.cli import main

    monkeypatch.setitem(animatediff.CONTROLNET_FILES, "seg", controlnet_v11("nobody/no-such-controlnet"))
    assert main(["models", "--backend", "animatediff", "--model", str(tmp_path / "m"), "--fetch", "--role", "controlnet-seg"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot list nobody/no-such-controlnet on the hub" in err


def test_fetch_refuses_two_repositories_for_one_folder_before_asking_the_hub(hub, tmp_path, capsys):
    from physreel.engine.cli import main

    model_dir = tmp_path / "m"
    assert main(["models", "--model", str(model_dir), "--fetch", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert (f"animatediff base (stable-diffusion-v1-5/stable-diffusion-v1-5) and cogvideox-flow base (THUDM/CogVideoX-5b) "
            f"both belong in {model_dir / 'base'}") in err
    assert hub.calls == [] and not model_dir.exists()
    # the listing says so beside its commands
    assert main(["models", "--model", str(model_dir)]) == 0
    assert f"note: animatediff base (stable-diffusion-v1-5/stable-diffusion-v1-5) and cogvideox-flow base" in capsys.readouterr().out


@pytest.mark.parametrize("argv, problem", [
    (["--dry-run"], "--dry-run goes with --fetch"),
    (["--role", "base"], "--role goes with --fetch"),
    (["--fetch", "--json"], "use one"),
    (["--fetch", "--role", "unet"], "--role unet: no such role"),
])
def test_models_rejects_flag_combinations_it_cannot_honour(hub, tmp_path, capsys, argv, problem):
    from physreel.engine.cli import main

    assert main(["models", "--backend", "animatediff", "--model", str(tmp_path / "m"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------------------ folder identity
def test_a_folder_is_identified_by_its_own_files_not_by_the_id_physreel_expected(tmp_path):
    from physreel.engine.testing.tiny_models import TINY_ORIGIN, write_tiny_wan_vace

    folder = write_tiny_wan_vace(tmp_path / "wan")
    identity = folder_identity(folder, "model_index.json")
    assert identity["class"] == "WanVACEPipeline" and identity["source"] == {"origin": TINY_ORIGIN}
    # without physreel's statement: a --local-dir download record gives the commit, not the repository
    (folder / SOURCE_FILE).unlink()
    assert folder_identity(folder, "model_index.json")["source"] is None
    record = folder / ".cache" / "huggingface" / "download" / "model_index.json.metadata"
    record.parent.mkdir(parents=True)
    record.write_text(f"{COMMIT}\netag\n1.0\n")
    assert folder_identity(folder, "model_index.json")["source"] == {
        "repo_id": None, "revision": COMMIT, "recorded_by": "hf download --local-dir"}
    # the configs' hash tells architectures apart (and ignores the hub's records and physreel's statement)
    before = identity["config_sha256"]
    assert folder_identity(folder, "model_index.json")["config_sha256"] == before
    config = json.loads((folder / "transformer" / "config.json").read_text())
    (folder / "transformer" / "config.json").write_text(json.dumps({**config, "num_layers": config["num_layers"] + 1}))
    assert folder_identity(folder, "model_index.json")["config_sha256"] != before

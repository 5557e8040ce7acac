"""Library calls leave the process as they found it: loading weights goes offline only for the
load; training restores torch's thread count; plots switch no matplotlib backend; backends keep
their own state (nothing set on diffusers pipelines, a weight-hash cache per hasher).

Backends load the tiny local models of engine/testing/tiny_models.py through their own loaders.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from physreel.engine.backends import get_backend
from physreel.engine.backends.animatediff import CONTROLNET_IDS
from physreel.engine.backends.diffusers_common import apply_memory_flags
from physreel.engine.backends.runtime import OFFLINE_VARIABLE, WeightHasher, hub_offline
from physreel.engine.builtin.controls import IMAGE_CHANNELS
from physreel.engine.builtin.train import TrainConfig, torch_threads, train
from physreel.engine.errors import BackendError
from physreel.engine.records import ControlInput, GenerationRequest
from physreel.engine.testing.tiny_models import tiny_builtin_config
from physreel.sim.files import write_npz

REPO = Path(__file__).resolve().parents[1]
UNREACHABLE = "https://hub.invalid/api/models/none"
"""A hub-style URL that cannot resolve: a request that is not refused as offline fails another way."""


@pytest.fixture(scope="module")
def animatediff_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_animatediff

    return write_tiny_animatediff(tmp_path_factory.mktemp("animatediff"), control_kinds=("depth",))


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_wan_vace

    return write_tiny_wan_vace(tmp_path_factory.mktemp("wan"))


@pytest.fixture(scope="module")
def cogvideox_dir(tmp_path_factory) -> Path:
    from physreel.engine.testing.tiny_models import write_tiny_cogvideox_flow

    return write_tiny_cogvideox_flow(tmp_path_factory.mktemp("cogvideox"))


@pytest.fixture
def one_torch_thread():
    """Tiny models run faster on one thread than on contended cores."""
    with torch_threads(1):
        yield


# ----------------------------------------------------------------------------- offline loading
@pytest.mark.parametrize("before", [None, "0"], ids=["unset", "set"])
def test_hub_offline_refuses_hub_requests_in_the_block_and_restores_everything_after(before, monkeypatch):
    from huggingface_hub import constants, get_session
    from huggingface_hub.errors import OfflineModeIsEnabled

    if before is None:
        monkeypatch.delenv(OFFLINE_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(OFFLINE_VARIABLE, before)
    switch = constants.HF_HUB_OFFLINE
    with hub_offline():
        assert os.environ[OFFLINE_VARIABLE] == "1" and constants.is_offline_mode()
        with pytest.raises(OfflineModeIsEnabled):  # refused by the hub before any connection
            get_session().get(UNREACHABLE)
    assert os.environ.get(OFFLINE_VARIABLE) == before and constants.HF_HUB_OFFLINE is switch
    with pytest.raises(RuntimeError, match="inside"):
        with hub_offline():
            raise RuntimeError("inside")
    assert os.environ.get(OFFLINE_VARIABLE) == before and constants.HF_HUB_OFFLINE is switch


def _spy_on_from_pretrained(monkeypatch) -> list[tuple[str, object, bool]]:
    """Record (class, local_files_only, hub offline?) for every from_pretrained of diffusers and
    transformers (models, pipelines, schedulers, tokenizers), nested loads included."""
    from diffusers import DiffusionPipeline, ModelMixin, SchedulerMixin
    from huggingface_hub import constants
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    calls = []
    for owner in (ModelMixin, DiffusionPipeline, SchedulerMixin, PreTrainedModel, PreTrainedTokenizerBase):
        original = owner.__dict__["from_pretrained"].__func__

        def spy(cls, *args, _original=original, **kwargs):
            calls.append((cls.__name__, kwargs.get("local_files_only"), constants.is_offline_mode()))
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(owner, "from_pretrained", classmethod(spy))
    return calls


@pytest.mark.parametrize("name", ["animatediff", "wan-vace", "cogvideox-flow"])
def test_loading_a_pipeline_is_offline_and_leaves_the_environment_as_it_was(name, animatediff_dir, wan_dir, cogvideox_dir,
                                                                            monkeypatch, one_torch_thread):
    from huggingface_hub import constants

    monkeypatch.delenv(OFFLINE_VARIABLE, raising=False)
    calls = _spy_on_from_pretrained(monkeypatch)
    environment, switch = dict(os.environ), constants.HF_HUB_OFFLINE
    if name == "animatediff":
        entry = get_backend(name, animatediff_dir).load_pipeline(("depth",), "cpu", torch.float32)
        direct = {"MotionAdapter", "ControlNetModel", "AnimateDiffControlNetPipeline"}
    elif name == "wan-vace":
        entry = get_backend(name, wan_dir).load_pipeline("cpu", torch.float32)
        direct = {"AutoencoderKLWan", "WanVACEPipeline"}
    else:
        entry = get_backend(name, cogvideox_dir).load_pipeline("cpu", torch.float32)
        direct = {"CogVideoXPipeline"}
    assert entry.loaded.pipe is not None
    assert dict(os.environ) == environment and constants.HF_HUB_OFFLINE is switch
    assert calls and all(offline for _, _, offline in calls), calls
    assert direct <= {cls for cls, _, _ in calls}
    assert all(local is True for cls, local, _ in calls if cls in direct), calls


def test_the_depth_estimator_loads_offline_from_local_files(tmp_path, monkeypatch):
    import controlnet_aux
    from huggingface_hub import constants

    from physreel.engine.metrics.depth_rank import MIDAS_FILE, load_depth_estimator

    (tmp_path / MIDAS_FILE).write_bytes(b"")
    calls = []

    def fake_from_pretrained(path, **kwargs):  # records how it was called; no 500 MB model in a test
        calls.append((path, kwargs.get("local_files_only"), constants.is_offline_mode()))
        return lambda frame, **_: np.zeros(frame.shape[:2] + (1,), np.uint8)

    monkeypatch.setattr(controlnet_aux.MidasDetector, "from_pretrained", fake_from_pretrained)
    monkeypatch.delenv(OFFLINE_VARIABLE, raising=False)
    environment, switch = dict(os.environ), constants.HF_HUB_OFFLINE
    estimator, note = load_depth_estimator(tmp_path)
    assert estimator is not None and note is None
    assert calls == [(str(tmp_path), True, True)]
    assert dict(os.environ) == environment and constants.HF_HUB_OFFLINE is switch


# ----------------------------------------------------------------------------- owned state
class _RecordingPipe:
    """Stands in for a diffusers pipeline: records the memory calls made on it."""

    def __init__(self):
        self.calls = []
        self.vae = self

    def enable_model_cpu_offload(self, device):
        self.calls.append(("offload", device))

    def remove_all_hooks(self):
        self.calls.append("hooks removed")

    def to(self, device):
        self.calls.append(("to", device))

    def enable_tiling(self):
        self.calls.append("tiling on")

    def disable_tiling(self):
        self.calls.append("tiling off")


def test_memory_flags_take_and_return_the_offload_state_the_caller_keeps():
    pytest.importorskip("accelerate")
    pipe = _RecordingPipe()
    offload = GenerationRequest(prompt="", num_frames=1, fps=1, width=8, height=8, seed=0, cpu_offload=True)
    plain = offload.with_changes(cpu_offload=False)
    assert apply_memory_flags(pipe, offload, "cuda") is True
    assert apply_memory_flags(pipe, offload, "cuda", offloaded=True) is True   # hooks stay, not reinstalled
    assert apply_memory_flags(pipe, plain, "cuda", offloaded=True) is False
    assert apply_memory_flags(pipe, plain, "cuda", offloaded=False) is False
    assert pipe.calls == [("offload", "cuda"), "tiling off", "tiling off", "hooks removed", ("to", "cuda"),
                          "tiling off", "tiling off"]
    assert not [n for n in vars(pipe) if n.startswith("physreel")]
    with pytest.raises(BackendError, match="needs --device cuda"):
        apply_memory_flags(_RecordingPipe(), offload, "cpu")


def test_a_backend_keeps_its_pipelines_sources_and_records_them_without_touching_the_pipeline(animatediff_dir,
                                                                                             one_torch_thread):
    backend = get_backend("animatediff", animatediff_dir)
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    request = GenerationRequest(prompt="a ball", num_frames=2, fps=8, width=32, height=32, seed=0, steps=1,
                                controls=(ControlInput("depth", frames),), backend="animatediff",
                                model_path=str(animatediff_dir), device="cpu")
    meta = backend.generate(request).meta
    entry = backend.load_pipeline(("depth",), "cpu", torch.float32)  # the cached entry generate used
    assert not [n for n in vars(entry.loaded.pipe) if n.startswith("physreel")]
    assert entry.offloaded is False
    depth_files, depth_dir = entry.loaded.sources["controlnet-depth"]
    assert (depth_files.repo_id, depth_dir) == (CONTROLNET_IDS["depth"], animatediff_dir / "controlnet-depth")
    assert {role: model["path"] for role, model in meta["models"].items()} == {
        role: str(path) for role, (_, path) in entry.loaded.sources.items()}
    assert all(len(model["sha256"]) == 64 for model in meta["models"].values())


def test_weight_hashes_are_cached_per_hasher_not_per_process(tmp_path):
    weights = tmp_path / "model" / "unet" / "weights.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"first")
    hasher = WeightHasher()
    first = hasher.weights_hash(tmp_path / "model")
    stat = weights.stat()
    weights.write_bytes(b"other")  # same size; the mtime is put back: only a fresh read sees it
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert hasher.weights_hash(tmp_path / "model") == first
    assert WeightHasher().weights_hash(tmp_path / "model") != first
    with pytest.raises(BackendError, match="no weight files"):
        hasher.weights_hash(tmp_path / "model" / "unet" / "missing")


# ----------------------------------------------------------------------------- threads and plots
def test_training_runs_on_its_threads_and_restores_the_callers_count(tmp_path):
    rng = np.random.default_rng(0)
    write_npz(tmp_path / "data" / "shard_00000.npz", rgb=rng.integers(0, 255, (2, 2, 16, 16, 3), dtype=np.uint8),
              control=rng.integers(0, 255, (2, 2, 16, 16, IMAGE_CHANNELS), dtype=np.uint8),
              caption=np.array(["a red box", "a blue ball"]))
    tiny = tiny_builtin_config()
    config = TrainConfig(steps=1, batch=2, threads=2)
    with torch_threads(1):
        summary = train(tmp_path / "data", tmp_path / "out", config, model_config=tiny)
        assert summary["threads"] == 2
        assert torch.get_num_threads() == 1
    with torch_threads(3):
        with pytest.raises(ValueError, match="already holds a checkpoint"):  # restored on an error too
            train(tmp_path / "data", tmp_path / "out", config, model_config=tiny)
        assert torch.get_num_threads() == 3


def test_plots_switch_no_matplotlib_backend_and_use_no_pyplot(tmp_path):
    # In a fresh process with another backend chosen (MPLBACKEND=svg), as a user's own program might.
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "import numpy as np\n"
        "from physreel.engine.builtin.train import plot_losses\n"
        "from physreel.engine.metrics.base import MetricResult\n"
        "from physreel.engine.metrics.summary import Run\n"
        "from physreel.engine.report.plots import metric_plot_png\n"
        "runs = [Run('guided', 0, {'m': MetricResult('m', 0.2, 'lower', 'px', np.array([0.1, 0.4, 0.2]))})]\n"
        "png = metric_plot_png('m', runs, 8, 'lower', 'px')\n"
        "plot_losses([(1, 1.0, 1e-3, 0.1), (2, 0.5, 1e-3, 0.2)], Path(sys.argv[1]))\n"
        "pyplot = 'matplotlib.pyplot' in sys.modules\n"
        "import matplotlib\n"
        "print(png[:4] == Path(sys.argv[1]).read_bytes()[:4] == b'\\x89PNG', pyplot, matplotlib.get_backend())\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "loss.png")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env={**os.environ, "MPLBACKEND": "svg"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True False svg"

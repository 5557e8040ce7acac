"""bench/real_scale.py's --shrink path: the real-scale smoke run's own code (model folder written in a
child process, one step through physreel's Pipeline, the denoiser's forward calls timed, peak memory),
with tiny widths so it takes seconds. Slow: it writes and loads whole pipelines."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "real_scale.py"


def _real_scale():
    spec = importlib.util.spec_from_file_location("real_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("backend, denoisers, frames_shape", [
    # AnimateDiff batches classifier-free guidance: one UNet and one ControlNet call per step
    ("animatediff", {"UNetMotionModel": 1, "ControlNetModel": 1}, [4, 64, 64, 3]),
    # WanVACEPipeline calls the transformer once for the prompt and once for the negative prompt
    ("wan-vace", {"WanVACETransformer3DModel": 2}, [5, 48, 64, 3]),
])
def test_shrunk_real_scale_run_takes_one_step_through_the_pipeline_and_records_memory(tmp_path, backend, denoisers,
                                                                                         frames_shape):
    keep = tmp_path / "model"
    record = _real_scale().main(["--backend", backend, "--shrink", "--keep", str(keep), "--json", str(tmp_path / "r.json")])
    run = record["runs"]["plain"]
    assert record["device"] == "cpu" and record["dtype"] == "float32" and record["steps"] == 1
    assert run["denoiser_calls"] == denoisers
    assert run["frames_shape"] == frames_shape
    assert all(seconds >= 0.0 for seconds in run["denoiser_s"].values())
    # the run loads the weights the child wrote, so its peak resident set is at least their size
    weights_gib = sum(p.stat().st_size for p in keep.rglob("*.safetensors")) / 2**30
    assert record["peak_rss_gib"] >= record["peak_rss_gib_before_run"] and record["peak_rss_gib"] >= weights_gib
    assert (keep / "_written.json").is_file() and (tmp_path / "r.json").is_file()

"""Device and dtype selection, offline loading and weight hashing shared by every backend."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator

import numpy as np

from physreel.sim.spec.types import DEVICES, DTYPES

from ..errors import BackendError, ModelNotFoundError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' if available, else 'mps' if available, else 'cpu'; a named device is checked."""
    import torch

    if device not in DEVICES:
        raise BackendError(f"device {device!r} is not one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if device == "cuda" and not cuda:
        raise BackendError("device 'cuda' was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    if device == "mps" and not mps:
        raise BackendError("device 'mps' was asked for but torch sees no Apple GPU; use --device cpu or auto")
    return device


def resolve_dtype(dtype: str, device: str):
    """'auto' -> float16 on cuda, float32 elsewhere (half precision on CPU is slow and lossy). A torch.dtype."""
    import torch

    if dtype not in DTYPES:
        raise BackendError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if dtype == "auto":
        return torch.float16 if device == "cuda" else torch.float32
    return getattr(torch, dtype)


def dtype_kwargs(dtype) -> dict:
    """The from_pretrained keyword for a torch dtype: `dtype` where diffusers has it, else `torch_dtype`."""
    from diffusers.utils import deprecation_utils

    return {"dtype": dtype} if hasattr(deprecation_utils, "_resolve_dtype") else {"torch_dtype": dtype}


def offline() -> None:
    """Forbid hub downloads in this process: physreel loads local weights only."""
    os.environ["HF_HUB_OFFLINE"] = "1"


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """Silence diffusers' and transformers' loading progress bars and info/warning chatter
    (e.g. about optional accelerate features) while weights load; errors still show."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    before = (diffusers_logging.get_verbosity(), transformers_logging.get_verbosity())
    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        diffusers_logging.set_verbosity(before[0])
        transformers_logging.set_verbosity(before[1])
        diffusers_logging.enable_progress_bar()
        transformers_logging.enable_progress_bar()


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached per (path, size, mtime) for the life of the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def weights_hash(directory: str | Path) -> str:
    """sha256 over the sorted (relative path, file sha256) of every weight file under `directory`.

    Configs are not hashed (they are small and recorded by id); two directories with the same
    weight files give the same hash wherever they live.
    """
    directory = Path(directory)
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    if not files:
        raise BackendError(f"{directory}: no weight files ({', '.join(WEIGHT_SUFFIXES)}) to hash")
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.relative_to(directory).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def hf_cache_snapshot(model_id: str) -> Path | None:
    """The local Hugging Face cache snapshot of `model_id`, or None; never downloads.

    Reads HF_HUB_CACHE (or HF_HOME/hub) at call time, so a changed environment is honoured.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    cache_dir = os.environ.get("HF_HUB_CACHE")
    if cache_dir is None and os.environ.get("HF_HOME"):
        cache_dir = str(Path(os.environ["HF_HOME"]) / "hub")
    try:
        return Path(snapshot_download(model_id, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None


def locate_model(model_dir: str | None, subdir: str, model_id: str, marker: str) -> Path | None:
    """Where a model's files are: `model_dir/subdir` if it holds `marker`, else the HF cache, else None.

    `marker` is a file that proves the layout (e.g. 'model_index.json', 'config.json').
    """
    if model_dir is not None:
        candidate = Path(model_dir) / subdir
        if (candidate / marker).is_file():
            return candidate
    snapshot = hf_cache_snapshot(model_id)
    if snapshot is not None and (snapshot / marker).is_file():
        return snapshot
    return None


def fetch_command(model_id: str, model_dir: str | None, subdir: str) -> str:
    """The command that fetches `model_id` where a network exists (into the --model layout if one is used)."""
    if model_dir is None:
        return f"huggingface-cli download {model_id}"
    return f"huggingface-cli download {model_id} --local-dir {Path(model_dir) / subdir}"


def missing_model_error(backend: str, role: str, model_id: str, model_dir: str | None, subdir: str) -> "BackendError":
    where = f"{Path(model_dir) / subdir} or the local Hugging Face cache" if model_dir else "the local Hugging Face cache"
    return ModelNotFoundError(
        f"{backend}: the {role} model {model_id} is not in {where} (physreel never downloads); "
        f"fetch it where a network exists with `{fetch_command(model_id, model_dir, subdir)}`"
    )


def pipeline_frames(output) -> np.ndarray:
    """A diffusers video pipeline's `output_type="np"` frames (float 0..1) as uint8 [T, H, W, 3]."""
    return np.clip(np.round(np.asarray(output.frames[0], dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def pipeline_meta(backend: str, pipe, request, resolved: dict, noise: dict) -> dict:
    """The meta.json record of one diffusers pipeline run: models and their hashes, scheduler,
    settings, what was resolved (device, dtype, ...) and how the initial noise was made."""
    import json

    sources = pipe.physreel_sources
    return {
        "backend": backend,
        "pipeline": type(pipe).__name__,
        "models": {role: {"id": model_id, "path": str(path), "sha256": weights_hash(path)}
                   for role, (model_id, path) in sources.items()},
        "scheduler": {"class": type(pipe.scheduler).__name__,
                      "config": json.loads(json.dumps(dict(pipe.scheduler.config), default=str))},
        "settings": request.settings(),
        "resolved": resolved,
        "noise": {
            "method": "exact-flow warp (engine/noise_warp.py)" if request.noise_flow is not None else "independent",
            "seed": request.seed,
            **noise,
        },
    }

"""What the diffusers backends (animatediff, wan-vace, cogvideox-flow) share: loading keywords and quiet loading,
the record of a loaded pipeline and the backend's cache entry for it, the memory flags, and the
frames and meta.json record of a run."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import BackendError
from ..records import GenerationRequest
from .identity import file_identity, folder_identity
from .model_files import ModelFiles, weights_variant
from .runtime import WeightHasher


@dataclass(frozen=True)
class LoadedPipeline:
    """A diffusers pipeline as a backend loaded it, and the local folders its weights came from."""

    pipe: Any
    """The diffusers pipeline (physreel sets no attributes on it)."""
    sources: Mapping[str, tuple[ModelFiles, Path]]
    """role -> (the files physreel expects for it, the local folder it was loaded from)."""


@dataclass
class PipelineEntry:
    """One pipeline in a backend's cache and the memory mode the backend has put it in (owned by the
    backend: the pipeline object itself does not say whether physreel installed offload hooks)."""

    loaded: LoadedPipeline
    offloaded: bool = False
    """Whether model CPU offload hooks are installed (see `apply_memory_flags`)."""


def dtype_kwargs(dtype) -> dict:
    """The from_pretrained keyword for a torch dtype: `dtype` where diffusers has it, else `torch_dtype`."""
    from diffusers.utils import deprecation_utils

    return {"dtype": dtype} if hasattr(deprecation_utils, "_resolve_dtype") else {"torch_dtype": dtype}


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


def apply_memory_flags(pipe: Any, request: GenerationRequest, device: str, offloaded: bool = False) -> bool:
    """Apply `cpu_offload` and `vae_tiling` to a diffusers pipeline (or refuse, never ignore).

    `offloaded`: whether the pipeline has offload hooks now (the caller's `PipelineEntry.offloaded`).
    Returns whether it has them afterwards, for the caller to keep.
    """
    if request.cpu_offload and not offloaded:
        if device == "cpu":
            raise BackendError("cpu_offload moves weights between the CPU and a GPU; it needs --device cuda (or mps)", "cpu_offload")
        try:
            import accelerate  # noqa: F401
        except ImportError:
            raise BackendError("cpu_offload needs the accelerate package: pip install accelerate", "cpu_offload") from None
        pipe.enable_model_cpu_offload(device=device)
        offloaded = True
    elif offloaded and not request.cpu_offload:
        pipe.remove_all_hooks()
        pipe.to(device)
        offloaded = False
    if request.vae_tiling:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()
    return offloaded


def request_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """The keyword arguments every diffusers video pipeline here takes from a request alike: prompt and
    negative prompt, size, frames, steps and guidance, a CPU generator seeded with the request's seed
    (so the pipeline's own draws do not depend on the device), and frames returned as numpy."""
    import torch

    return dict(
        prompt=request.prompt,
        negative_prompt=request.negative_prompt or None,
        height=request.height,
        width=request.width,
        num_frames=request.num_frames,
        num_inference_steps=request.steps,
        guidance_scale=request.guidance_scale,
        generator=torch.Generator("cpu").manual_seed(request.seed),
        output_type="np",
    )


def pipeline_frames(output) -> np.ndarray:
    """A diffusers video pipeline's `output_type="np"` frames (float 0..1) as uint8 [T, H, W, 3]."""
    return np.clip(np.round(np.asarray(output.frames[0], dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def pipeline_meta(backend: str, loaded: LoadedPipeline, request: GenerationRequest, resolved: dict, noise: dict,
                  hasher: WeightHasher) -> dict:
    """The meta.json record of one diffusers pipeline run: models and their hashes, scheduler,
    settings, what was resolved (device, dtype, ...) and how the initial noise was made."""
    pipe = loaded.pipe
    return {
        "backend": backend,
        "pipeline": type(pipe).__name__,
        "models": {role: model_record(files, path, hasher) for role, (files, path) in loaded.sources.items()},
        "scheduler": {"class": type(pipe.scheduler).__name__,
                      "config": json.loads(json.dumps(dict(pipe.scheduler.config), default=str))},
        "settings": request.settings(),
        "resolved": resolved,
        "noise": {
            "method": "exact-flow warp, pixel field (engine/noise_warp.py)" if request.noise_flow is not None else "independent",
            "seed": request.seed,
            **noise,
        },
    }


def model_record(files: ModelFiles, folder: Path, hasher: WeightHasher) -> dict:
    """meta.json's record of one loaded model folder: what the folder says it is (`id` is the hub
    repository only when the folder records one, never the id physreel looked for, which is
    `expected_id`), the weight variant loaded, and the hash of its weights."""
    identity = folder_identity(folder, files.marker)
    source = identity["source"] or {}
    return {
        "id": source.get("repo_id"),
        "expected_id": files.repo_id,
        "class": identity["class"],
        "source": identity["source"],
        "config_sha256": identity["config_sha256"],
        "variant": weights_variant(folder),
        "path": str(folder),
        "sha256": hasher.weights_hash(folder),
    }


def file_record(files: ModelFiles, path: Path, hasher: WeightHasher) -> dict:
    """meta.json's record of one weights file loaded by itself (a LoRA), keyed as `model_record`:
    `id` is the hub repository only when its folder records one, `expected_id` what physreel looked
    for; the sha256 is the file's."""
    identity = file_identity(path)
    source = identity["source"] or {}
    return {
        "id": source.get("repo_id"),
        "expected_id": files.repo_id,
        "file": identity["file"],
        "source": identity["source"],
        "path": str(path),
        "sha256": hasher.file_sha256(path),
    }

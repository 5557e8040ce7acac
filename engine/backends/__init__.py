"""Generation backends: one interface (`base.Backend`), dispatched by name.

Each backend lives in its own module and is imported only when asked for (diffusers and
transformers take seconds to import). Add a backend by writing `engine/backends/<name>.py`
with a `Backend` subclass and adding its entry to `BACKENDS`.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .base import (
    Backend,
    BackendError,
    BackendInfo,
    ControlInput,
    GeneratedVideo,
    GenerationRequest,
    ModelNotFoundError,
    ModelRequirement,
    NoiseFlow,
    ShapePlan,
)

BACKENDS: dict[str, str] = {
    "builtin": "physreel.engine.backends.builtin:BuiltinBackend",
    "animatediff": "physreel.engine.backends.animatediff:AnimateDiffBackend",
    "wan-vace": "physreel.engine.backends.wan_vace:WanVaceBackend",
}
"""Backend name -> 'module:ClassName'. Names match `generate.backend` in the scene spec."""


def backend_class(name: str) -> type[Backend]:
    """The Backend subclass registered as `name`; BackendError (listing the names) otherwise."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise BackendError(f"backend {name!r} is registered but {module_name} is not installed in this build") from None
        raise
    return getattr(module, class_name)


def get_backend(name: str, model_path: str | Path | None = None) -> Backend:
    """An instance of the backend registered as `name`, reading weights from `model_path`."""
    return backend_class(name)(model_path=model_path)


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "BackendInfo",
    "ControlInput",
    "GeneratedVideo",
    "GenerationRequest",
    "ModelNotFoundError",
    "ModelRequirement",
    "NoiseFlow",
    "ShapePlan",
    "backend_class",
    "get_backend",
]

"""Generation backends: one interface (`base.Backend`), dispatched by name.

Each backend lives in its own module and is imported only when asked for (diffusers and
transformers take seconds to import). Add a backend by writing `engine/backends/<name>.py`
with a `Backend` subclass, adding its entry to `BACKENDS` and its name to the spec's BackendName.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ..errors import BackendError
from .base import Backend

BACKENDS: Mapping[str, str] = MappingProxyType({
    "builtin": "physreel.engine.backends.builtin:BuiltinBackend",
    "animatediff": "physreel.engine.backends.animatediff:AnimateDiffBackend",
    "wan-vace": "physreel.engine.backends.wan_vace:WanVaceBackend",
    "cogvideox-flow": "physreel.engine.backends.cogvideox_flow:CogVideoXFlowBackend",
})
"""Backend name -> 'module:ClassName', read-only: exactly the spec's `generate.backend` names
(sim.spec.types.BackendName; tests/test_package.py checks they agree). Another backend, e.g. a
test double, is given to `engine.pipeline.Pipeline(backend=...)` as an instance instead."""


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


__all__ = ["BACKENDS", "Backend", "BackendError", "backend_class", "get_backend"]

"""The one interface every generation backend implements.

A backend turns a `GenerationRequest` (prompt, settings, control frames, the simulated flow
for noise warping: plain numpy data, no torch objects) into a `GeneratedVideo` (uint8 frames
plus a `meta` dict that goes into OUT/meta.json's `generate` section); both records live in
engine/records.py.

Backends differ in what sizes and frame counts they can make (Stable Diffusion: multiples of 8;
Wan: multiples of 16 and 4k+1 frames). `Backend.plan_shape` says what a backend will make for
a wished shape, with a human-readable note for every change, so the request builder resizes
the control frames once, to the size actually generated, and the change is printed and
recorded (never silent).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from physreel.sim.spec.model import GenerateSpec
from physreel.sim.spec.types import ControlKind

from ..errors import BackendError
from ..records import GeneratedVideo, GenerationRequest, ShapePlan
from .device import resolve_device


@dataclass(frozen=True)
class ModelRequirement:
    """One model a backend needs, and whether it was found locally."""

    role: str
    """What it is for, e.g. 'base', 'motion_adapter', 'controlnet-depth'."""
    model_id: str
    """Hugging Face model id (or 'physreel builtin')."""
    found: bool
    location: str | None = None
    """Where it was found (a directory), or None."""
    fetch_command: str | None = None
    """Command that fetches it where a network exists (`hf download REPO --include ... --local-dir ...`)."""
    optional: bool = False
    """Needed only for some controls (e.g. the pose ControlNet)."""
    local_dir: str | None = None
    """The folder of the `--model` layout it belongs in (None: the local Hugging Face cache)."""
    include: tuple[str, ...] = ()
    """The repository files it loads (glob patterns; what the fetch command and --fetch download)."""
    identity: dict | None = None
    """What the found folder is, from its own files (engine.backends.identity.folder_identity)."""


@dataclass(frozen=True)
class BackendInfo:
    """What `physreel models` prints for a backend."""

    name: str
    description: str
    requirements: tuple[ModelRequirement, ...]
    controls: tuple[ControlKind, ...]
    """Control kinds this backend can take."""
    model_dir_layout: str = ""
    """How to lay out a --model directory for this backend."""

    @property
    def available(self) -> bool:
        return all(r.found for r in self.requirements if not r.optional)


START_IMAGE_BACKENDS = ("animatediff", "wan-vace", "cogvideox-flow")
"""The registered backends with an `image_route`, named in the refusal of the others (the registry
imports this module, so it cannot be asked here; tests/test_start_image.py checks they agree)."""


def native_size(pass_size: tuple[int, int], short_side: int, multiple: int) -> tuple[int, int]:
    """The shot's aspect ratio scaled so its shorter side is `short_side`, each side rounded to
    the nearest multiple of `multiple` (at least `multiple`)."""
    width, height = pass_size
    scale = short_side / min(width, height)
    return tuple(max(multiple, int(round(side * scale / multiple)) * multiple) for side in (width, height))


def size_rounded_down(backend_name: str, width: int, height: int, multiple: int) -> tuple[int, int, tuple[str, ...]]:
    """(width, height) rounded down to multiples of `multiple` (at least `multiple`), and the note that
    says so when they change (none when they were multiples already)."""
    new_w, new_h = max(multiple, width // multiple * multiple), max(multiple, height // multiple * multiple)
    if (new_w, new_h) == (width, height):
        return new_w, new_h, ()
    return new_w, new_h, (f"{backend_name}: size {width}x{height} is not a multiple of {multiple}; generating {new_w}x{new_h}",)


class Backend(ABC):
    """A video generator. Subclasses set `name`, and implement `describe` and `generate`.

    Construct with `model_path` (a local directory, or None for the backend's default location).
    Nothing is loaded at construction; `generate` loads (and caches) the weights.
    """

    name: ClassVar[str]
    controls: ClassVar[tuple[ControlKind, ...]] = ()
    """Control kinds this backend accepts; others raise BackendError in `check_request`."""
    default_guidance_scale: ClassVar[float] = 7.5
    """Classifier-free guidance used when neither the spec nor the CLI sets one."""
    default_controls: ClassVar[tuple[ControlKind, ...]] = ("depth",)
    """The controls of a guided run when the spec names none (`generate.controls` unset)."""
    image_route: ClassVar[str | None] = None
    """How this backend starts a video from `generate.image` (docs/engine.md, "Start image"), or
    None when it takes no start image: `check_settings` then refuses one before any simulation."""
    control_options: ClassVar[Mapping[str, Mapping[str, Any]]] = MappingProxyType({
        "depth": MappingProxyType({"scope": "frame"}), "flow": MappingProxyType({"scope": "shot"})})
    """Per kind, the `conditioning.control.control_image` options that draw the control in the
    convention of the model this backend feeds, as that model's own annotator draws it (docs/engine.md,
    "Control conventions"); a kind left out takes control_image's defaults (ControlNet v1.1's
    annotators). Depth and flow name their `scope`, the default of a control's `scope:` field."""

    def __init__(self, model_path: str | Path | None = None):
        self.model_path = None if model_path is None else str(model_path)

    @abstractmethod
    def describe(self) -> BackendInfo:
        """What this backend needs and whether it is found locally (no weights are loaded)."""

    @abstractmethod
    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        """Make the video. Raises BackendError (or ModelNotFoundError) on what it cannot do."""

    def check_settings(self, generate: GenerateSpec) -> None:
        """Raise BackendError (with the `generate:` field it is about) for a resolved setting this
        backend cannot honour, before any simulation. The base class takes every setting but a
        start image, which only a backend with an `image_route` takes; subclasses call it first.
        The device asked for must be there (`--device cuda` on a machine without CUDA stops here,
        not after the simulation)."""
        resolve_device(generate.device)
        if generate.image is not None and self.image_route is None:
            raise BackendError(f"the {self.name} backend takes no start image; remove generate.image or use a "
                               f"backend that starts from one ({', '.join(START_IMAGE_BACKENDS)})", "image")

    def check_plan(self, generate: GenerateSpec, shape: ShapePlan) -> None:
        """Raise BackendError for settings this backend cannot honour at the planned shape, before any
        simulation (`engine.settings.plan_generation` asks). The base class takes every shape."""

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        """Raise ModelNotFoundError (or BackendError) before any simulation or rendering if the models
        for these control kinds (empty: unguided) are absent. The base class needs nothing."""

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """(width, height) generated when the spec gives no `generate.resolution`: the backend's
        native size at the shot's aspect ratio. The base class keeps the shot's size."""
        return pass_size

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        """The shape this backend generates for a wished one; the base class takes any shape."""
        return ShapePlan(num_frames, width, height)

    def check_request(self, request: GenerationRequest) -> None:
        """Raise BackendError for a request this backend cannot honour (never ignore a setting)."""
        if request.backend != self.name:
            raise BackendError(f"request is for backend {request.backend!r}, not {self.name!r}")
        if request.model_path != self.model_path:
            raise BackendError(f"request reads models from {request.model_path!r} but this backend from {self.model_path!r}")
        plan = self.plan_shape(request.num_frames, request.width, request.height)
        if (plan.num_frames, plan.width, plan.height) != (request.num_frames, request.width, request.height):
            raise BackendError(
                f"{self.name} cannot make {request.num_frames} frames at {request.width}x{request.height}; "
                f"it makes {plan.num_frames} frames at {plan.width}x{plan.height} "
                f"(build the request with engine.request.build_request, which adjusts the shape)"
            )
        for control in request.controls:
            if control.kind not in self.controls:
                raise BackendError(
                    f"{self.name} has no {control.kind!r} control; it takes {', '.join(self.controls) or 'none'}"
                )
            if control.frames.shape != (request.num_frames, request.height, request.width, 3) or control.frames.dtype != np.uint8:
                raise BackendError(
                    f"control {control.kind!r} frames are {control.frames.dtype} {control.frames.shape}; expected uint8 "
                    f"{(request.num_frames, request.height, request.width, 3)}"
                )
        if request.image is not None:
            if self.image_route is None:
                raise BackendError(f"the {self.name} backend takes no start image; build the request without one", "image")
            if request.image.frame.shape != (request.height, request.width, 3) or request.image.frame.dtype != np.uint8:
                raise BackendError(f"the start image is {request.image.frame.dtype} {request.image.frame.shape}; expected uint8 "
                                   f"{(request.height, request.width, 3)} (engine.start_image fits it to the generation size)")
        if request.noise_flow is not None:
            expected = (request.num_frames, request.height, request.width)
            if request.noise_flow.flow_fwd.shape[:3] != expected or request.noise_flow.flow_valid.shape != expected:
                raise BackendError(
                    f"noise_flow is {request.noise_flow.flow_fwd.shape}; expected {expected + (2,)} (the generation shape)"
                )

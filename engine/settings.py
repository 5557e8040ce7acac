"""Generation settings, resolved once per run into one frozen record.

The spec's `generate:` section is the only shape settings have. A run changes it in two ways,
both as pydantic copies of the validated section, never as a parallel class:

1. `apply_overrides`: the user's overrides (CLI flags, sweep values), given as dotted paths
   under `generate` (`steps`, `seed`, `controls.*.scale`), validated by `GenerateSpec` itself,
   so a flag has exactly the ranges and the messages of its YAML field;
2. `resolve_generate`: every default that depends on something else is filled in: the model
   folder and the start image (relative to the scene file), the guidance scale (the backend's
   own), each depth and flow control's scope (the backend's model's convention) and the seed
   (the shot's).

`plan_generation` adds what the backend makes for the shot (`ShapePlan`): the result,
`GenerationPlan`, is what every later step reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from physreel.sim.spec import Scene
from physreel.sim.spec.image_file import ASSET_KEY, resolve_start_image
from physreel.sim.spec.model import SCOPED_CONTROLS, ControlSpec, GenerateSpec, frame_pixels_problem

from .backends import Backend, backend_class
from .errors import BackendError
from .records import ShapePlan

Overrides = Mapping[str, Any]
"""Dotted path under `generate` -> value; None means "not given". `*` stands for every element
of a list, e.g. {"steps": 4, "controls.*.scale": 0.0}."""


class OverrideError(ValueError):
    """An override names no field of `generate`, or its value is out of the field's range.

    `path` is the dotted path as given, so a caller can name its own flag."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"generate.{path}: {problem}")
        self.path, self.problem = path, problem


@dataclass(frozen=True)
class GenerationPlan:
    """Everything decided before any simulation: the resolved settings and the output's shape."""

    generate: GenerateSpec
    """The spec's section with the overrides applied and every default resolved (`resolve_generate`)."""
    shape: ShapePlan
    """Frames and size the backend makes for this shot, with a note per change."""
    camera_size: tuple[int, int]
    """(width, height) of the scene's camera: the view the controls are stretched from when the
    video's aspect ratio differs, and the aspect ratio the start image is cropped to."""
    control_options: tuple[Mapping[str, Any], ...] = ()
    """Per entry of `generate.controls`, the `conditioning.control.control_image` options that draw it
    in the backend's model's convention (`Backend.control_options`, the control's `scope`); empty:
    control_image's defaults for every control."""


def apply_overrides(generate: GenerateSpec, overrides: Overrides) -> GenerateSpec:
    """`generate` with each given override in place, validated as the YAML would be."""
    given = {path: value for path, value in overrides.items() if value is not None}
    if not given:
        return generate
    data = _as_lists(generate.model_dump())
    for path, value in given.items():
        _set_path(data, path, path.split("."), value)
    try:
        return GenerateSpec.model_validate(_as_tuples(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        raise OverrideError(_given_path(path, given), f"{error['msg'][0].lower()}{error['msg'][1:]}") from None


def resolve_generate(scene: Scene, overrides: Overrides | None = None, backend: Backend | None = None) -> GenerateSpec:
    """The scene's generate section for one run: overrides applied, then the defaults resolved.

    A spec's `model` is a path relative to the scene file's folder; an override's (a path typed
    in a shell) stays relative to the working directory. A `backend` instance given by the
    caller (one with its weights loaded, or a test double) names the backend and its model
    folder itself.
    """
    generate = scene.spec.generate
    if generate.model is not None:
        generate = generate.model_copy(update={"model": spec_model_dir(scene)})
    if generate.image is not None:
        generate = generate.model_copy(update={"image": spec_image_path(scene)})
    backend_type = type(backend) if backend is not None else backend_class(_overridden_backend(generate, overrides))
    if generate.controls is None:  # before the overrides, so `controls.*.scale` applies to the defaults
        generate = generate.model_copy(update={"controls": tuple(ControlSpec(kind=k) for k in backend_type.default_controls)})
    generate = apply_overrides(generate, overrides or {})
    resolved: dict[str, Any] = {}
    if (overrides or {}).get("image") is not None:  # a sweep's value or a caller's: a file beside the scene, as in the YAML
        try:
            resolved["image"] = str(resolve_start_image(generate.image, scene.directory))
        except ValueError as exc:
            raise OverrideError("image", str(exc)) from None
    if backend is not None:
        resolved.update(backend=backend.name, model=backend.model_path)
    if generate.guidance_scale is None:
        resolved["guidance_scale"] = backend_type.default_guidance_scale
    if generate.seed is None:
        resolved["seed"] = scene.spec.shot.seed
    if any(c.kind in SCOPED_CONTROLS and c.scope is None for c in generate.controls):
        # A control's scope left unset is the backend's model's own (Backend.control_options).
        resolved["controls"] = tuple(
            c.model_copy(update={"scope": backend_type.control_options.get(c.kind, {}).get("scope")})
            if c.kind in SCOPED_CONTROLS and c.scope is None else c for c in generate.controls)
    return generate.model_copy(update=resolved)


def _overridden_backend(generate: GenerateSpec, overrides: Overrides | None) -> str:
    """The backend a run uses: the override's when one is given (checked here, as apply_overrides would)."""
    name = (overrides or {}).get("backend")
    return generate.backend if name is None else apply_overrides(generate, {"backend": name}).backend


def plan_generation(scene: Scene, generate: GenerateSpec, backend: Backend) -> GenerationPlan:
    """What `backend` makes of this shot: `generate.resolution` if given, else the backend's
    native size at the camera's aspect ratio, then adjusted to what it can make (a note per change)."""
    camera_size = tuple(scene.spec.camera.resolution)
    wished_w, wished_h = generate.resolution or backend.default_size(camera_size)
    shape = backend.plan_shape(scene.spec.shot.num_frames, wished_w, wished_h)
    too_many = frame_pixels_problem(shape.num_frames, (shape.width, shape.height))  # the passes are rendered at this size
    if too_many is not None:
        raise BackendError(f"{too_many}; lower the video's resolution", "resolution")
    camera_aspect = camera_size[0] / camera_size[1]
    if abs(shape.width / shape.height - camera_aspect) > 0.01 * camera_aspect:
        note = (f"the shot's aspect ratio is {camera_aspect:.3g} and the video's {shape.width}x{shape.height}: "
                f"the controls and flow{' and the start image' if generate.image else ''} are stretched to the video's")
        shape = ShapePlan(shape.num_frames, shape.width, shape.height, (*shape.notes, note))
    backend.check_plan(generate, shape)
    return GenerationPlan(generate=generate, shape=shape, camera_size=camera_size,
                          control_options=control_conventions(generate, backend))


def control_conventions(generate: GenerateSpec, backend: Backend) -> tuple[Mapping[str, Any], ...]:
    """Per control of the resolved `generate`, the control_image options of `backend`'s model, with the
    control's own `scope` (resolve_generate filled it in from the same table when the spec left it unset)."""
    conventions = []
    for control in generate.controls or ():
        options = dict(backend.control_options.get(control.kind, {}))
        if control.scope is not None:
            options["scope"] = control.scope
        conventions.append(MappingProxyType(options))
    return tuple(conventions)


def located_backend_error(scene: Scene, error: BackendError, overrides: Overrides | None) -> Exception:
    """A backend's complaint about a `generate:` field the scene file set (not a flag), as a
    SpecError at that field's line; any other complaint unchanged."""
    given = {path for path, value in (overrides or {}).items() if value is not None}
    written = ("generate", error.field) in scene.marks
    if not written or any(path.split(".")[0] == error.field for path in given):
        return error
    return scene.spec_error(("generate", error.field), str(error))


def spec_model_dir(scene: Scene) -> str | None:
    """The spec's `generate.model` folder, a relative path read from the scene file's folder."""
    model = scene.spec.generate.model
    if model is None:
        return None
    path = Path(model).expanduser()
    return str(path if path.is_absolute() else scene.directory / path)


def spec_image_path(scene: Scene) -> str | None:
    """The absolute path of the spec's `generate.image`, as the loader resolved and checked it
    (sim/spec/image_file.py); a Scene built without the loader has it resolved and checked here."""
    image = scene.spec.generate.image
    if image is None:
        return None
    if ASSET_KEY in scene.assets:
        return str(scene.assets[ASSET_KEY])
    try:
        return str(resolve_start_image(image, scene.directory))
    except ValueError as exc:
        raise scene.spec_error(("generate", "image"), str(exc)) from None


def _set_path(data: Any, given: str, parts: list[str], value: Any) -> None:
    """Set data[parts] = value; `*` sets every element of a list. OverrideError for an unknown name."""
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(data, list):
        targets = list(range(len(data)))
    elif isinstance(data, dict) and head in data:
        targets = [head]
    else:
        raise OverrideError(given, f"no field {head!r} here")
    for key in targets:
        if rest:
            _set_path(data[key], given, rest, value)
        else:
            data[key] = value


def _as_lists(value: Any) -> Any:
    """model_dump's data with every tuple a list, so an element can be replaced in place."""
    if isinstance(value, dict):
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_lists(item) for item in value]
    return value


def _as_tuples(value: Any) -> Any:
    """The spec's sequences are tuples (the YAML loader makes them so before validating)."""
    if isinstance(value, dict):
        return {key: _as_tuples(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_as_tuples(item) for item in value)
    return value


def _given_path(error_path: str, given: Mapping[str, Any]) -> str:
    """The override a validation error came from (an error at controls.0.scale -> controls.*.scale)."""
    for path in given:
        pattern = path.split(".")
        parts = error_path.split(".")
        if len(parts) >= len(pattern) and all(p in ("*", q) for p, q in zip(pattern, parts)):
            return path
    return error_path

"""Load a scene file: parse YAML, validate once, check referenced files, freeze.

The one entry point is `load_scene(path)`. It either returns a `Scene` or raises `SpecError`
whose issues each carry file, line, column, field path, problem and fix.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from ..timing import timed
from .assets import asset_root, check_mesh_file, resolve_asset_path
from .errors import SpecError, SpecIssue
from .image_file import start_image_issues
from .messages import field_path, issues_from_validation_error, nearest_mark
from .model import MeshObject, SceneSpec, UrdfObject
from .particle_checks import particle_issues
from .urdf_checks import urdf_name_issues
from .urdf_file import check_urdf_file
from .yaml_marks import Marks, YamlSyntaxError, load_yaml_with_marks

MAX_SPEC_BYTES = 4_000_000


@dataclass(frozen=True)
class Scene:
    """A validated scene: the frozen spec plus where it came from and its resolved asset files."""

    spec: SceneSpec
    source: Path
    """The YAML file (absolute), or a pseudo path for specs built in code."""
    assets: dict[str, Path] = field(default_factory=dict)
    """Object name (before repeat expansion) -> absolute path of its mesh or URDF file; 'emitter:NAME' ->
    a surface emitter's mesh; 'generate:image' -> the start image (sim/spec/image_file.py)."""
    marks: Marks = field(default_factory=dict, repr=False, compare=False)
    """Field path (keys and indices) -> (line, column) of its value in the YAML; empty for specs built in code."""
    shown: str = field(default="", repr=False, compare=False)
    """The file name as the user gave it, for error lines (default: `source`)."""

    @property
    def directory(self) -> Path:
        return self.source.parent

    def spec_error(self, path: tuple, problem: str, hint: str = "") -> SpecError:
        """A SpecError for a problem found after loading (e.g. a joint name a URDF lacks).

        `path` indexes the spec as written, e.g. ("objects", 3, "joint_positions", "pivot_9");
        the error points at that field's line and column (or its nearest written ancestor's).
        """
        line, column = nearest_mark(tuple(path), self.marks)
        issue = SpecIssue(self.shown or str(self.source), line, column, field_path(tuple(path)), problem, hint)
        return SpecError([issue])

    def resolved_dict(self) -> dict[str, Any]:
        """The spec with every default filled in, as JSON-ready data."""
        return self.spec.model_dump(mode="json")

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON of the resolved spec."""
        text = json.dumps(self.resolved_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def load_scene(path: str | Path) -> Scene:
    """Read, validate and freeze the scene at `path`. Raises SpecError on any bad input."""
    with timed("load"):
        return _load(Path(path))


def _load(path: Path) -> Scene:
    shown = str(path)
    data, marks, key_marks = read_yaml_file(path, shown)
    if data is None:
        raise SpecError.single(shown, "the scene file is empty", hint="write at least an objects: list; see scenes/bouncing_ball.yaml")
    if not isinstance(data, dict):
        line, column = marks.get((), (1, 1))
        raise SpecError.single(
            shown,
            f"the scene must be a YAML mapping, got {type(data).__name__ if not isinstance(data, list) else 'a list'}",
            line=line,
            column=column,
            hint="write top-level keys shot:, camera:, objects:, events:, generate:, without a leading '- '",
        )
    return scene_from_data(data, path.resolve(), shown=shown, marks=marks, key_marks=key_marks)


def scene_from_data(
    data: dict[str, Any],
    source: Path,
    shown: str | None = None,
    marks: Marks | None = None,
    key_marks: Marks | None = None,
) -> Scene:
    """Validate plain data (as from YAML) into a Scene; assets resolve relative to `source`'s folder."""
    shown = shown or str(source)
    marks = marks or {}
    key_marks = key_marks or {}
    try:
        spec = SceneSpec.model_validate(_lists_to_tuples(data))
    except pydantic.ValidationError as exc:
        raise SpecError(issues_from_validation_error(exc, data, shown, marks, key_marks)) from None
    assets, issues = _resolve_assets(spec, Path(source).parent, shown, marks)
    if spec.emitters or spec.fluid_blocks:
        particle_assets, more_issues = particle_issues(spec, Path(source).parent, shown, marks)
        assets.update(particle_assets)
        issues = issues + more_issues
    image_assets, image_issues = start_image_issues(spec.generate.image, Path(source).parent, shown, marks)
    assets.update(image_assets)
    issues = issues + image_issues
    # Names inside URDF files (joints, links), so the simulator can trust every name it looks up.
    issues = issues + urdf_name_issues(spec, assets, shown, marks, key_marks)
    if issues:
        raise SpecError(issues)
    return Scene(spec=spec, source=Path(source), assets=assets, marks=marks, shown=shown)


def _lists_to_tuples(value: Any) -> Any:
    """The frozen spec stores sequences as tuples; strict validation accepts only those."""
    if isinstance(value, dict):
        return {k: _lists_to_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_lists_to_tuples(v) for v in value)
    return value


def read_yaml_file(path: Path, shown: str, kind: str = "scene", max_bytes: int = MAX_SPEC_BYTES,
                   hint: str = "a spec is a short YAML file") -> tuple[Any, Marks, Marks]:
    """(data, marks, key marks) of the YAML file at `path`, shown in messages as `shown`; every way the
    file can fail to be read or parsed (missing, not a file, too large, unreadable, not UTF-8, bad
    YAML) is a SpecError at its line and column where it has one. `kind` names the file ("scene",
    "sweep"); `max_bytes` and `hint` are its size limit and what to write instead."""
    text = _read_text(path, shown, kind, max_bytes, hint)
    try:
        return load_yaml_with_marks(text)
    except YamlSyntaxError as exc:
        raise SpecError.single(shown, exc.problem, line=exc.line, column=exc.column) from None


def _read_text(path: Path, shown: str, kind: str, max_bytes: int, hint: str) -> str:
    try:
        if "\x00" in str(path) or not path.exists():
            raise SpecError.single(shown, f"no such {kind} file", hint="check the path")
        if not path.is_file():
            raise SpecError.single(shown, "not a file", hint=f"give the path of a .yaml {kind}")
        if path.stat().st_size > max_bytes:
            raise SpecError.single(shown, f"{kind} file is over {max_bytes // 1_000_000} MB", hint=hint)
        raw = path.read_bytes()
    except OSError as exc:  # a name too long, a folder the user may not enter, a file they may not read
        raise SpecError.single(shown, f"cannot read the {kind} file ({exc.strerror or exc})", hint="check the path and its permissions") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SpecError.single(
            shown, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})", line=line, column=column, hint=f"save the {kind} as UTF-8"
        ) from None


# ----------------------------------------------------------------------------- assets
def _resolve_assets(spec: SceneSpec, directory: Path, shown: str, marks: Marks) -> tuple[dict[str, Path], list[SpecIssue]]:
    assets: dict[str, Path] = {}
    issues: list[SpecIssue] = []
    checked: dict[tuple, str | None] = {}  # the same file with the same settings is checked once
    for index, obj in enumerate(spec.objects):
        if not isinstance(obj, (MeshObject, UrdfObject)):
            continue
        where = ("objects", index, "file")
        line, column = marks.get(where, nearest_mark(where, marks))
        field_path = f"objects[{index}].file"
        try:
            resolved = resolve_asset_path(obj.file, directory, allow_pybullet_data=isinstance(obj, UrdfObject))
        except ValueError as exc:
            issues.append(SpecIssue(shown, line, column, field_path, str(exc)))
            continue
        key = (resolved, not obj.static, obj.scale, obj.collision) if isinstance(obj, MeshObject) else (resolved, obj.scale, obj.self_collision)
        if key not in checked:
            checked[key] = _file_problem(obj, resolved, asset_root(resolved, directory))
        if checked[key] is not None:
            issues.append(SpecIssue(shown, line, column, field_path, checked[key]))
            continue
        assets[obj.name] = resolved
    return assets, issues


def _file_problem(obj: MeshObject | UrdfObject, path: Path, root: Path) -> str | None:
    """What is wrong with an object's mesh or URDF file (and every file it names), or None."""
    try:
        if isinstance(obj, MeshObject):
            check_mesh_file(path, root, dynamic=not obj.static, scale=obj.scale, decomposed=obj.collision == "convex_decomposition")
        else:
            check_urdf_file(path, root, scale=obj.scale, self_collision=obj.self_collision)
    except ValueError as exc:
        return str(exc)
    except OSError as exc:  # a file named in it that the user may not read
        return f"{Path(exc.filename or path).name!r} cannot be read ({exc.strerror or exc}); check its permissions"
    return None

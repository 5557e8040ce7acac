"""Load a scene file: parse YAML, validate once, check referenced files, freeze.

The one entry point is `load_scene(path)`. It either returns a `Scene` or raises `SpecError`
whose issues each carry file, line, column, field path, problem and fix.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from .errors import SpecError, SpecIssue
from .model import SHAPES, MeshObject, SceneSpec, UrdfObject
from .yaml_marks import Marks, YamlSyntaxError, load_yaml_with_marks

MAX_SPEC_BYTES = 4_000_000


@dataclass(frozen=True)
class Scene:
    """A validated scene: the frozen spec plus where it came from and its resolved asset files."""

    spec: SceneSpec
    source: Path
    """The YAML file (absolute), or a pseudo path for specs built in code."""
    assets: dict[str, Path] = field(default_factory=dict)
    """Object name (before repeat expansion) -> absolute path of its mesh or URDF file."""

    @property
    def directory(self) -> Path:
        return self.source.parent

    def resolved_dict(self) -> dict[str, Any]:
        """The spec with every default filled in, as JSON-ready data."""
        return self.spec.model_dump(mode="json")

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON of the resolved spec."""
        text = json.dumps(self.resolved_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def load_scene(path: str | Path) -> Scene:
    """Read, validate and freeze the scene at `path`. Raises SpecError on any bad input."""
    path = Path(path)
    shown = str(path)
    text = _read_text(path, shown)
    try:
        data, marks, key_marks = load_yaml_with_marks(text)
    except YamlSyntaxError as exc:
        raise SpecError.single(shown, exc.problem, line=exc.line, column=exc.column) from None
    if not isinstance(data, dict):
        raise SpecError.single(shown, "the scene must be a YAML mapping with keys shot, camera, objects, events, generate", line=1, column=1)
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
        issues = [_issue_from_pydantic(err, data, shown, marks, key_marks) for err in exc.errors()]
        raise SpecError(sorted(_dedupe(issues), key=lambda i: (i.line, i.column))) from None
    assets, issues = _resolve_assets(spec, Path(source).parent, shown, marks)
    if issues:
        raise SpecError(issues)
    return Scene(spec=spec, source=Path(source), assets=assets)


def _lists_to_tuples(value: Any) -> Any:
    """The frozen spec stores sequences as tuples; strict validation accepts only those."""
    if isinstance(value, dict):
        return {k: _lists_to_tuples(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_lists_to_tuples(v) for v in value)
    return value


def _read_text(path: Path, shown: str) -> str:
    if not path.exists():
        raise SpecError.single(shown, "no such file; check the path")
    if not path.is_file():
        raise SpecError.single(shown, "not a file; give the path of a .yaml scene")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise SpecError.single(shown, f"scene file is over {MAX_SPEC_BYTES // 1_000_000} MB; a spec is a short YAML file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.single(shown, f"not UTF-8 text (byte {exc.start}); save the scene as UTF-8 YAML") from None


# ------------------------------------------------------------------ pydantic -> issues
def _issue_from_pydantic(err: dict, data: Any, shown: str, marks: Marks, key_marks: Marks) -> SpecIssue:
    path = _data_path(err["loc"], data)
    kind = err["type"]
    field_path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")
    line, column = _nearest_mark(path, marks)
    problem = _clean_message(err["msg"])
    if kind == "extra_forbidden":
        line, column = key_marks.get(path, (line, column))
        problem = f"unknown key {path[-1]!r}" + _did_you_mean(str(path[-1]), _allowed_keys(path[:-1], data))
    elif kind == "missing" and isinstance(_lookup(data, path), list):
        got = _lookup(data, path)
        problem = f"too few values: got {len(got)} ({got!r}); give all {len(got) + 1 + _missing_tail(err['loc'], len(got))} components"
    elif kind == "missing":
        line, column = _nearest_mark(path[:-1], marks)
        problem = f"required field {path[-1]!r} is missing; add it"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        shape = _lookup(data, path + ("shape",)) if kind == "union_tag_invalid" else None
        if shape is not None:
            line, column = marks.get(path + ("shape",), (line, column))
            field_path += ".shape"
            problem = f"unknown shape {shape!r}" + _did_you_mean(str(shape), list(SHAPES)) + f"; shapes: {', '.join(SHAPES)}"
        else:
            problem = f"object needs a shape; add shape: one of {', '.join(SHAPES)}"
    elif "input" in err and kind not in ("value_error", "assertion_error") and not isinstance(err["input"], (dict, list)):
        problem += f" (got {err['input']!r})"
    return SpecIssue(file=shown, line=line, column=column, field=field_path, problem=problem)


def _missing_tail(loc: tuple, have: int) -> int:
    """How many values beyond have+1 the missing index implies (loc ends with the first missing index)."""
    last = loc[-1] if loc and isinstance(loc[-1], int) else have
    return max(0, last - have)


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def _data_path(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union tags and validator names: keep loc items that index the data."""
    path: list[Any] = []
    node = data
    for item in loc:
        if isinstance(node, dict) and item in node:
            path.append(item)
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            path.append(item)
            node = node[item]
        elif isinstance(node, dict) and isinstance(item, str) and item in _TAG_LIKE:
            continue
        elif isinstance(node, dict) and isinstance(item, str) and not item.startswith(("function-", "tagged-union")):
            # A key that is not in the data: a missing field or an unknown key at this level.
            path.append(item)
            node = None
        else:
            continue
    return tuple(path)


_TAG_LIKE = set(SHAPES)


def _lookup(data: Any, path: tuple) -> Any:
    node = data
    for item in path:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _nearest_mark(path: tuple, marks: Marks) -> tuple[int, int]:
    for cut in range(len(path), -1, -1):
        if path[:cut] in marks:
            return marks[path[:cut]]
    return (0, 0)


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if candidates:
        return f"; allowed here: {', '.join(candidates)}"
    return ""


def _allowed_keys(path: tuple, data: Any) -> list[str]:
    """Field names of the spec model found at `path` (walked alongside the data)."""
    model: Any = SceneSpec
    node = data
    for item in path:
        model = _unwrap(model, node)
        if isinstance(item, int):
            model = _element_type(model)
            node = node[item] if isinstance(node, list) and item < len(node) else None
            continue
        if not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
            return []
        field_info = model.model_fields.get(item)
        if field_info is None:
            return []
        model = field_info.annotation
        node = node.get(item) if isinstance(node, dict) else None
    model = _unwrap(model, node)
    if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(tp: Any, node: Any) -> Any:
    """Strip Annotated/Optional and pick the union member the data's `shape` names."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
            shape = node.get("shape") if isinstance(node, dict) else None
            for member in members:
                if isinstance(member, type) and issubclass(member, pydantic.BaseModel):
                    tag = member.model_fields.get("shape")
                    if tag is not None and typing.get_args(tag.annotation) == (shape,):
                        return member
            return members[0]
        else:
            return tp


def _element_type(tp: Any) -> Any:
    args = typing.get_args(tp)
    return args[0] if args else Any


def _dedupe(issues: list[SpecIssue]) -> list[SpecIssue]:
    seen: set[tuple] = set()
    out = []
    for issue in issues:
        key = (issue.line, issue.column, issue.field, issue.problem)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


# ----------------------------------------------------------------------------- assets
def _resolve_assets(spec: SceneSpec, directory: Path, shown: str, marks: Marks) -> tuple[dict[str, Path], list[SpecIssue]]:
    from .assets import check_mesh_file, resolve_asset_path  # trimesh is slow to import

    assets: dict[str, Path] = {}
    issues: list[SpecIssue] = []
    for index, obj in enumerate(spec.objects):
        if not isinstance(obj, (MeshObject, UrdfObject)):
            continue
        where = ("objects", index, "file")
        line, column = marks.get(where, _nearest_mark(where, marks))
        field_path = f"objects[{index}].file"
        try:
            resolved = resolve_asset_path(obj.file, directory, allow_pybullet_data=isinstance(obj, UrdfObject))
            if isinstance(obj, MeshObject):
                check_mesh_file(resolved)
        except ValueError as exc:
            issues.append(SpecIssue(shown, line, column, field_path, str(exc)))
            continue
        assets[obj.name] = resolved
    return assets, issues

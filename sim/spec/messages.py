"""Turn pydantic validation errors into SpecIssues: the field path, its line and column, and a
problem and hint a user can act on ("expected a number, got 'fast' (write a plain number ...)").

pydantic's `loc` mixes data keys with union tags and validator names; `data_path` keeps only the
items that index the user's data, so the path and the line/column refer to what the user wrote.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

import pydantic

from .errors import FieldProblem, FieldProblems, SpecIssue
from .model import SHAPES, SceneSpec
from .yaml_marks import Marks

# Hints for out-of-range values, by field name (the last item of the path).
_RANGE_HINTS = {
    "duration": "seconds, e.g. 2.0",
    "fps": "frames per second, e.g. 24",
    "physics_hz": "physics steps per second, a multiple of fps, e.g. 240",
    "mass": "kilograms, e.g. 1.0; leave it out to use density x volume",
    "density": "kg/m^3, e.g. 1000 for water, 650 for wood",
    "radius": "metres, e.g. 0.1",
    "length": "metres, e.g. 0.2",
    "size": "full extents in metres, e.g. [0.2, 0.2, 0.2]",
    "scale": "a positive factor, e.g. 1.0",
    "restitution": "0 is a dead stop, 1 a perfectly elastic bounce",
    "friction": "a Coulomb coefficient, typically 0.2 to 1",
    "fov_deg": "vertical field of view in degrees, e.g. 50",
    "resolution": "[width, height] in pixels, each 8..8192",
    "seed": "an integer in 0 .. 2^31-1",
    "count": "the number of copies, e.g. 10",
    "levels": "the number of copies in the bottom row, e.g. 4",
    "color": "channels in 0..1, e.g. [1.0, 0.5, 0.0], or a name such as red or '#ff8000'",
    "color2": "channels in 0..1, e.g. [1.0, 0.5, 0.0], or a name such as red or '#ff8000'",
}

# Names of a fixed-length list's components, by field name and length.
_COMPONENTS = {
    ("resolution", 2): "[width, height]",
    ("color", 3): "[r, g, b]",
    ("color2", 3): "[r, g, b]",
    ("counts", 3): "[nx, ny, nz]",
    ("spacing", 2): "[dx, dz]",
}
_DEFAULT_COMPONENTS = {2: "[x, y]", 3: "[x, y, z]", 4: "[x, y, z, w]"}


def issues_from_validation_error(
    exc: pydantic.ValidationError, data: Any, shown: str, marks: Marks, key_marks: Marks
) -> list[SpecIssue]:
    """One SpecIssue per distinct problem, sorted by line and column."""
    issues: list[SpecIssue] = []
    for err in exc.errors():
        issues.extend(_issues_from_error(err, data, shown, marks, key_marks))
    return sorted(_dedupe(issues), key=lambda i: (i.line, i.column))


def _issues_from_error(err: dict, data: Any, shown: str, marks: Marks, key_marks: Marks) -> list[SpecIssue]:
    path = data_path(err["loc"], data)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblems):
        return [_located(p, path, data, shown, marks, key_marks) for p in cause.problems]
    if isinstance(cause, FieldProblem):
        return [_located(cause, path, data, shown, marks, key_marks)]
    line, column, path, problem, hint = _describe(err, path, data, marks, key_marks)
    return [SpecIssue(shown, line, column, field_path(path), problem, hint)]


def _located(problem: FieldProblem, base: tuple, data: Any, shown: str, marks: Marks, key_marks: Marks) -> SpecIssue:
    """A validator's FieldProblem at `base` + its own path, pointing at the key or value written there."""
    path = data_path(base + problem.at, data, keep_missing=False)
    table = key_marks if problem.key and path in key_marks else marks
    line, column = table.get(path, nearest_mark(path, marks))
    return SpecIssue(shown, line, column, field_path(path), problem.problem, problem.hint)


# ------------------------------------------------------------------------------ wording
def _describe(err: dict, path: tuple, data: Any, marks: Marks, key_marks: Marks) -> tuple[int, int, tuple, str, str]:
    """(line, column, path, problem, hint) for one pydantic error that no spec validator raised."""
    kind = err["type"]
    ctx = err.get("ctx") or {}
    given = err.get("input")
    line, column = nearest_mark(path, marks)
    # The field's name: for an item of a list (color[0]) the list's name.
    name = next((str(p) for p in reversed(path) if not isinstance(p, int)), "")
    if kind == "extra_forbidden":
        line, column = key_marks.get(path, (line, column))
        return line, column, path, f"unknown key {path[-1]!r}", _did_you_mean(str(path[-1]), _allowed_keys(path[:-1], data))
    if kind == "missing":
        held = lookup(data, path)  # a list too short: data_path dropped the missing index
        if isinstance(held, (list, tuple)):
            return (line, column, path, *_wrong_length(path, held, data))
        line, column = nearest_mark(path[:-1], marks)
        return line, column, path, f"required field {path[-1]!r} is missing", f"add {path[-1]}: ..."
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        shape = lookup(data, path + ("shape",))
        if kind == "union_tag_invalid" and shape is not None:
            line, column = marks.get(path + ("shape",), (line, column))
            hint = _did_you_mean(str(shape), list(SHAPES)).rstrip() or f"shapes: {', '.join(SHAPES)}"
            return line, column, path + ("shape",), f"unknown shape {shape!r}", hint
        return line, column, path, "object has no shape", f"add shape: one of {', '.join(SHAPES)}"
    if kind == "too_long" or kind == "too_short":
        held = lookup(data, path)
        if kind == "too_long" and "max_length" in ctx and not _fixed_length(path, data):
            return line, column, path, f"{len(held or ()):,} entries, over the limit of {ctx['max_length']:,}", "docs/spec.md lists the resource limits"
        if isinstance(held, (list, tuple)):
            return (line, column, path, *_wrong_length(path, held, data))
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = {"greater_than": "greater than", "greater_than_equal": "at least", "less_than": "below", "less_than_equal": "at most"}[kind]
        limit = next(iter(ctx.values()))
        hint = _RANGE_HINTS.get(name, f"use a value {bound} {limit}")
        return line, column, path, f"must be {bound} {limit}, got {_show(given)}", hint
    if kind == "finite_number":
        return line, column, path, f"must be a finite number, got {_show(given)}", _RANGE_HINTS.get(name, "write a plain number")
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = _did_you_mean(str(given), allowed) if isinstance(given, str) else f"one of {', '.join(allowed)}"
        return line, column, path, f"{_show(given)} is not allowed here", hint
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing", "int_from_float", "bool_type", "bool_parsing", "string_type"):
        return (line, column, path, *_wrong_type(kind, given))
    if kind in ("tuple_type", "list_type"):
        return (line, column, path, *_not_a_list(path, given, data))
    if kind in ("dict_type", "model_type", "model_attributes_type", "mapping_type"):
        if given is None:
            return line, column, path, "the section is empty", "give its fields, or remove the line"
        return line, column, path, f"expected a mapping of fields, got {_show(given)}", "write key: value lines, e.g. name: ball"
    return line, column, path, _clean_message(err["msg"]), "see docs/spec.md"


def _wrong_type(kind: str, given: Any) -> tuple[str, str]:
    base = kind.split("_")[0]
    expected = {"float": "a number", "int": "a whole number", "bool": "true or false", "string": "text"}[base]
    hint = {
        "float": "write a plain number such as 1.5",
        "int": "write a whole number such as 24",
        "bool": "write true or false",
        "string": "put the text in quotes",
    }[base]
    if base in ("float", "int") and isinstance(given, str):
        try:
            float(given)
            hint = "remove the quotes"
        except ValueError:
            pass
    elif base == "int" and isinstance(given, float) and given == given:
        hint = f"write a whole number such as {round(given)}"
    return f"expected {expected}, got {_show(given)}", hint


def _not_a_list(path: tuple, given: Any, data: Any) -> tuple[str, str]:
    size = _fixed_length(path, data)
    if size:
        return f"expected a list of {size} numbers {_components(path, size)}, got {_show(given)}", f"e.g. {_example(path, size)}"
    return f"expected a list, got {_show(given)}", "write one item per line, each starting with '- '"


def _wrong_length(path: tuple, held: list, data: Any) -> tuple[str, str]:
    size = _fixed_length(path, data)
    if size:
        return f"expected {size} values {_components(path, size)}, got {len(held)}", f"e.g. {_example(path, size)}"
    return f"wrong number of values ({len(held)})", "see docs/spec.md"


def _components(path: tuple, size: int) -> str:
    name = str(path[-1]) if path else ""
    return _COMPONENTS.get((name, size), _DEFAULT_COMPONENTS.get(size, f"({size} values)"))


def _example(path: tuple, size: int) -> str:
    name = str(path[-1]) if path else ""
    if name == "resolution":
        return "[512, 512]"
    if size == 4:
        return "[0, 0, 0, 1]"
    return "[" + ", ".join(["0"] * size) + "]"


def _show(value: Any) -> str:
    """A value as the user wrote it in YAML terms."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, float) and value != value:
        return "nan"
    if hasattr(value, "isoformat"):  # YAML reads 2001-12-14 as a date
        return f"{value.isoformat()} (a date)"
    if isinstance(value, int) and abs(value) >= 10**24:
        return f"a whole number of about {int(value.bit_length() * 0.30103) + 1} digits"  # str() refuses over 4300
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text):,} characters)"


def _clean_message(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if candidates:
        return f"allowed here: {', '.join(candidates)}"
    return ""


# ------------------------------------------------------------------- paths and marks
def data_path(loc: tuple, data: Any, keep_missing: bool = True) -> tuple:
    """Keep the loc items that index the user's data; drop union tags and validator names.

    A key absent from the data (a missing field or an unknown key) is kept when `keep_missing`.
    """
    path: list[Any] = []
    node = data
    for item in loc:
        if isinstance(node, dict) and item in node:
            path.append(item)
            node = node[item]
        elif isinstance(node, (list, tuple)) and isinstance(item, int) and 0 <= item < len(node):
            path.append(item)
            node = node[item]
        elif isinstance(node, dict) and isinstance(item, str) and item in SHAPES:
            continue
        elif keep_missing and isinstance(node, dict) and isinstance(item, str) and not item.startswith(("function-", "tagged-union")):
            path.append(item)
            node = None
        else:
            continue
    return tuple(path)


def field_path(path: tuple) -> str:
    """('objects', 0, 'material', 'friction') -> 'objects[0].material.friction'.

    A key the user wrote that is not a plain name (an unknown key ' ', a joint 'my joint') is
    quoted, so the path stays one word and the line keeps its `file:line:col: path: problem` shape.
    """
    parts = (f"[{p}]" if isinstance(p, int) else str(p) if _NAME.fullmatch(str(p)) else repr(str(p)) for p in path)
    return ".".join(parts).replace(".[", "[")


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def lookup(data: Any, path: tuple) -> Any:
    node = data
    for item in path:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def nearest_mark(path: tuple, marks: Marks) -> tuple[int, int]:
    """(line, column) of `path`, or of its nearest ancestor that the YAML wrote; (0, 0) if none."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in marks:
            return marks[path[:cut]]
    return (0, 0)


def _dedupe(issues: list[SpecIssue]) -> list[SpecIssue]:
    seen: set[tuple] = set()
    out = []
    for issue in issues:
        key = (issue.line, issue.column, issue.field, issue.problem)
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


# ------------------------------------------------------------------ model introspection
def _annotation_at(path: tuple, data: Any) -> Any:
    """The (unwrapped) type the spec model declares at `path`; None where the path leaves the model.

    Integer items step into a sequence; at a union of object shapes, the member the data's `shape`
    names is taken (the first member when the data names none).
    """
    tp: Any = SceneSpec
    node = data
    for item in path:
        tp = _pick_member(_unwrap(tp), node)
        if isinstance(item, int):
            args = typing.get_args(tp)
            tp = args[0] if args else None
        else:
            if not (isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)) or item not in tp.model_fields:
                return None
            tp = tp.model_fields[item].annotation
        node = lookup(node, (item,))
    return _pick_member(_unwrap(tp), node)


def _pick_member(tp: Any, node: Any) -> Any:
    """For a union of object shapes, the member whose `shape` literal the data names."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return tp
    members = [_unwrap(m) for m in typing.get_args(tp)]
    tagged = [m for m in members if isinstance(m, type) and issubclass(m, pydantic.BaseModel) and "shape" in m.model_fields]
    shape = node.get("shape") if isinstance(node, dict) else None
    chosen = [m for m in tagged if typing.get_args(m.model_fields["shape"].annotation) == (shape,)]
    return chosen[0] if chosen else (tagged[0] if tagged else tp)


def _unwrap(tp: Any) -> Any:
    """Strip Annotated and Optional (a union with None of one other member)."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
            else:
                return tp
        else:
            return tp


def _fixed_length(path: tuple, data: Any) -> int:
    """Length of a fixed-size tuple field such as Vec3 (3); 0 for anything else."""
    tp = _annotation_at(path, data)
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if args and args[-1] is not Ellipsis:
            return len(args)
    return 0


def _allowed_keys(path: tuple, data: Any) -> list[str]:
    """Field names the spec model accepts at `path` (for an object: those of the shape it names)."""
    tp = _annotation_at(path, data)
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return list(tp.model_fields)
    return []

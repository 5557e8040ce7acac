"""The sweep file of `physreel batch`: a strict, frozen record, read with line and column.

```yaml
scenes: [../scenes/bouncing_ball.yaml]        # one or more scene files, relative to this file
set:    {shot.duration: 1.0}                  # the same value in every shot
vary:                                         # the values each shot takes, by dotted spec path
  objects.ball.material.restitution: [0.5, 0.7, 0.9]
  shot.seed: range(0, 4)                      # range(stop), range(start, stop), range(start, stop, step)
  camera: {front: {...}, orbit: {...}}        # named values (presets): the name labels the shot
combine: product                              # or zip
stages: [simulate, passes, render, compare]
best_of: 1                                    # render N generation seeds, keep the best-scored take
```

`load_sweep` returns a `Sweep` or raises SpecError whose issues point at the sweep file's line
and column, exactly as a scene's do. What the paths and values do to each scene is
engine.batch.expand's part.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from physreel.sim.spec import SpecError, SpecIssue
from physreel.sim.spec.errors import FieldProblem, FieldProblems, raise_problems
from physreel.sim.spec.messages import data_path, nearest_mark
from physreel.sim.spec.load import read_yaml_file
from physreel.sim.spec.yaml_marks import Marks

STAGES = ("simulate", "passes", "render", "compare")
"""The stages a sweep can run, each the command of that name (docs/batch.md)."""
Stage = Literal["simulate", "passes", "render", "compare"]
MAX_SWEEP_BYTES = 1_000_000
MAX_BEST_OF = 64
MAX_SHOTS = 100_000
_RANGE = re.compile(r"\s*range\(\s*(-?\d+)\s*(?:,\s*(-?\d+)\s*)?(?:,\s*(-?\d+)\s*)?\)\s*")


def _as_tuple(value: Any) -> Any:
    """`scenes: one.yaml` is short for a list of one; YAML lists become the record's tuples."""
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, list) else value


class SweepSpec(BaseModel):
    """A sweep: scenes x the values to vary, and the stages to run on every shot."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)

    scenes: Annotated[tuple[str, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    """Scene files, relative to the sweep file's folder."""
    fixed: dict[str, Any] = Field(default_factory=dict, alias="set")
    """Dotted spec path -> the value every shot takes."""
    vary: dict[str, Any] = Field(default_factory=dict)
    """Dotted spec path -> a list of values, `range(...)` of whole numbers, or a mapping name -> value."""
    combine: Literal["product", "zip"] = "product"
    """product: every combination of the varied values; zip: the i-th value of every path together."""
    stages: Annotated[tuple[Stage, ...], BeforeValidator(_as_tuple), Field(min_length=1)]
    """Which of simulate, passes, render, compare to run on every shot (each its command's files)."""
    best_of: Annotated[int, Field(ge=1, le=MAX_BEST_OF)] = 1
    """Render this many generation seeds per shot and keep the take with the best physics score."""

    @model_validator(mode="after")
    def _consistent(self) -> "SweepSpec":
        problems = []
        repeated = sorted({s for s in self.stages if self.stages.count(s) > 1})
        if repeated:
            problems.append(FieldProblem(f"stage {repeated[0]!r} is listed twice", "list each stage once", at=("stages",)))
        if self.best_of > 1 and "render" not in self.stages:
            problems.append(FieldProblem(f"best_of {self.best_of} ranks the takes of the render stage, which is not run",
                                         "add render to stages, or set best_of: 1", at=("best_of",)))
        for path in self.vary:
            if path in self.fixed:
                problems.append(FieldProblem(f"{path} is both set and varied", "keep it in one of set and vary",
                                             at=("vary", path), key=True))
        for path in list(self.fixed) + list(self.vary):
            section = "set" if path in self.fixed else "vary"
            if not path or any(not part.strip() for part in path.split(".")):
                problems.append(FieldProblem(f"{path!r} is not a dotted field path",
                                             "write fields joined by dots, e.g. objects.ball.material.restitution",
                                             at=(section, path), key=True))
        raise_problems(problems)
        return self


@dataclass(frozen=True)
class Value:
    """One value a varied path takes, with the label that names it and where it is written."""

    value: Any
    label: str
    where: tuple
    """Data path of the value in the sweep file (for its line and column)."""


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    spec: SweepSpec
    source: Path
    """The sweep file (absolute)."""
    shown: str = ""
    """The file name as the user gave it, for error lines."""
    marks: Marks = field(default_factory=dict, repr=False, compare=False)
    key_marks: Marks = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.source.stem

    def scene_paths(self) -> tuple[Path, ...]:
        return tuple((self.source.parent / scene).resolve() for scene in self.spec.scenes)

    def issue(self, path: tuple, problem: str, hint: str = "", key: bool = False) -> SpecIssue:
        """A SpecIssue at the sweep's field `path` (its key when `key`)."""
        table = self.key_marks if key and path in self.key_marks else self.marks
        line, column = table.get(path, nearest_mark(path, self.marks))
        return SpecIssue(self.shown or str(self.source), line, column, sweep_field(path), problem, hint)

    def axes(self) -> list[tuple[str, list[Value]]]:
        """The varied paths in written order, each with its values (a range expanded)."""
        return [(path, values_of(path, raw)) for path, raw in self.spec.vary.items()]


def sweep_field(path: tuple) -> str:
    """A field of the sweep file as error lines name it: ('vary', 'objects.ball.radius', 1) ->
    'vary.objects.ball.radius[1]'. A dotted spec path is one key of the sweep and stays as written;
    a key that is not a dotted path of names (a space in it) is quoted, so the field stays one word."""
    parts = (f"[{p}]" if isinstance(p, int) else str(p) if _DOTTED.fullmatch(str(p)) else repr(str(p)) for p in path)
    return ".".join(parts).replace(".[", "[")


_DOTTED = re.compile(r"[A-Za-z0-9_*-]+(?:\.[A-Za-z0-9_*-]+)*")


def values_of(path: str, raw: Any) -> list[Value]:
    """The values of one `vary` entry: a list, `range(...)`, or a mapping of named values."""
    where = ("vary", path)
    if isinstance(raw, str):
        start, stop, step = _parse_range(raw)
        return [Value(v, str(v), where) for v in range(start, stop, step)]
    if isinstance(raw, dict):
        return [Value(v, str(name), where + (name,)) for name, v in raw.items()]
    return [Value(v, _label(v), where + (i,)) for i, v in enumerate(raw)]


def _parse_range(text: str) -> tuple[int, int, int]:
    match = _RANGE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not range(stop), range(start, stop) or range(start, stop, step)")
    numbers = [int(g) for g in match.groups() if g is not None]
    start, stop, step = (0, numbers[0], 1) if len(numbers) == 1 else (*numbers, 1)[:3]
    if step == 0:
        raise ValueError(f"{text!r} has step 0")
    return start, stop, step


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    text = re.sub(r"\s+", " ", repr(value).replace("'", ""))
    return text if len(text) <= 40 else text[:37] + "..."


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate the sweep file at `path`; SpecError (file:line:col per problem) otherwise."""
    path = Path(path)
    shown = str(path)
    data, marks, key_marks = read_yaml_file(path, shown, "sweep", MAX_SWEEP_BYTES, "a sweep is a short YAML file")
    if not isinstance(data, dict):
        line, column = marks.get((), (0, 0))
        raise SpecError.single(shown, "the sweep file is empty" if data is None else "the sweep must be a YAML mapping",
                               line=line, column=column, hint="write scenes:, vary: and stages:; see sweeps/ball_materials.yaml")
    try:
        spec = SweepSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SpecError(_issues(exc, data, shown, marks, key_marks)) from None
    sweep = Sweep(spec=spec, source=path.resolve(), shown=shown, marks=marks, key_marks=key_marks)
    issues = _value_issues(sweep) + _scene_issues(sweep)
    if issues:
        raise SpecError(issues)
    return sweep


# ----------------------------------------------------------------------------- checks
def _value_issues(sweep: Sweep) -> list[SpecIssue]:
    """Every vary entry has values; zip lists agree in length; the shot count is bounded."""
    issues, lengths = [], {}
    for path, raw in sweep.spec.vary.items():
        where = ("vary", path)
        if isinstance(raw, str):
            try:
                count = len(range(*_parse_range(raw)))
            except ValueError as exc:
                issues.append(sweep.issue(where, str(exc), "e.g. range(0, 20) for 0, 1, ..., 19"))
                continue
        elif isinstance(raw, (list, dict)):
            count = len(raw)
        else:
            issues.append(sweep.issue(where, f"expected a list of values, range(...) or named values, got {_label(raw)}",
                                      f"write {path}: [{_label(raw)}] for one value, or move it under set:"))
            continue
        if count == 0:
            issues.append(sweep.issue(where, "gives no value", "give at least one value"))
        lengths[path] = count
    if sweep.spec.combine == "zip" and len(set(lengths.values())) > 1:
        first = next(iter(lengths))
        for path, count in lengths.items():
            if count != lengths[first]:
                issues.append(sweep.issue(("vary", path), f"has {count} values but {first} has {lengths[first]}",
                                          "combine: zip takes the i-th value of every path together; give every path "
                                          "the same number of values, or use combine: product", key=True))
    combos = 1
    for count in lengths.values():
        combos = count if sweep.spec.combine == "zip" else combos * count
    shots = len(sweep.spec.scenes) * combos
    if shots > MAX_SHOTS:
        issues.append(sweep.issue(("vary",), f"expands to {shots:,} shots, over the limit of {MAX_SHOTS:,}",
                                  "split the sweep into several files", key=True))
    return issues


def _scene_issues(sweep: Sweep) -> list[SpecIssue]:
    issues = []
    for index, path in enumerate(sweep.scene_paths()):
        if not path.is_file():
            issues.append(sweep.issue(("scenes", index), f"no such scene file {path}",
                                      "give the path relative to the sweep file's folder"))
    return issues


# ------------------------------------------------------------------- pydantic -> issues
_KEYS = [f.alias or name for name, f in SweepSpec.model_fields.items()]


def _issues(exc: pydantic.ValidationError, data: dict, shown: str, marks: Marks, key_marks: Marks) -> list[SpecIssue]:
    issues = []
    for err in exc.errors():
        path = data_path(err["loc"], data)
        cause = (err.get("ctx") or {}).get("error")
        problems = cause.problems if isinstance(cause, FieldProblems) else [cause] if isinstance(cause, FieldProblem) else []
        for problem in problems:
            at = path + problem.at
            table = key_marks if problem.key and at in key_marks else marks
            line, column = table.get(at, nearest_mark(at, marks))
            issues.append(SpecIssue(shown, line, column, sweep_field(at), problem.problem, problem.hint))
        if not problems:
            issues.append(_describe(err, path, shown, marks, key_marks))
    unique = {(i.line, i.column, i.field, i.problem): i for i in issues}
    return sorted(unique.values(), key=lambda i: (i.line, i.column))


def _describe(err: dict, path: tuple, shown: str, marks: Marks, key_marks: Marks) -> SpecIssue:
    kind, given, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    line, column = nearest_mark(path, marks)
    if kind == "extra_forbidden":
        line, column = key_marks.get(path, (line, column))
        close = difflib.get_close_matches(str(path[-1]), _KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(_KEYS)}"
        return SpecIssue(shown, line, column, sweep_field(path), f"unknown key {path[-1]!r}", hint)
    if kind == "missing":
        hints = {"scenes": "add scenes: [path/to/scene.yaml]", "stages": f"add stages: a list of {', '.join(STAGES)}"}
        return SpecIssue(shown, 1, 1, sweep_field(path), f"required field {path[-1]!r} is missing", hints.get(path[-1], ""))
    if kind == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        close = difflib.get_close_matches(str(given), allowed, n=1, cutoff=0.6) if isinstance(given, str) else []
        hint = f"did you mean {close[0]!r}?" if close else f"one of {', '.join(allowed)}"
        return SpecIssue(shown, line, column, sweep_field(path), f"{given!r} is not allowed here", hint)
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = "at least" if kind == "greater_than_equal" else "at most"
        return SpecIssue(shown, line, column, sweep_field(path), f"must be {bound} {next(iter(ctx.values()))}, got {given!r}",
                         "best_of is the number of takes rendered per shot")
    if kind == "too_short":
        return SpecIssue(shown, line, column, sweep_field(path), "is empty", "give at least one item")
    if kind in ("dict_type", "mapping_type"):
        return SpecIssue(shown, line, column, sweep_field(path), f"expected a mapping of path: value lines, got {_label(given)}",
                         "e.g. objects.ball.material.restitution: [0.5, 0.9]")
    if kind in ("tuple_type", "list_type"):
        return SpecIssue(shown, line, column, sweep_field(path), f"expected a list, got {_label(given)}", "e.g. [simulate, passes]")
    if kind in ("int_type", "int_parsing", "int_from_float", "string_type"):
        expected = "a whole number" if kind.startswith("int") else "text (a file path)"
        return SpecIssue(shown, line, column, sweep_field(path), f"expected {expected}, got {_label(given)}", "")
    return SpecIssue(shown, line, column, sweep_field(path), err["msg"], "see docs/batch.md")

"""A sweep -> its shots: every scene with every combination of values, each validated as a scene.

Steps (`expand_sweep`):
1. read each scene file's YAML data with its marks (and whether the scene alone is valid);
2. combine the varied values (product, or zip) in written order, the last path varying fastest;
3. per scene and combination, set the `set:` and varied values at their paths
   (sim.spec.overrides) and validate the result as a scene (sim.spec.load.scene_from_data);
4. check what the stages need (controls for guided video, seeds for best_of).

Every problem of every shot is collected before anything runs, and each points at the line that
causes it: a bad value at its place in the sweep file, a problem the scene has on its own at the
scene file. A shot is keyed by its resolved spec hash (Scene.spec_hash()): two combinations
that resolve to the same spec are one shot.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physreel.sim.spec import Scene, SpecError, SpecIssue, load_scene, scene_from_data
from physreel.sim.spec.messages import field_path, nearest_mark
from physreel.sim.spec.overrides import DataPath, OverridePathError, apply_overrides
from physreel.sim.spec.yaml_marks import Marks, YamlSyntaxError, load_yaml_with_marks

from ..backends import backend_class
from ..backends.base import START_IMAGE_BACKENDS
from .sweep import Sweep, Value, sweep_field

MAX_SEED = 2**31 - 1
GUIDED_STAGES = ("render", "compare")


@dataclass(frozen=True)
class ShotPlan:
    """One shot of a sweep, validated."""

    index: int
    """Position in the sweep's expansion (scenes in order, then combinations)."""
    key: str
    """Folder name: the shot's name and the first 12 hex digits of its spec hash."""
    scene: Scene
    """Validated; its source is the scene file it came from (assets resolve beside it)."""
    data: dict[str, Any]
    """The shot's YAML data: the scene file's, with the sweep's values in place."""
    scene_file: Path
    parameters: dict[str, Any]
    """Every `set:` and varied path -> the value this shot takes."""
    labels: dict[str, str]
    """Varied path -> the label of this shot's value (a named value's name)."""

    @property
    def spec_hash(self) -> str:
        return self.scene.spec_hash()


@dataclass
class _Base:
    """A scene file of the sweep, read once."""

    path: Path
    shown: str
    data: dict[str, Any]
    marks: Marks
    key_marks: Marks
    valid: bool
    alone: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    """(path, value label) -> (field, problem) of the issues that value gives the scene on its own."""


def expand_sweep(sweep: Sweep) -> tuple[tuple[ShotPlan, ...], tuple[str, ...]]:
    """(the shots, notes such as combinations that resolve to the same shot); SpecError listing
    every problem of every shot otherwise."""
    issues: list[SpecIssue] = []
    bases = [_read_base(sweep, index, path, issues) for index, path in enumerate(sweep.scene_paths())]
    if issues:
        raise SpecError(issues)
    shots: list[ShotPlan] = []
    seen: dict[str, int] = {}
    notes: list[str] = []
    for base in bases:
        for combo in _combinations(sweep):
            shot = _shot(sweep, base, combo, len(shots), issues)
            if shot is None:
                continue
            if shot.key in seen:
                notes.append(f"{base.shown} with {_assignments(combo)} resolves to the same spec as shot "
                             f"{seen[shot.key]} ({shot.key}); it runs once")
                continue
            seen[shot.key] = shot.index
            shots.append(shot)
    if issues:
        raise SpecError(sorted(_unique(issues), key=lambda i: (i.file != sweep.shown, i.file, i.line, i.column)))
    return tuple(shots), tuple(notes)


# ----------------------------------------------------------------------------- steps
def _read_base(sweep: Sweep, index: int, path: Path, issues: list[SpecIssue]) -> _Base | None:
    """Step 1. A scene file that cannot be read as YAML is reported in load_scene's own words."""
    shown = os.path.normpath(Path(sweep.shown).parent / sweep.spec.scenes[index]) if sweep.shown else str(path)
    valid, problems = True, []
    try:
        load_scene(path)
    except SpecError as exc:
        valid, problems = False, exc.issues
    try:
        data, marks, key_marks = load_yaml_with_marks(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, YamlSyntaxError):
        issues.extend(SpecIssue(shown, i.line, i.column, i.field, i.problem, i.hint) for i in problems)
        return None
    if not isinstance(data, dict):
        issues.append(sweep.issue(("scenes", index), "the scene file is not a YAML mapping of shot:, camera:, objects: ...",
                                  "check the path"))
        return None
    return _Base(path, shown, data, marks, key_marks, valid)


def _combinations(sweep: Sweep) -> list[list[tuple[str, Value]]]:
    """Step 2: lists of (path, value), one list per shot of a scene."""
    axes = [[(path, value) for value in values] for path, values in sweep.axes()]
    if not axes:
        return [[]]
    if sweep.spec.combine == "zip":
        return [list(combo) for combo in zip(*axes, strict=True)]
    return [list(combo) for combo in itertools.product(*axes)]


def _shot(sweep: Sweep, base: _Base, combo: list[tuple[str, Value]], index: int, issues: list[SpecIssue]) -> ShotPlan | None:
    """Step 3 and 4 for one scene and combination; None (with its issues added) if it is invalid."""
    given = {path: Value(value, _short(value), ("set", path)) for path, value in sweep.spec.fixed.items()}
    given.update(dict(combo))
    usable, bad_path = dict(given), False
    while True:  # a path that names nothing is reported and left out, so the other values are still checked
        try:
            data, written = apply_overrides(base.data, {path: v.value for path, v in usable.items()})
            break
        except OverridePathError as exc:
            section = "set" if exc.path in sweep.spec.fixed else "vary"
            where = f" in {base.shown}" if len(sweep.spec.scenes) > 1 else ""
            issues.append(sweep.issue((section, exc.path), exc.problem + where, exc.hint, key=True))
            usable.pop(exc.path)
            bad_path = True
    _absolute_model(data, base.path.parent)
    try:
        scene = scene_from_data(data, base.path, shown=base.shown, marks=base.marks, key_marks=base.key_marks)
    except SpecError as exc:
        issues.extend(_located(sweep, base, exc.issues, usable, written))
        return None
    if bad_path:
        return None
    stage_issues = _stage_issues(sweep, base, scene)
    if stage_issues:
        issues.extend(stage_issues)
        return None
    key = f"{_slug(scene.spec.shot.name)}-{scene.spec_hash()[:12]}"
    return ShotPlan(index=index, key=key, scene=scene, data=data, scene_file=base.path,
                    parameters={path: v.value for path, v in given.items()},
                    labels={path: v.label for path, v in combo})


def _stage_issues(sweep: Sweep, base: _Base, scene: Scene) -> list[SpecIssue]:
    """Step 4: guided video needs controls, a start image a backend that takes one; best_of's seeds
    stay in the seed range."""
    issues = []
    guided = [stage for stage in sweep.spec.stages if stage in GUIDED_STAGES]
    if guided and scene.spec.generate.controls == ():  # None: the backend's own controls
        issues.append(sweep.issue(("stages",), f"{guided[0]} makes guided video, which needs generate.controls; "
                                  f"{base.shown} sets an empty list",
                                  "leave generate.controls unset for the backend's own, or set: "
                                  "{generate.controls: [{kind: depth}]} here"))
    generate = scene.spec.generate
    video = [stage for stage in sweep.spec.stages if stage in GUIDED_STAGES]
    if video and generate.image is not None and backend_class(generate.backend).image_route is None:
        issues.append(sweep.issue(("stages",), f"{video[0]} makes video with the {generate.backend} backend, which takes no "
                                  f"start image; {base.shown} sets generate.image",
                                  f"set generate.backend to one of {', '.join(START_IMAGE_BACKENDS)}, or drop the image"))
    seed = scene.spec.generate.seed if scene.spec.generate.seed is not None else scene.spec.shot.seed
    if seed + sweep.spec.best_of - 1 > MAX_SEED:
        issues.append(sweep.issue(("best_of",), f"takes seeds {seed} to {seed + sweep.spec.best_of - 1}, past the "
                                  f"largest seed {MAX_SEED}", "lower shot.seed or generate.seed"))
    return issues


# ------------------------------------------------------------------ issue locations
def _located(sweep: Sweep, base: _Base, found: list[SpecIssue], given: dict[str, Value],
             written: dict[str, list[DataPath]]) -> list[SpecIssue]:
    """The scene's issues, each at the sweep value that causes it.

    An issue at (or inside, or at a key created by) an overridden field points at that value in
    the sweep file. Another issue of a scene that is valid alone comes from the combination: it
    keeps the scene's field and points at the first of the shot's values, saying what the sweep
    sets. Issues of a scene that is invalid alone stay at the scene file's lines.
    """
    owners = _owners(base.data, written)
    located = []
    for issue in found:
        owner = _owner(issue.field, owners)
        if owner is not None:
            value, own_field = given[owner], owners[owner][0]
            prefix = f"{issue.field}: " if issue.field not in own_field else ""
            prefix = (f"value {value.label}: " if value.where == ("vary", owner) else "") + prefix
            line, column = _mark(sweep, value.where)
            located.append(SpecIssue(sweep.shown, line, column, sweep_field(value.where), prefix + issue.problem, issue.hint))
        elif base.valid and given:
            causes = _causes(base, issue, given)
            line, column = _mark(sweep, given[causes[0]].where)
            hint = "; ".join(h for h in (issue.hint, f"the sweep sets {_assignments([(p, given[p]) for p in causes])}") if h)
            located.append(SpecIssue(sweep.shown, line, column, issue.field, issue.problem, hint))
        else:
            located.append(issue)
    return located


def _causes(base: _Base, issue: SpecIssue, given: dict[str, Value]) -> list[str]:
    """The values behind an issue at a field none of them wrote (shot.fps for shot.physics_hz): those
    that make the scene show the same issue on their own; all of them if only the combination does."""
    alone = []
    for path, value in given.items():
        if (path, value.label) not in base.alone:
            base.alone[(path, value.label)] = _issues_alone(base, path, value)
        if (issue.field, issue.problem) in base.alone[(path, value.label)]:
            alone.append(path)
    return alone or list(given)


def _issues_alone(base: _Base, path: str, value: Value) -> list[tuple[str, str]]:
    try:
        data, _ = apply_overrides(base.data, {path: value.value})
        scene_from_data(data, base.path, shown=base.shown, marks=base.marks, key_marks=base.key_marks)
    except SpecError as exc:
        return [(i.field, i.problem) for i in exc.issues]
    except OverridePathError:
        pass
    return []


def _owners(data: dict[str, Any], written: dict[str, list[DataPath]]) -> dict[str, tuple[set[str], set[str]]]:
    """Override path -> (field paths it wrote, field paths of keys it created that the scene lacked)."""
    owners = {}
    for path, data_paths in written.items():
        fields = {field_path(dp) for dp in data_paths}
        created = {field_path(dp[:cut]) for dp in data_paths for cut in range(1, len(dp) + 1) if not _present(data, dp[:cut])}
        owners[path] = (fields, created)
    return owners


def _owner(issue_field: str, owners: dict[str, tuple[set[str], set[str]]]) -> str | None:
    """The override an issue belongs to: the deepest one whose field holds the issue's field."""
    for path in sorted(owners, key=lambda p: -len(p.split("."))):
        fields, created = owners[path]
        if issue_field in created or any(issue_field == f or issue_field.startswith((f + ".", f + "[")) for f in fields):
            return path
    return None


def _present(data: Any, path: DataPath) -> bool:
    node = data
    for item in path:
        if isinstance(node, dict) and item in node:
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
            node = node[item]
        else:
            return False
    return True


def _mark(sweep: Sweep, where: tuple) -> tuple[int, int]:
    return sweep.marks.get(where, nearest_mark(where, sweep.marks))


# ----------------------------------------------------------------------------- helpers
def _absolute_model(data: dict[str, Any], directory: Path) -> None:
    """A relative generate.model is read from the scene file's folder; the shot's own YAML lives in
    the batch's output, so it names the folder absolutely."""
    generate = data.get("generate")
    if isinstance(generate, dict) and isinstance(generate.get("model"), str) and not Path(generate["model"]).expanduser().is_absolute():
        generate["model"] = str((directory / Path(generate["model"]).expanduser()).resolve())


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:40] or "shot"


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _assignments(pairs: list[tuple[str, Value]]) -> str:
    return ", ".join(f"{path}: {value.label}" for path, value in pairs)


def _unique(issues: list[SpecIssue]) -> list[SpecIssue]:
    unique = {(i.file, i.line, i.column, i.field, i.problem): i for i in issues}
    return list(unique.values())

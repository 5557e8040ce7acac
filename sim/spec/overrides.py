"""Set fields of a scene's YAML data by dotted path, before validation (sweeps, `physreel batch`).

A path names a field as the YAML nests it: `shot.seed`, `camera.resolution`,
`objects.ball.material.restitution`. In a list, a segment picks items: a whole number by index
(`events.0.at`), `*` every item (`generate.controls.*.scale`, as engine.settings' overrides), any
other word the item whose `name` is that word (objects). A missing mapping key is created, so
`objects.ball.material.friction` works when the ball's YAML has no `material:`; whether the
result is a valid scene is for the loader to say (an unknown key gets its "did you mean" there).

A value replaces what the scene had at its path (a mapping is not merged into the old one).
Overrides apply shallowest path first, so `camera` and then `camera.resolution` refine it.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

DataPath = tuple[Any, ...]
"""Keys and list indices into the data, as sim.spec.yaml_marks' Marks use them."""


class OverridePathError(ValueError):
    """A path that names nothing in the scene's data; `path` as given, `problem` and `hint` for the user."""

    def __init__(self, path: str, problem: str, hint: str = ""):
        super().__init__(f"{path}: {problem}" + (f" ({hint})" if hint else ""))
        self.path, self.problem, self.hint = path, problem, hint


def split_path(path: str) -> list[str]:
    """'objects.ball.material' -> ['objects', 'ball', 'material']; OverridePathError for an empty segment."""
    parts = path.split(".")
    if not path or any(not part.strip() for part in parts):
        raise OverridePathError(path, "is not a dotted field path", "write fields joined by dots, e.g. objects.ball.material.restitution")
    return parts


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[DataPath]]]:
    """A deep copy of `data` with each override set; and, per override path, the data paths it wrote.

    `data` is plain YAML data (dicts, lists, scalars) of a whole scene. Values are copied, so the
    result shares nothing with the arguments. Paths apply shallowest first (a stable sort on the
    number of segments). Raises OverridePathError for the first path that names nothing.
    """
    result = copy.deepcopy(dict(data))
    written: dict[str, list[DataPath]] = {}
    for path in sorted(overrides, key=lambda p: len(split_path(p))):
        written[path] = set_path(result, path, copy.deepcopy(overrides[path]))
    return result, written


def set_path(data: dict[str, Any], path: str, value: Any) -> list[DataPath]:
    """Set `value` at `path` in `data` (in place); returns the data paths written (several with `*`)."""
    return _set(data, split_path(path), (), path, value)


def _set(node: Any, parts: list[str], here: DataPath, given: str, value: Any) -> list[DataPath]:
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict):
        if not rest:
            node[head] = value
            return [here + (head,)]
        if head not in node or node[head] is None:
            node[head] = {}  # `material:` not written yet: the loader judges the key
        return _set(node[head], rest, here + (head,), given, value)
    if isinstance(node, list):
        written: list[DataPath] = []
        for index in _list_items(node, head, here, given):
            if rest:
                written += _set(node[index], rest, here + (index,), given, value)
            else:
                node[index] = copy.deepcopy(value)
                written.append(here + (index,))
        return written
    shown = ".".join(str(p) for p in here)
    raise OverridePathError(given, f"{shown} is a single value ({node!r}), it has no field {head!r}",
                            f"end the path at {shown}" if shown else "")


def _list_items(items: list, head: str, here: DataPath, given: str) -> list[int]:
    """Indices of the list items a path segment picks: `*`, an index, or an item's name."""
    shown = ".".join(str(p) for p in here)
    if head == "*":
        return list(range(len(items)))
    if head.lstrip("-").isdigit():
        index = int(head)
        if not 0 <= index < len(items):
            raise OverridePathError(given, f"{shown} has {len(items)} item(s); index {index} is out of range",
                                    f"use 0 to {len(items) - 1}" if items else "the list is empty")
        return [index]
    matches = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("name") == head]
    if matches:
        return matches
    named = [str(item["name"]) for item in items if isinstance(item, dict) and item.get("name") is not None]
    if not named:
        raise OverridePathError(given, f"{shown} is a list without names; {head!r} picks nothing",
                                f"pick an item by index (0 to {len(items) - 1}) or every item with *")
    close = difflib.get_close_matches(head, named, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"{shown} has {', '.join(named[:8])}" + (" ..." if len(named) > 8 else "")
    raise OverridePathError(given, f"{shown} has no item named {head!r}", hint)

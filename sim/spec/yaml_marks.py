"""YAML loading that remembers where every value came from (line and column).

PyYAML's composer keeps a start mark on every node; we build plain Python data and, beside
it, a table from field path (a tuple of keys and indices) to (line, column), 1-based.

Every way a text can fail to load ends in a `YamlSyntaxError` with a line and column: a
character YAML forbids, a number too long to read, nesting deeper than `MAX_DEPTH` (PyYAML's
composer recurses once per level, so tens of thousands of brackets would exhaust Python's
stack), aliases that expand past `MAX_VALUES`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path = tuple[Any, ...]
Marks = dict[Path, tuple[int, int]]


class YamlSyntaxError(Exception):
    def __init__(self, line: int, column: int, problem: str):
        self.line, self.column, self.problem = line, column, problem
        super().__init__(problem)


MAX_VALUES = 200_000
"""Values a scene may expand to: aliases can make a small file expand exponentially ("billion laughs")."""
MAX_DEPTH = 64
"""Levels of nesting (mappings and lists in one another); a scene needs about 6."""

_CORE = "tag:yaml.org,2002:"
# Tags plain YAML data resolves to; anything else (!custom, !!python/object, !!binary) is refused.
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}
_MERGE_TAG = _CORE + "merge"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with a bounded nesting depth and YAML 1.2's exponent floats."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line, col = _mark_of(self.peek_event().start_mark)
                raise YamlSyntaxError(line, col, f"values are nested more than {MAX_DEPTH} levels deep; a scene needs a few levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# YAML 1.1 reads `1e308` and `1.5e3` (no dot, or no sign after the e) as text, so a user writing a
# number in the everyday notation got "expected a number"; YAML 1.2 (and JSON) read them as numbers.
_Loader.add_implicit_resolver(
    _CORE + "float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def _mark_of(mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _mark(node: yaml.Node) -> tuple[int, int]:
    return _mark_of(node.start_mark)


class _Builder:
    """Builds plain data from a composed node tree, recording marks and counting values."""

    def __init__(self) -> None:
        self.marks: Marks = {}
        self.key_marks: Marks = {}
        self.count = 0
        self.loader = yaml.SafeLoader("")  # constructs scalars; one per document, not per value

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            line, col = _mark(node)
            raise YamlSyntaxError(line, col, f"the YAML expands to more than {MAX_VALUES:,} values; do not nest aliases (*name) this deep")
        if len(path) > MAX_DEPTH:  # aliases can nest deeper than the text (or refer to themselves)
            line, col = _mark(node)
            raise YamlSyntaxError(line, col, f"values are nested more than {MAX_DEPTH} levels deep through aliases; a scene needs a few levels")
        if node.tag not in _ALLOWED_TAGS:
            line, col = _mark(node)
            raise YamlSyntaxError(line, col, f"unsupported YAML tag {node.tag.replace(_CORE, '!!')!r}; remove it, a scene holds plain values")
        self.marks[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return _scalar(node, self.loader)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        out: dict[Any, Any] = {}
        for key, (key_node, value_node) in self._entries(node, ()).items():
            self.key_marks[path + (key,)] = _mark(key_node)
            out[key] = self.build(value_node, path + (key,))
        return out

    def _entries(self, node: yaml.MappingNode, within: tuple[int, ...]) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """key -> (key node, value node) of a mapping with its merge keys resolved as YAML 1.1 says
        (yaml.org/type/merge.html): `<<` takes the keys of a mapping, or of each mapping of a list
        (an earlier one wins), that the mapping does not write itself; a merged mapping's own merge
        keys are resolved first. Merged entries come first, so marks point where each is written."""
        if id(node) in within or len(within) > MAX_DEPTH:
            line, col = _mark(node)
            raise YamlSyntaxError(line, col, "<< merges a mapping into itself; merge another mapping")
        own: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in reversed(sources):
                    if not isinstance(source, yaml.MappingNode):
                        line, col = _mark(source)
                        raise YamlSyntaxError(line, col, "<< merges a mapping; write <<: *name where &name marks a mapping")
                    merged.update(self._entries(source, within + (id(node),)))
                continue
            key = _scalar(key_node, self.loader)
            if not isinstance(key, str):
                line, col = _mark(key_node)
                raise YamlSyntaxError(line, col, f"key {key!r} is not text; keys are field names such as shot or fps")
            if key in own:
                line, col = _mark(key_node)
                raise YamlSyntaxError(line, col, f"duplicate key {key!r}, first written at line {_mark(own[key][0])[0]}; each key may appear once")
            own[key] = (key_node, value_node)
        return {**{k: v for k, v in merged.items() if k not in own}, **own}


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        line, col = _mark(node)
        raise YamlSyntaxError(line, col, "a mapping key must be a plain value; write key: value")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        line, col = _mark(node)
        raise YamlSyntaxError(line, col, f"YAML value: {getattr(exc, 'problem', None) or exc}") from None
    except (ValueError, OverflowError) as exc:
        # Python refuses integers of more than 4300 digits, and dates such as 2024-13-45.
        line, col = _mark(node)
        if node.tag == _CORE + "int":
            raise YamlSyntaxError(line, col, f"a whole number of {len(node.value):,} characters is too long to read; "
                                  "no field takes more than a few digits") from None
        shown = node.value if len(node.value) <= 24 else f"{node.value[:12]}... ({len(node.value):,} characters)"
        reason = str(exc).replace("; ", ", ")
        raise YamlSyntaxError(line, col, f"cannot read {shown!r} as a {node.tag.replace(_CORE, '')} ({reason}); quote it to write text") from None


def load_yaml_with_marks(text: str) -> tuple[Any, Marks, Marks]:
    """Parse one YAML document.

    Returns (data, value_marks, key_marks): value_marks maps a path to where its value starts,
    key_marks maps a path to where its key is written (used for unknown-key errors). `data` is
    None for an empty document. Raises YamlSyntaxError (1-based line and column) on bad YAML and
    on a key written twice in one mapping.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (control characters, NUL)
        line, col = _position(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise YamlSyntaxError(line, col, f"YAML syntax: the control character U+{ord(char):04X} is not allowed in a YAML file; "
                              "remove it, or inside double quotes write it as an escape such as \\x07") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = f"YAML syntax: {exc.problem or exc.context}"
        if "'\\t'" in problem:
            problem += "; indent with spaces, not tabs"
        elif "another document" in problem:
            problem = "YAML syntax: a second document starts here; a scene is one document, remove the '---' line"
        elif exc.problem and exc.context and exc.context_mark is not None:
            start = exc.context_mark
            problem += f"; {exc.context} at line {start.line + 1} column {start.column + 1}"
        raise YamlSyntaxError(line, col, problem) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(0, 0, f"YAML syntax: {exc}") from None
    builder = _Builder()
    if node is None:  # an empty document, or one of comments only
        return None, builder.marks, builder.key_marks
    data = builder.build(node, ())
    return data, builder.marks, builder.key_marks


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character `index` of `text`."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1

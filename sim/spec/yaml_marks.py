"""YAML loading that remembers where every value came from (line and column).

PyYAML's composer keeps a start mark on every node; we build plain Python data and, beside
it, a table from field path (a tuple of keys and indices) to (line, column), 1-based.
"""

from __future__ import annotations

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

_CORE = "tag:yaml.org,2002:"
# Tags plain YAML data resolves to; anything else (!custom, !!python/object, !!binary) is refused.
_ALLOWED_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}
_MERGE_TAG = _CORE + "merge"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


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
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor` merges a mapping; keys written here win
                merged.update(self._merge_source(value_node, path))
                continue
            key = _scalar(key_node, self.loader)
            if not isinstance(key, str):
                line, col = _mark(key_node)
                raise YamlSyntaxError(line, col, f"key {key!r} is not text; keys are field names such as shot or fps")
            if key in out:
                line, col = _mark(key_node)
                first_line = self.key_marks[path + (key,)][0]
                raise YamlSyntaxError(line, col, f"duplicate key {key!r}, first written at line {first_line}; each key may appear once")
            self.key_marks[path + (key,)] = _mark(key_node)
            out[key] = self.build(value_node, path + (key,))
        return {**{k: v for k, v in merged.items() if k not in out}, **out}

    def _merge_source(self, node: yaml.Node, path: Path) -> dict:
        """The mapping(s) a merge key names; their values' marks point at where they are written."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in reversed(sources):  # earlier sources win, as YAML specifies
            if not isinstance(source, yaml.MappingNode):
                line, col = _mark(source)
                raise YamlSyntaxError(line, col, "<< merges a mapping; write <<: *name where &name marks a mapping")
            for key_node, value_node in source.value:
                key = _scalar(key_node, self.loader)
                self.key_marks.setdefault(path + (key,), _mark(key_node))
                merged[key] = self.build(value_node, path + (key,))
        return merged


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        line, col = _mark(node)
        raise YamlSyntaxError(line, col, "a mapping key must be a plain value; write key: value")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        line, col = _mark(node)
        raise YamlSyntaxError(line, col, f"YAML value: {getattr(exc, 'problem', None) or exc}") from None


def load_yaml_with_marks(text: str) -> tuple[Any, Marks, Marks]:
    """Parse one YAML document.

    Returns (data, value_marks, key_marks): value_marks maps a path to where its value starts,
    key_marks maps a path to where its key is written (used for unknown-key errors). `data` is
    None for an empty document. Raises YamlSyntaxError (1-based line and column) on bad YAML and
    on a key written twice in one mapping.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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

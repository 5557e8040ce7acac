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


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path, marks: Marks, key_marks: Marks) -> Any:
    marks[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                line, col = _mark(key_node)
                first_line = key_marks[path + (key,)][0]
                raise YamlSyntaxError(line, col, f"duplicate key {key!r}, first written at line {first_line}; each key may appear once")
            key_marks[path + (key,)] = _mark(key_node)
            out[key] = _build(value_node, path + (key,), marks, key_marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), marks, key_marks) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        line, col = _mark(node)
        raise YamlSyntaxError(line, col, "a mapping key must be a plain value; write key: value")
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


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
        if exc.problem and exc.context and exc.context_mark is not None:
            start = exc.context_mark
            problem += f"; {exc.context} at line {start.line + 1} column {start.column + 1}"
        raise YamlSyntaxError(line, col, problem) from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(0, 0, f"YAML syntax: {exc}") from None
    marks: Marks = {}
    key_marks: Marks = {}
    if node is None:  # an empty document, or one of comments only
        return None, marks, key_marks
    return _build(node, (), marks, key_marks), marks, key_marks

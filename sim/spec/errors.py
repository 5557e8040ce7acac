"""Errors in user input: each names the file, line, column, field path, problem and fix.

A `SpecIssue` prints as one line, `file:line:col: field.path: problem (hint)`. Validators of the
spec model raise `FieldProblem` (a ValueError) to say which field below the model is wrong and how to
fix it; the loader turns it into an issue pointing at that field's line and column.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


def one_line(text: str) -> str:
    """`text` with every control or line-breaking character written as an escape (\\n, \\x00,
    \\u2028), so a message about a value that holds one still prints as one line."""
    return "".join(_escape(c) if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def _escape(char: str) -> str:
    return repr(char)[1:-1] if char.isascii() else f"\\u{ord(char):04x}"


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file. `line` and `column` are 1-based; 0 when unknown.

    `hint` says what would be right. When it is empty and `problem` reads "problem; hint" (the
    form plain ValueError messages of the spec use), the two are split there, so every issue
    prints in the same `problem (hint)` form.
    """

    file: str
    line: int
    column: int
    field: str
    problem: str
    hint: str = ""

    def __post_init__(self) -> None:
        if not self.hint and "; " in self.problem:
            problem, hint = self.problem.split("; ", 1)
            object.__setattr__(self, "problem", problem)
            object.__setattr__(self, "hint", hint)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        hint = f" ({self.hint})" if self.hint else ""
        return one_line(f"{where}:{field} {self.problem}{hint}")


class SpecError(Exception):
    """Raised for bad user input; the CLI prints each issue on one line and exits with status 2."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def single(
        cls, file: str, problem: str, field: str = "", line: int = 0, column: int = 0, hint: str = ""
    ) -> "SpecError":
        return cls([SpecIssue(file=file, line=line, column=column, field=field, problem=problem, hint=hint)])


class FieldProblem(ValueError):
    """A spec validator's finding about one field below the model it validates.

    `at` is the path from the validated model to the field, e.g. ("quaternion",) or
    ("events", 2, "at"); `key=True` points at the field's key (for "X and Y cannot both be set")
    rather than its value. Outside the loader it reads as "problem; hint".
    """

    def __init__(self, problem: str, hint: str = "", at: tuple = (), key: bool = False):
        self.problem, self.hint, self.at, self.key = problem, hint, tuple(at), key
        super().__init__(f"{problem}; {hint}" if hint else problem)


class FieldProblems(ValueError):
    """Several FieldProblems found by one validator, so all are reported at once."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = list(problems)
        super().__init__(" | ".join(str(p) for p in self.problems))


def raise_problems(problems: list[FieldProblem]) -> None:
    """Raise nothing, the one problem, or all of them together."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise FieldProblems(problems)


class SimulationError(Exception):
    """The simulation became unstable; the message names the body and the time."""

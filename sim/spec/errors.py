"""Errors in user input: each names the file, line, column, field path, problem and fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec file. `line` and `column` are 1-based; 0 when unknown."""

    file: str
    line: int
    column: int
    field: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.problem}"


class SpecError(Exception):
    """Raised for bad user input; the CLI prints each issue on one line and exits with status 2."""

    def __init__(self, issues: list[SpecIssue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    @classmethod
    def single(cls, file: str, problem: str, field: str = "", line: int = 0, column: int = 0) -> "SpecError":
        return cls([SpecIssue(file=file, line=line, column=column, field=field, problem=problem)])


class SimulationError(Exception):
    """The simulation became unstable; the message names the body and the time."""

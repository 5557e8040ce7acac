"""Wall and CPU seconds per named stage of a run (`--profile`): `timed` spans recorded into `StageTimes`.

A stage is marked where its work is done, in any layer (`with timed("particles"): ...`). A span
records nothing unless a `StageTimes` is recording (`recording()`, a context variable scoped to
that block), so library users and runs that never ask for a profile are untouched; outside a
recording a span costs one context-variable read.

Spans nest, and a span counts its own time only: the time of the spans inside it is taken out of
it (a particles span inside the simulate span leaves `simulate` the rigid-body time). So the
stages of one recording partition its time: they add up to the recording's total, apart from
the time spent outside every span, which the table shows as `other`.

Clocks: wall is `time.perf_counter`; CPU is `os.times()`, user + system time of this process (all
its threads: torch's, numba's) plus that of the child processes it has waited for
(ffmpeg, which encodes the MP4s). A stage that runs on several cores shows CPU above wall; one
that waits (disk, a busy machine) shows wall above CPU.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

OTHER = "other"
"""The table's row for the recording's time outside every span."""


def clocks() -> tuple[float, float]:
    """(wall, cpu) now, seconds; differences of these are what every span measures."""
    t = os.times()
    return time.perf_counter(), t.user + t.system + t.children_user + t.children_system


@dataclass(frozen=True)
class StageRow:
    """One row of the table: a stage's own wall and CPU seconds and its share of the total wall time."""

    stage: str
    wall_s: float
    cpu_s: float
    share: float
    """wall_s / the recording's total wall time, 0..1."""


@dataclass
class StageTimes:
    """Own wall and CPU seconds per stage, in the order the stages first began."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    started: tuple[float, float] = field(default_factory=clocks)
    """(wall, cpu) clocks when the recording began."""
    stopped: tuple[float, float] | None = None
    """(wall, cpu) clocks when `stop` was called; None while the recording runs on."""
    _children: list[list[float]] = field(default_factory=list, repr=False)
    """Per open span, innermost last: [wall, cpu] seconds of the spans finished inside it."""

    @classmethod
    def from_process_start(cls) -> StageTimes:
        """A recording that began when this process did: its first stage, `start-up`, is the time
        before now (the interpreter, imports, argument parsing). Where the process's age is unknown
        (no Linux /proc), a recording from now."""
        age = process_age()
        if age is None:
            return cls()
        wall, cpu = clocks()
        times = cls(started=(wall - age, 0.0))  # os.times() counts from the process's start
        times.add("start-up", age, cpu)
        return times

    def add(self, stage: str, wall: float, cpu: float) -> None:
        """Add own seconds to `stage`."""
        self.wall[stage] = self.wall.get(stage, 0.0) + wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu

    def stop(self) -> None:
        """Fix the total at now, so that the table and the JSON made after it agree."""
        self.stopped = clocks()

    def total(self) -> tuple[float, float]:
        """(wall, cpu) seconds from the recording's start to `stop` (to now before it)."""
        wall, cpu = self.stopped or clocks()
        return wall - self.started[0], cpu - self.started[1]

    def rows(self) -> list[StageRow]:
        """Every stage, then `other` (the total less the stages' sum, the time outside every span)."""
        total_wall, total_cpu = self.total()
        rows = [(name, self.wall[name], self.cpu[name]) for name in self.wall]
        rows.append((OTHER, total_wall - sum(self.wall.values()), total_cpu - sum(self.cpu.values())))
        return [StageRow(name, wall, cpu, wall / total_wall if total_wall > 0 else 0.0) for name, wall, cpu in rows]

    def to_json(self) -> dict[str, Any]:
        """The `profile` section of meta.json (docs/conventions.md): stages with seconds and shares, and the total."""
        wall, cpu = self.total()
        return {
            "stages": [{"stage": r.stage, "wall_s": round(r.wall_s, 4), "cpu_s": round(r.cpu_s, 4), "share": round(r.share, 4)}
                       for r in self.rows()],
            "total": {"wall_s": round(wall, 4), "cpu_s": round(cpu, 4)},
            "clocks": "wall: time.perf_counter; cpu: os.times() user + system of the process and its waited-for children",
            "cpu_count": os.cpu_count(),
        }

    def table(self) -> str:
        """The rows as an aligned text table, the total last."""
        rows = self.rows()
        wall, cpu = self.total()
        width = max(len("total"), *(len(r.stage) for r in rows))
        lines = [f"{'stage':<{width}}  {'wall s':>8}  {'cpu s':>8}  {'share':>6}"]
        lines += [f"{r.stage:<{width}}  {r.wall_s:8.2f}  {r.cpu_s:8.2f}  {100 * r.share:5.1f}%" for r in rows]
        lines.append(f"{'total':<{width}}  {wall:8.2f}  {cpu:8.2f}  {100.0:5.1f}%")
        return "\n".join(lines)


def process_age() -> float | None:
    """Wall seconds since this process started (Linux: /proc, 10 ms ticks); None where unknown."""
    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = float(after_name[19])  # field 22, starttime: clock ticks after boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return None


_RECORDING: ContextVar[StageTimes | None] = ContextVar("physreel_stage_times", default=None)


@contextmanager
def recording(times: StageTimes | None = None) -> Iterator[StageTimes]:
    """Record the spans of this block into `times`; default: the StageTimes already recording
    (an enclosing command's), else a new one."""
    times = times or _RECORDING.get() or StageTimes()
    token = _RECORDING.set(times)
    try:
        yield times
    finally:
        _RECORDING.reset(token)


@contextmanager
def timed(stage: str) -> Iterator[None]:
    """Count the block's own wall and CPU time (less that of the spans inside it) to `stage`,
    when a StageTimes is recording; nothing otherwise. The time counts even if the block raises."""
    times = _RECORDING.get()
    if times is None:
        yield
        return
    times.add(stage, 0.0, 0.0)  # the table lists stages in the order they began
    children = [0.0, 0.0]
    times._children.append(children)
    wall0, cpu0 = clocks()
    try:
        yield
    finally:
        wall1, cpu1 = clocks()
        times._children.pop()
        wall, cpu = wall1 - wall0, cpu1 - cpu0
        times.add(stage, wall - children[0], cpu - children[1])
        if times._children:  # the enclosing span's own time excludes this one
            times._children[-1][0] += wall
            times._children[-1][1] += cpu

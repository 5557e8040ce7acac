"""Run one fuzz case through the `physreel` CLI in this process, and judge what it did.

`run_case` writes the case into a fresh folder (the scene beside an `outside/` folder of bait
files), runs each command with `physreel -q COMMAND`, and records per command: the exit status,
everything printed (Python's streams, the C-level file descriptors, warnings and log records as
a normal run would print them), the time taken, an exception that escaped `main`, and every file
opened outside the folders the run may read (an audit hook on `open`). `problems` lists what is
wrong with an outcome; the fuzzer asserts that list is empty.

Budgets: each command runs under a wall-clock limit (a timer signal raises `OverBudget`) and an
address-space limit a few GiB above the process's current size (an allocation past it raises
MemoryError), so a resource bomb shows as a finding instead of hanging or exhausting the machine.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import io
import logging
import os
import re
import resource
import shutil
import signal
import site
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pybullet_data

from fuzz_scenes import BAIT_FILES, Case
from physreel.engine.cli import main

REPO = Path(__file__).resolve().parents[1]
MEMORY_BUDGET = 3 * 2**30
"""Bytes of address space a command may add to the process."""
WHOLE_FILE_PROBLEMS = ("no such scene file", "not a file", "scene file is over", "the scene file is empty")
"""Problems of a scene file as a whole: their lines name the file without a line and column."""
ISSUE_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): \S.*$")


class OverBudget(BaseException):
    """Raised in the running command by the timer: it ran past its time budget."""


# ------------------------------------------------------------------------------ audit hook
@dataclass
class Watch:
    allowed: tuple[str, ...]
    outside: list[str] = field(default_factory=list)

    def allows(self, path: str) -> bool:
        # a root ending in "-" is a name prefix (physreel's V-HACD temp folders), any other a folder
        return any(path == root or path.startswith(root if root.endswith("-") else root.rstrip(os.sep) + os.sep)
                   for root in self.allowed)


_WATCH: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("physreel_fuzz_watch", default=None)
_HOOKED = False


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        return
    watch = _WATCH.get()
    if watch is None or not isinstance(args[0], (str, bytes, os.PathLike)):
        return
    try:
        path = os.path.abspath(os.fsdecode(args[0]))
    except (TypeError, ValueError):
        return
    if not watch.allows(path):
        watch.outside.append(path)


def install_audit_hook() -> None:
    """Audit hooks cannot be removed: one per process, active only while a Watch is set."""
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True


def _static_roots() -> tuple[str, ...]:
    """What any run may read besides its scene and output folders: Python and the installed
    libraries (lazy imports), the project itself (the builtin weights), pybullet_data, system
    files libraries consult (/dev, /proc, /sys, /etc, /usr), and physreel's V-HACD temp folders."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(REPO), pybullet_data.getDataPath(), *site.getsitepackages(),
             "/dev", "/proc", "/sys", "/etc", "/usr", os.path.join(tempfile.gettempdir(), "physreel-vhacd-")}
    return tuple(sorted({os.path.abspath(r) for r in roots} | {os.path.realpath(r) for r in roots}))


# --------------------------------------------------------------------------------- running
@dataclass
class Outcome:
    command: str
    code: int | str | None
    output: str
    seconds: float
    outside: list[str]
    error: str | None
    """Traceback of an exception that escaped `main`, or why the budget stopped it."""
    out_existed: bool = False
    out_exists: bool = False


@dataclass
class Folders:
    root: Path
    scene: Path
    outside: Path
    out: Path
    cache: Path
    cwd: Path


def write_case(case: Case, root: Path) -> Folders:
    folders = Folders(root, root / "scene", root / "outside", root / "out", root / "cache", root / "cwd")
    for folder in (folders.scene, folders.outside, folders.cache, folders.cwd):
        folder.mkdir(parents=True)
    for name, content in BAIT_FILES.items():
        (folders.outside / name).write_bytes(content)
    bait = str(folders.outside).encode()
    for name, content in case.files.items():
        target = folders.scene / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.replace(b"@BAIT@", bait))
    (folders.scene / "scene.yaml").write_bytes((case.text or "").replace("@BAIT@", str(folders.outside)).encode("utf-8", "surrogatepass"))
    return folders


def run_command(command: str, folders: Folders, seconds: float, extra: tuple[str, ...] = ()) -> Outcome:
    """`physreel -q COMMAND SCENE [-o OUT] EXTRA`, in-process, watched and budgeted."""
    argv = ["-q", command, str(folders.scene / "scene.yaml"), *(() if command == "validate" else ("-o", str(folders.out))), *extra]
    if command in ("render", "compare"):
        # torch maps gigabytes of libraries when first imported: that is no command's allocation,
        # and past the address-space limit the dynamic loader aborts the process.
        import torch  # noqa: F401
    out_existed = folders.out.exists()
    watch = Watch(_static_roots() + tuple(os.path.realpath(p) for p in (folders.scene, folders.out, folders.cache)))
    code: int | str | None = None
    error = None
    started = time.perf_counter()
    with _printed() as printed, _normal_run_reporting(), _environment(folders), _budget(seconds):
        token = _WATCH.set(watch)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
        except OverBudget:
            error = f"over the time budget of {seconds:g} s"
        except BaseException:  # noqa: BLE001 - any escape is the finding
            error = traceback.format_exc()
        finally:
            _WATCH.reset(token)
    return Outcome(command, code, printed.text, time.perf_counter() - started, watch.outside, error, out_existed, folders.out.exists())


def problems(outcome: Outcome) -> list[str]:
    """What is wrong with an outcome (empty: nothing)."""
    found = []
    name = outcome.command
    if outcome.error:
        found.append(f"{name}: {outcome.error}")
    if outcome.code not in (0, 2, 3):
        found.append(f"{name}: exit status {outcome.code!r}, not 0, 2 or 3")
    if "Traceback" in outcome.output:
        found.append(f"{name}: a traceback was printed")
    if outcome.outside:
        found.append(f"{name}: opened files outside the scene and output folders: {sorted(set(outcome.outside))[:5]}")
    lines = outcome.output.splitlines()
    if outcome.code == 0 and lines:
        found.append(f"{name}: printed {lines[:3]} on success with --quiet")
    if outcome.code in (2, 3):
        if not lines:
            found.append(f"{name}: exit {outcome.code} with no message")
        for line in lines:
            if not _well_formed(line, name):
                found.append(f"{name}: not one located problem per line: {line[:300]!r}")
        if not outcome.out_existed and outcome.out_exists:
            found.append(f"{name}: failed but left the output folder behind")
    return found


def _well_formed(line: str, command: str) -> bool:
    match = ISSUE_LINE.match(line)
    if match:
        return int(match["line"]) >= 1 and int(match["col"]) >= 1 and "Warning" not in line
    if line.startswith(f"physreel {command}: "):  # bad arguments, an output folder, an unstable simulation
        return "Warning" not in line
    return any(f": {problem}" in line for problem in WHOLE_FILE_PROBLEMS)


# ------------------------------------------------------------------------------ machinery
@dataclass
class _Printed:
    text: str = ""


@contextlib.contextmanager
def _printed():
    """Everything written to Python's stdout/stderr and to file descriptors 1 and 2."""
    printed = _Printed()
    buffer = io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    with tempfile.TemporaryFile() as raw:
        os.dup2(raw.fileno(), 1)
        os.dup2(raw.fileno(), 2)
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                yield printed
        finally:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).fflush(None)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            raw.seek(0)
            printed.text = buffer.getvalue() + raw.read().decode("utf-8", "replace")


@contextlib.contextmanager
def _normal_run_reporting():
    """Warnings and log records printed as a plain `physreel` process prints them (pytest would
    otherwise record both), so the fuzzer sees what a user would."""
    handlers = logging.root.handlers[:]
    logging.root.handlers = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
                warnings.formatwarning(message, category, filename, lineno, line))
            yield
    finally:
        logging.root.handlers = handlers


@contextlib.contextmanager
def _environment(folders: Folders):
    """A working directory with nothing in it, and the V-HACD cache in the case's own folder."""
    before_cwd, before_cache = os.getcwd(), os.environ.get("XDG_CACHE_HOME")
    os.chdir(folders.cwd)
    os.environ["XDG_CACHE_HOME"] = str(folders.cache)
    try:
        yield
    finally:
        os.chdir(before_cwd)
        if before_cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = before_cache


@contextlib.contextmanager
def _budget(seconds: float):
    def expired(signum, frame):
        raise OverBudget()

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    limit = size + MEMORY_BUDGET if hard == resource.RLIM_INFINITY else min(hard, size + MEMORY_BUDGET)
    previous = signal.signal(signal.SIGALRM, expired)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def scene_files(folder: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime_ns) of every file below `folder`: the scene folder must not change."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@contextlib.contextmanager
def case_folder():
    root = Path(tempfile.mkdtemp(prefix="physreel-fuzz-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)

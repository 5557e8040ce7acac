"""The `physreel` command line. Each subcommand lives in its own module `cmd_<name>.py`.

Bad input exits with status 2 and one line per problem on stderr
(`file:line:col: field.path: problem (hint)`); `--debug` shows tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import warnings

from physreel.sim.quiet import c_output_silenced
from physreel.sim.spec.errors import SimulationError, SpecError, one_line

# Subcommands in the order `--help` lists them; each module has add_parser(subparsers) and run(args).
COMMANDS = ("validate", "schema", "simulate", "passes", "compare", "render", "export", "batch", "models", "dataset", "train")

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_UNSTABLE = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13
"""The reader of our output went away (`physreel schema | head -1`): 128 + SIGPIPE, as a shell reports
a program that SIGPIPE ended (and as 130 reports an interrupt)."""


class UsageError(Exception):
    """A bad command-line argument or combination; reported like a bad spec (exit status 2)."""


def build_parser(commands: tuple[str, ...] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="physreel",
        description="Physics-guided video generation: simulate a YAML scene with pybullet, render exact "
        "depth/flow/seg/normal/pose passes, and guide a video diffusion model with them.",
        epilog="Run `physreel COMMAND --help` for each command. Exit status: 0 ok, 1 failure, "
        "2 bad input (spec or arguments), 3 unstable simulation.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars or summaries")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in commands:
        module = importlib.import_module(f"physreel.engine.cli.cmd_{name.replace('-', '_')}")
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
        # Accept --debug/--quiet after the subcommand too, as people type them there.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sub.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None, commands: tuple[str, ...] = COMMANDS) -> int:
    """Run one command; its exit status (0 ok, 1 failure, 2 bad input, 3 unstable, 130 interrupted, 141 closed pipe).

    `commands` limits the parser to those subcommands, whose modules alone are imported (see cmd_train's
    `python -m` entry, for machines without the simulator)."""
    try:
        try:
            return _run(argv, commands)
        finally:
            sys.stdout.flush()  # output still buffered meets a closed pipe here, not at interpreter exit
    except BrokenPipeError:
        _quiet_closed_output()
        return EXIT_BROKEN_PIPE


def _quiet_closed_output() -> None:
    """Point stdout and stderr at /dev/null, so that the interpreter's flush at exit does not
    report the closed pipe again (the Python docs' "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a stream without a descriptor (a test's capture)
            pass
    os.close(devnull)


def _run(argv: list[str] | None, commands: tuple[str, ...]) -> int:
    # The CLI owns its process's output: pybullet prints its build time from C on first import,
    # which would land in piped stdout and in --quiet runs, so it is imported here, silenced.
    # Where it is not installed (a GPU machine that only trains), the commands that need it say so.
    with c_output_silenced(), contextlib.suppress(ImportError):
        import pybullet  # noqa: F401
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    args.process_is_command = argv is None  # --profile then counts the process's start-up (engine.cli.args.profiled)
    try:
        with warnings.catch_warnings():
            if not args.debug:  # numpy's and trimesh's RuntimeWarnings (overflow, 0/0) are not the user's to read
                warnings.simplefilter("ignore", RuntimeWarning)
            return int(args._run(args) or EXIT_OK)
    except SpecError as exc:
        if args.debug:
            raise
        for issue in exc.issues:
            print(str(issue), file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as exc:
        if args.debug:
            raise
        print(one_line(f"physreel {args.command}: {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        if args.debug:
            raise
        print(one_line(f"physreel {args.command}: unstable simulation: {exc}"), file=sys.stderr)
        return EXIT_UNSTABLE
    except KeyboardInterrupt:
        print("physreel: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

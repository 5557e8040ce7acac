"""`physreel batch SWEEP.yaml -o OUT`: every shot of a sweep, run on Ray, resumable; OUT/index.html."""

from __future__ import annotations

import sys
from pathlib import Path

from ..batch import BatchOptions, load_sweep, run_batch
from ..batch.cluster import ClusterError, check_temp_dir
from ..batch.run import BatchBusyError
from . import UsageError
from .args import out_folder


def add_parser(subparsers):
    p = subparsers.add_parser(
        "batch",
        help="run every shot of a sweep file (scenes x varied values) on Ray; resumable; writes OUT/index.html",
        description="Expand SWEEP (scenes, values to vary by dotted spec path, stages, best_of; docs/batch.md) into "
        "shots, validate every one, and run one Ray task per shot and stage: each shot's folder "
        "OUT/shots/NAME-HASH/ holds scene.yaml and one folder per stage with exactly the files its command writes. "
        "A rerun skips complete stages and redoes the rest; a shot that fails is recorded and the others go on. "
        "Writes OUT/batch.json (parameters, status, timings, metrics of every shot) and OUT/index.html. "
        "By default a local Ray instance is started with --workers CPUs (nothing to set up); --address joins a cluster. "
        "Exit status 1 if any shot failed.",
    )
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("-o", "--out", required=True, help="output folder (created if missing; a rerun into it resumes)")
    p.add_argument("--workers", type=int, help="CPUs of the local Ray instance, i.e. tasks at once (default: all CPUs)")
    p.add_argument("--address", help="join this Ray cluster instead: auto (the cluster `ray start` joined here) or "
                   "ray://HOST:10001 (Ray Client); OUT and the scenes must be on storage every node sees")
    p.add_argument("--temp-dir", help="session folder of the local Ray instance (logs, sockets; default Ray's /tmp/ray)")
    p.add_argument("--export-dataset", action="store_true",
                   help="also write every shot's passes as Kubric-style per-frame files under OUT/dataset (needs the passes stage)")
    return p


def run(args) -> int:
    out = out_folder(args.out)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers {args.workers}: give at least 1")
    if args.address is not None and (args.workers is not None or args.temp_dir is not None):
        raise UsageError("--workers and --temp-dir set up a local Ray instance; with --address the cluster's own apply")
    if args.temp_dir is not None:
        try:
            check_temp_dir(args.temp_dir)
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
    sweep = load_sweep(args.sweep)
    if args.export_dataset and "passes" not in sweep.spec.stages:
        raise UsageError("--export-dataset exports the passes stage; add passes to the sweep's stages")
    options = BatchOptions(workers=args.workers, address=args.address,
                           temp_dir=None if args.temp_dir is None else Path(args.temp_dir),
                           export_dataset=args.export_dataset, quiet=args.quiet)
    try:
        result = run_batch(sweep, out, options)
    except (ClusterError, BatchBusyError) as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        complete = sum(1 for shot in result.shots if shot["status"] == "complete")
        print(f"{out / 'index.html'}: {len(result.shots)} shots, {complete} complete, {len(result.failed)} failed; "
              f"{len(result.ran)} tasks run, {len(result.reused)} complete before")
    for shot in result.shots:
        if shot["status"] == "failed":
            print(f"physreel batch: {shot['folder']}: {shot['message']}", file=sys.stderr)
    return 1 if result.failed else 0

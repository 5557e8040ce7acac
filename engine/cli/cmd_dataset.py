"""`physreel dataset -o DIR --shots N [--seed S]`: random scenes rendered as training data for the builtin model."""

from __future__ import annotations

import time

from . import UsageError
from .args import out_folder


def add_parser(subparsers):
    p = subparsers.add_parser(
        "dataset",
        help="simulate and render random scenes into shards (training data of the builtin model)",
        description="Random scenes (textured floor, 1-3 coloured primitives with random motion, fixed/orbit/dolly/"
        "follow camera), simulated and rendered at the model's resolution: RGB preview = target, control images "
        "= condition, caption from the spec. Deterministic for a seed; an existing DIR is resumed (finished shards "
        "are kept).",
    )
    p.add_argument("-o", "--output", required=True, help="dataset directory (shard_%%05d.npz + dataset.json)")
    p.add_argument("--shots", type=int, required=True, help="number of shots")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0); shot i depends only on (seed, i)")
    p.add_argument("--resolution", type=int, default=64, help="square frame size in pixels (default 64)")
    p.add_argument("--frames", type=int, default=16, help="frames per shot (default 16, at 8 fps)")
    p.add_argument("--shots-per-shard", type=int, default=8, help="shots per shard file (default 8)")
    p.add_argument("--fine-textures", action="store_true",
                   help="texture periods drawn log-uniformly down to 4 cm (a bowling lane's boards), half of the static "
                   "blocks textured (default: the periods v1 and v2 were trained on, 0.25-0.8 m floors)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes rendering shards at once (default 1); the bytes written do not depend on it")
    return p


def run(args) -> int:
    from physreel.engine.builtin.dataset import DatasetConfig, write_dataset  # imports torch

    out_folder(args.output)

    for name in ("shots", "resolution", "frames", "shots_per_shard", "workers"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.resolution < 16:
        raise UsageError(f"--resolution must be at least 16 pixels, got {args.resolution}")
    if args.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {args.seed}")
    config = DatasetConfig(shots=args.shots, seed=args.seed, resolution=args.resolution, num_frames=args.frames,
                           shots_per_shard=args.shots_per_shard, fine_textures=args.fine_textures)
    start = time.perf_counter()
    try:
        manifest = write_dataset(args.output, config, progress=not args.quiet, workers=args.workers)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print(f"{args.output}: {manifest['shots']} shots in {manifest['shards']} shards "
              f"({manifest['shards_written']} written now) in {time.perf_counter() - start:.1f} s")
    return 0

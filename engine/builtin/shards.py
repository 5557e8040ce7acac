"""Dataset shards on disk: the npz files `physreel dataset` writes, and their packed form.

A packed shard (`shard_%05d.xz`, written by `python -m physreel.engine.builtin.shards pack`)
holds only what training reads (rgb, control, caption, shot_index) for every `frame_stride`-th
frame, channel-first and LZMA-compressed. Flat colours and smooth control images compress
about 20x that way (channel-first alone gains a fifth over pixel-interleaved), so a dataset of
thousands of shots fits in the tens of MB that travel to a borrowed GPU machine.
`load_shards` reads a directory of either kind, and this module imports no simulator, so
training runs where only torch and diffusers are installed.
"""

from __future__ import annotations

import argparse
import io
import lzma
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from physreel.sim.files import atomic_path

PACKED_KEYS = ("rgb", "control", "caption", "shot_index")
"""What a packed shard keeps: the arrays `train.load_data` reads (and the shot numbers)."""
_CHANNEL_FIRST = ("rgb", "control")


def shard_path(directory: Path, shard: int) -> Path:
    return Path(directory) / f"shard_{shard:05d}.npz"


def load_shards(directory: Path) -> dict[str, np.ndarray]:
    """Every shard of `directory` (npz, or packed .xz) concatenated along the shot axis (allow_pickle=False)."""
    directory = Path(directory)
    paths = sorted(directory.glob("shard_*.npz"))
    if paths:
        parts = [_read_npz(path.read_bytes()) for path in paths]
    else:
        paths = sorted(directory.glob("shard_*.xz"))
        if not paths:
            raise FileNotFoundError(f"no shard_*.npz in {directory}; make a dataset with `physreel dataset -o {directory} --shots N`")
        # LZMA releases the GIL while it decompresses: threads decode shards side by side.
        with ThreadPoolExecutor(8) as pool:
            parts = list(pool.map(_read_packed, paths))
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _read_npz(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _read_packed(path: Path) -> dict[str, np.ndarray]:
    arrays = _read_npz(lzma.decompress(path.read_bytes()))
    for key in _CHANNEL_FIRST:
        arrays[key] = np.ascontiguousarray(np.moveaxis(arrays[key], 0, -1))
    return arrays


def pack_shard(arrays: dict[str, np.ndarray], frame_stride: int) -> bytes:
    """One shard's training arrays, every `frame_stride`-th frame, channel-first, as LZMA-compressed npz bytes.

    rgb uint8 [n, T, S, S, 3] and control uint8 [n, T, S, S, C] are stored as [3|C, n, ceil(T/stride), S, S]."""
    packed = {}
    for key in PACKED_KEYS:
        value = arrays[key]
        if key in _CHANNEL_FIRST:
            value = np.ascontiguousarray(np.moveaxis(value[:, ::frame_stride], -1, 0))
        packed[key] = value
    buffer = io.BytesIO()
    np.savez(buffer, **packed)
    return lzma.compress(buffer.getvalue(), preset=6)


def pack_dataset(source: Path, target: Path, frame_stride: int = 1, workers: int = 2) -> dict:
    """Pack every shard_*.npz of `source` into `target`/shard_*.xz; returns {shards, bytes}."""
    if frame_stride < 1 or workers < 1:
        raise ValueError(f"frame_stride and workers must be at least 1, got {frame_stride} and {workers}")
    paths = sorted(Path(source).glob("shard_*.npz"))
    if not paths:
        raise FileNotFoundError(f"no shard_*.npz in {source}")
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)

    def pack_one(path: Path) -> int:
        blob = pack_shard(_read_npz(path.read_bytes()), frame_stride)
        with atomic_path(target / path.with_suffix(".xz").name) as tmp:
            tmp.write_bytes(blob)
        return len(blob)

    with ThreadPoolExecutor(workers) as pool:
        sizes = list(pool.map(pack_one, paths))
    return {"shards": len(sizes), "bytes": int(sum(sizes))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m physreel.engine.builtin.shards",
        description="Pack a `physreel dataset` directory for carrying to a training machine: only the arrays training "
        "reads, every K-th frame, LZMA-compressed. `physreel train --data PACKED` reads the result as it is.")
    sub = parser.add_subparsers(dest="command", required=True)
    pack = sub.add_parser("pack", help="DATA -> PACKED (shard_*.xz)")
    pack.add_argument("data", type=Path, help="dataset directory made by `physreel dataset`")
    pack.add_argument("packed", type=Path, help="directory for the packed shards")
    pack.add_argument("--frame-stride", type=int, default=1, help="keep every K-th frame of each shot (default 1: all)")
    pack.add_argument("--workers", type=int, default=2, help="shards compressed at once (default 2)")
    args = parser.parse_args(argv)
    try:
        result = pack_dataset(args.data, args.packed, args.frame_stride, args.workers)
    except (FileNotFoundError, ValueError) as exc:
        parser.exit(2, f"error: {exc}\n")
    print(f"{args.packed}: {result['shards']} shards, {result['bytes'] / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The model card's numbers and pictures: guided vs unguided on held-out shots, and a sample grid.

    python -m physreel.engine.builtin.report --data HELDOUT_DIR [--model DIR] [--shots 12] [--steps 10] -o OUT_DIR

writes OUT_DIR/eval_KINDS.json (engine.builtin.evaluate summary and per-shot scores, and the
x0 error by noise level, `x0_error_by_timestep`, and the `ablation` rows) and OUT_DIR/sample_grid.png (per shot:
simulated preview, guided, unguided; every 3rd frame).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from physreel.sim.files import atomic_path, write_json

from .kinds import CONTROL_KINDS
from .shards import load_shards


def sample_grid(targets: list[np.ndarray], guided: list[np.ndarray], unguided: list[np.ndarray],
                path: Path, every: int = 3) -> None:
    """PNG: for each shot three rows (preview, guided, unguided) of every `every`-th frame, 2 px gaps."""
    from PIL import Image

    rows = []
    for target, good, plain in zip(targets, guided, unguided):
        for video in (target, good, plain):
            picked = video[::every]
            gap = np.full((picked.shape[1], 2, 3), 255, np.uint8)
            rows.append(np.concatenate([np.concatenate([f, gap], axis=1) for f in picked], axis=1))
        rows.append(np.full((4, rows[-1].shape[1], 3), 255, np.uint8))
    grid = np.concatenate(rows, axis=0)
    with atomic_path(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")


def main() -> None:
    from .evaluate import ablation, evaluate, x0_error_by_timestep
    from .model import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--shots", type=int, default=12)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--guidance", type=float, default=1.0)
    parser.add_argument("--kinds", default=",".join(CONTROL_KINDS))
    parser.add_argument("--grid-shots", type=int, default=3)
    parser.add_argument("--ablation-shots", type=int, default=4,
                        help="shots for the ablation (controls and warped noise removed in turn); 0 skips it")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    scores, summary = evaluate(args.data, args.model, kinds=tuple(args.kinds.split(",")), steps=args.steps,
                               guidance_scale=args.guidance, max_shots=args.shots, keep_frames=True)
    frames = summary.pop("frames")
    arrays = load_shards(Path(args.data))
    summary["x0_error_by_timestep"] = x0_error_by_timestep(load_model(args.model), arrays, range(min(args.shots, 8)))
    if args.ablation_shots > 0:
        summary["ablation"] = ablation(args.data, args.model, shots=args.ablation_shots, steps=args.steps)
    summary["wall_time_s"] = round(time.perf_counter() - start, 1)
    out = Path(args.output)
    write_json(out / f"eval_{'-'.join(args.kinds.split(','))}.json", {"summary": summary, "shots": [asdict(s) for s in scores]})
    picked = sorted(frames)[: args.grid_shots]
    if args.kinds == ",".join(CONTROL_KINDS):
        sample_grid([arrays["rgb"][row] for row, _ in picked], [frames[k][0] for k in picked],
                    [frames[k][1] for k in picked], out / "sample_grid.png")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

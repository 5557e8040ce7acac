"""The builtin model's ablation re-measured per noise-warp method (docs/engine.md, MODEL_CARD.md).

For the first SHOTS held-out shots (seed 0, 10 steps, every control kind, as the model card's
ablation), the two ablation variants that warp the noise ("controls+warp", "warp only") are run
with each warp method of engine/noise_warp.py ('cells', the previous per-latent-cell warp, and
'pixels', the persistent pixel-level field; 'pixels x4' is the field at 4 x 4 samples per pixel).
Scores: flow EPE on moving objects and on the rest (px), frame MSE against the preview, and
background flicker (0..255, engine/metrics/flicker.py). Lower is better for all four.

Run: python bench/noise_warp_ablation.py --data /work/v2/heldout [--shots 4] [--steps 10]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from dataclasses import replace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="held-out dataset directory (engine/builtin/dataset.py)")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from physreel.engine import noise_warp
    from physreel.engine.backends.builtin import BuiltinBackend
    from physreel.engine.builtin.shards import load_shards
    from physreel.engine.builtin.evaluate import dynamic_ids, frame_error, request_for, shot_passes
    from physreel.engine.builtin.controls import CONTROL_KINDS
    from physreel.engine.metrics.flicker import background_flicker
    from physreel.engine.metrics.flow_error import flow_error

    torch.set_num_threads(2)
    arrays = load_shards(args.data)
    backend = BuiltinBackend()
    original = noise_warp.warped_noise
    methods = {"cells": dict(method="cells"), "pixels": dict(method="pixels"), "pixels x4": dict(fine_factor=4)}
    rows = []
    for row in range(min(args.shots, len(arrays["caption"]))):
        guided = request_for(arrays, row, args.seed, True, CONTROL_KINDS, args.steps, 1.0, None)
        passes = shot_passes(arrays, row)
        for variant, request in (("controls+warp", guided), ("warp only", replace(guided, controls=()))):
            for name, kwargs in methods.items():
                noise_warp.warped_noise = functools.partial(original, **kwargs)
                started = time.perf_counter()
                frames = backend.generate(request).frames
                noise_warp.warped_noise = original
                scores = {m.name: m.value for m in flow_error(frames, passes, dynamic_ids(arrays, row))}
                flicker = background_flicker(frames, passes)[0].value
                rows.append({"shot": int(arrays["shot_index"][row]), "variant": variant, "method": name,
                             "flow_epe_object": scores["flow_epe_object"],
                             "flow_epe_background": scores["flow_epe_background"],
                             "frame_mse": frame_error(frames, arrays["rgb"][row]), "background_flicker": flicker,
                             "seconds": round(time.perf_counter() - started, 1)})
                print(json.dumps(rows[-1]), flush=True)
    print("| variant | method | objects px | rest px | frame MSE | flicker |")
    print("| --- | --- | --- | --- | --- | --- |")
    for variant in ("controls+warp", "warp only"):
        for name in methods:
            sel = [r for r in rows if r["variant"] == variant and r["method"] == name]
            mean = {k: sum(r[k] for r in sel) / len(sel) for k in
                    ("flow_epe_object", "flow_epe_background", "frame_mse", "background_flicker")}
            print(f"| {variant} | {name} | {mean['flow_epe_object']:.2f} | {mean['flow_epe_background']:.2f} | "
                  f"{mean['frame_mse']:.3f} | {mean['background_flicker']:.2f} |")


if __name__ == "__main__":
    main()

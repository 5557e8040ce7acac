"""Benchmark of exact-flow noise warping (engine/noise_warp.py): is every latent frame iid N(0, 1),
how closely does the noise follow the flow, and how fast is it? Both methods: 'pixels' (the
persistent pixel-level field, the default) and 'cells' (the previous per-latent-cell warp).

Flows (8-px latent cells, as Stable Diffusion's, Wan's and CogVideoX's VAEs):
  translate  2 px a frame to the right, 512 x 512, 160 frames (a cell of travel every 4 frames)
  zoom-turn  512 x 512, 160 frames: the left half zooms out 4 % a frame (merges), the right half
             zooms in 4 % (expansion), everything turns 3 degrees, a block is hidden every frame
  orbit      scenes/block_tower.yaml simulated and rendered at its 384 x 384 (72 frames; the camera
             orbits 55 degrees, the blocks tumble)
Per flow and method, with 16 latent channels (Wan's and CogVideoX's; 16 x 64 x 64 values a
frame at 512 px): the worst frame's |mean| and |std - 1|, the number of frames failing a
Kolmogorov-Smirnov test against N(0, 1) at p < 0.01, the worst |lag-1 spatial autocorrelation|
(horizontal or vertical), and the correlation along the flow (engine/noise_stats.py) between
consecutive frames and after 4 frames (one cell of travel at 2 px a frame), with the ceiling a
perfect warp reaches (`ideal`) and the share of it kept. Speed: wall (and process CPU) ms per
frame of warped_noise with 4 channels (Stable Diffusion's) on two torch threads, best of 3, on
the shared machine; --speed-only prints just that.

Run: python bench/noise_warp.py [--frames 160] [--size 512] [--speed-only]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

BLOCK = 8
GAPS = (1, 4)


def block_tower_orbit():
    from physreel.conditioning.render import render_passes
    from physreel.engine.records import NoiseFlow
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import load_scene

    scene = load_scene(Path(__file__).resolve().parents[1] / "scenes" / "block_tower.yaml")
    passes = render_passes(simulate(scene))
    return NoiseFlow(passes.flow_fwd.astype(np.float32), passes.flow_valid.astype(bool))


def distribution(noise: np.ndarray) -> dict:
    from physreel.engine.noise_stats import frame_statistics

    s = [frame_statistics(frame) for frame in noise]
    return {"mean": max(abs(x.mean) for x in s), "std": max(abs(x.std - 1) for x in s),
            "ks_failures": sum(x.ks_pvalue < 0.01 for x in s), "min_ks_p": min(x.ks_pvalue for x in s),
            "lag1": max(max(abs(x.lag1_x), abs(x.lag1_y)) for x in s)}


def following(noise: np.ndarray, flow, gap: int) -> tuple[float, float]:
    """(mean correlation along the flow, mean ideal) over the frame pairs (t, t + gap), t = 0, gap, 2 gap, ..."""
    from physreel.engine.noise_stats import flow_correlation, ideal_flow_correlation, transport_targets

    _, height, width = flow.flow_valid.shape
    measured, ideal = [], []
    for t in range(0, len(noise) - gap, gap):
        targets = transport_targets(flow.flow_fwd, flow.flow_valid, t, t + gap)
        measured.append(flow_correlation(noise[t], noise[t + gap], targets, BLOCK))
        ideal.append(ideal_flow_correlation(targets, height, width, BLOCK))
    return float(np.mean(measured)), float(np.mean(ideal))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=160)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--speed-only", action="store_true", help="only time the warp (no statistics)")
    args = parser.parse_args()

    import torch

    from physreel.engine.noise_stats import translation_flow, zoom_turn_flow
    from physreel.engine.noise_warp import WARP_METHODS, warped_noise

    torch.set_num_threads(2)
    warped_noise(4, 4, 4, translation_flow(2, 32, dx=2.0), seed=0)  # compile the kernels (numba caches them on disk)
    flows = {"translate": translation_flow(args.frames, args.size, dx=2.0), "zoom-turn": zoom_turn_flow(args.frames, args.size),
             "orbit": block_tower_orbit()}
    if args.speed_only:
        for name, flow in flows.items():
            frames, height, width = flow.flow_valid.shape
            for method in WARP_METHODS:
                wall, cpu = min(_timed(lambda: warped_noise(4, height // BLOCK, width // BLOCK, flow, seed=0,
                                                            method=method)) for _ in range(3))
                print(f"{name} {width}x{height}x{frames} {method}: {1000 * wall / (frames - 1):.1f} ms/frame wall, "
                      f"{1000 * cpu / (frames - 1):.1f} ms/frame CPU", flush=True)
        return
    print("| flow | method | max abs mean | max abs(std - 1) | KS fails p<0.01 (min p) | max abs lag-1 | "
          "r along flow, 1 frame (ideal, kept) | r along flow, 4 frames (ideal, kept) | ms/frame wall (CPU) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, flow in flows.items():
        frames, height, width = flow.flow_valid.shape
        h, w = height // BLOCK, width // BLOCK
        for method in WARP_METHODS:
            wall, cpu = min(_timed(lambda: warped_noise(4, h, w, flow, seed=0, method=method)) for _ in range(3))
            noise = warped_noise(16, h, w, flow, seed=0, method=method).numpy()
            d = distribution(noise)
            cells = []
            for gap in GAPS:
                r, ideal = following(noise, flow, gap)
                cells.append(f"{r:.3f} ({ideal:.3f}, {r / ideal:.2f})")
            print(f"| {name} {width}x{height}x{frames} | {method} | {d['mean']:.4f} | {d['std']:.4f} | "
                  f"{d['ks_failures']} ({d['min_ks_p']:.3f}) | {d['lag1']:.4f} | {cells[0]} | {cells[1]} | "
                  f"{1000 * wall / (frames - 1):.1f} ({1000 * cpu / (frames - 1):.1f}) |", flush=True)


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


if __name__ == "__main__":
    main()

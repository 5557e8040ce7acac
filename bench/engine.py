"""Benchmark of the generation engine: time per frame, and physreel's own share of a guided run.

For each backend that can run here (the tiny locally built animatediff and wan-vace models, and
the builtin model once its weights are shipped), on one simulated scene, it times:
  controls  conditioning.control.control_image for each control of the run
  request   engine.request.build_request with the control images cached (resizing, flow)
  warp      engine.noise_warp.warped_noise for the run's latent shape
  pipeline  backend.generate minus the warp it contains (the diffusion model itself)
and prints seconds per frame and physreel's share = (controls + request + warp) / total.
Goal: share < 5 % of a guided run. It also prints the warp's cost at Stable Diffusion's 512x512
(64x64 latents), where the pipeline is far heavier than any tiny model.

Run: /work/venv/bin/python bench/engine.py [--frames 17] [--size 64] [--steps 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def scene_data(frames: int, size: int) -> dict:
    fps = 16
    return {
        "shot": {"duration": frames / fps, "fps": fps, "seed": 3, "prompt": "a red ball bouncing on a wooden floor"},
        "camera": {"resolution": [size, size], "fov_deg": 45, "position": [0.0, -3.0, 0.8], "look_at": [0.0, 0.0, 0.55]},
        "objects": [
            {"name": "floor", "shape": "plane", "color": [0.6, 0.4, 0.2], "texture": {"kind": "checker", "scale": 0.2}},
            {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [-0.5, 0.0, 1.0], "velocity": [2.0, 0.0, 0.0],
             "color": [0.9, 0.1, 0.1]},
        ],
    }


def best_of(repeats: int, fn):
    """(min seconds over `repeats` calls, last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def measure(backend, scene, passes, steps: int, controls: list[dict], repeats: int) -> dict:
    from physreel.conditioning.control import control_image
    from physreel.engine.noise_warp import warped_noise
    from physreel.engine.request import build_request
    from physreel.engine.settings import plan_generation, resolve_generate
    from physreel.sim.spec import scene_from_data

    shot = scene_from_data({**scene_data(passes.num_frames, passes.size[0]),
                            "generate": {"backend": backend.name, "model": backend.model_path, "steps": steps,
                                         "resolution": list(passes.size), "controls": controls}}, scene.source)
    plan = plan_generation(shot, resolve_generate(shot, backend=backend), backend)
    kinds = [c["kind"] for c in controls]
    t_controls, images = best_of(repeats, lambda: {k: control_image(passes, k, **options)
                                                   for k, options in zip(kinds, plan.control_options)})
    t_request, request = best_of(repeats, lambda: build_request(plan, shot.spec.shot, passes, guided=True,
                                                                control_source=lambda p, k, **options: images[k]))
    backend.generate(request)  # warm-up: loading and weight hashing are one-off costs
    t_generate, video = best_of(repeats, lambda: backend.generate(request))
    noise = video.meta["noise"]
    shape = noise.get("latent_shape") or noise["shape"]  # [F, C, h, w]; the builtin model names it "shape"
    channels, frames_latent, h, w = (shape[i] for i in (1, 0, 2, 3))
    stride = noise.get("latent_frame_to_video_frame", 1)
    t_warp, _ = best_of(repeats, lambda: warped_noise(channels, h, w, request.noise_flow, request.seed,
                                                      frame_index=[stride * j for j in range(frames_latent)]))
    own = t_controls + t_request + t_warp
    total = t_controls + t_request + t_generate
    return {
        "backend": backend.name,
        "frames": request.num_frames,
        "size": f"{request.width}x{request.height}",
        "steps": steps,
        "controls_s": t_controls,
        "request_s": t_request,
        "warp_s": t_warp,
        "pipeline_s": t_generate - t_warp,
        "per_frame_s": total / request.num_frames,
        "own_share": own / total,
    }


def warp_at_sd_size(frames: int, repeats: int) -> float:
    """Seconds per frame to warp SD 1.5 latents (4 x 64 x 64) along a 512x512 flow."""
    from physreel.engine.records import NoiseFlow
    from physreel.engine.noise_warp import warped_noise

    rng = np.random.default_rng(0)
    flow = np.repeat(rng.normal(0, 4, (1, 512, 512, 2)).astype(np.float32), frames, axis=0)
    noise_flow = NoiseFlow(flow, np.ones((frames, 512, 512), bool))
    seconds, _ = best_of(repeats, lambda: warped_noise(4, 64, 64, noise_flow, seed=0))
    return seconds / frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=17)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from physreel.conditioning.render import render_passes
    from physreel.engine.backends import BackendError, get_backend
    from physreel.engine.testing.tiny_models import write_tiny_animatediff, write_tiny_wan_vace
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import scene_from_data

    scene = scene_from_data(scene_data(args.frames, args.size), Path("/virtual/bench.yaml"))
    started = time.perf_counter()
    passes = render_passes(simulate(scene), passes=("depth", "normal", "seg", "flow_fwd", "flow_valid"))
    print(f"scene: {passes.num_frames} frames {passes.size[0]}x{passes.size[1]}; simulate + passes "
          f"{time.perf_counter() - started:.2f} s (not counted below: the same for every backend)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            (get_backend("animatediff", write_tiny_animatediff(Path(tmp) / "ad")), [{"kind": "depth"}]),
            (get_backend("animatediff", Path(tmp) / "ad"), [{"kind": "depth"}, {"kind": "edges", "scale": 0.5}]),
            (get_backend("wan-vace", write_tiny_wan_vace(Path(tmp) / "wan")), [{"kind": "depth"}]),
        ]
        try:
            builtin = get_backend("builtin")
            if builtin.describe().available:
                runs.append((builtin, [{"kind": "depth"}]))
            else:
                print("builtin: weights not found; skipped")
        except BackendError as exc:
            print(f"builtin: skipped ({exc})")
        for backend, controls in runs:
            row = measure(backend, scene, passes, args.steps, controls, args.repeats)
            row["controls"] = "+".join(c["kind"] for c in controls)
            rows.append(row)
            print(f"measured {backend.name} ({row['controls']}): {row['per_frame_s']:.4f} s/frame, "
                  f"own share {100 * row['own_share']:.1f}%", flush=True)
    print(f"\n{'backend':<12}{'controls':<12}{'frames':>7}{'size':>7}{'steps':>6}{'controls':>10}{'request':>9}"
          f"{'warp':>8}{'pipeline':>10}{'s/frame':>9}{'own share':>11}")
    for r in rows:
        print(f"{r['backend']:<12}{r['controls']:<12}{r['frames']:>7}{r['size']:>7}{r['steps']:>6}"
              f"{r['controls_s']:>10.4f}{r['request_s']:>9.4f}{r['warp_s']:>8.4f}{r['pipeline_s']:>10.4f}"
              f"{r['per_frame_s']:>9.4f}{100 * r['own_share']:>10.1f}%")
    per_frame = warp_at_sd_size(16, args.repeats)
    print(f"\nnoise warp at SD 1.5 size (512x512 flow -> 4x64x64 latents): {1000 * per_frame:.1f} ms/frame")
    print("goal: physreel's own share < 5 % of a guided run")


if __name__ == "__main__":
    main()

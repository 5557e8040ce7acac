"""Seconds to generate 16 frames at 64x64 with the shipped builtin weights, on this machine's CPU.

Reference measured in the same run: one forward pass of the model on the 16-frame batch,
times the steps (the lower bound of per-frame DDIM sampling). Goal: <= 10 s on two cores.

    python bench/builtin.py [--threads 2] [--steps 10 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20])
    parser.add_argument("--guidance", type=float, nargs="+", default=[1.0, 7.5])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from physreel.engine.records import ControlInput, GenerationRequest, NoiseFlow
    from physreel.engine.backends.builtin import BuiltinBackend
    from physreel.engine.builtin.controls import CONTROL_KINDS, IMAGE_CHANNELS, control_from_packed
    from physreel.engine.builtin.text import tokenize

    frames, size = 16, 64
    backend = BuiltinBackend()
    model = backend.load_model()
    rng = np.random.default_rng(0)
    controls = tuple(ControlInput(k, rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8))
                     for k in CONTROL_KINDS)
    flow = np.zeros((frames, size, size, 2), np.float32)
    flow[..., 0] = 1.0
    noise_flow = NoiseFlow(flow, np.ones((frames, size, size), bool))

    # Reference: one UNet forward on the 16-frame batch.
    with torch.no_grad():
        states, mask = model.encode_text(tokenize(["a red sphere"] * frames))
        x = torch.randn(frames, 3, size, size)
        control = control_from_packed(torch.zeros(frames, size, size, IMAGE_CHANNELS, dtype=torch.uint8),
                                      torch.ones(frames, len(CONTROL_KINDS)))
        t = torch.full((frames,), 500)
        model(x, t, control, states, mask)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            model(x, t, control, states, mask)
            times.append(time.perf_counter() - start)
    forward = min(times)
    print(f"builtin model: {model.num_parameters() / 1e6:.2f} M parameters, {args.threads} threads")
    print(f"reference: one forward pass on {frames} frames at {size}x{size}: {forward:.3f} s")
    for guidance in args.guidance:
        for steps in args.steps:
            request = GenerationRequest(prompt="a red sphere bounces on a checkered grey floor", num_frames=frames,
                                        fps=8, width=size, height=size, seed=0, steps=steps, guidance_scale=guidance,
                                        controls=controls, noise_flow=noise_flow)
            runs = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                backend.generate(request)
                runs.append(time.perf_counter() - start)
            best = min(runs)
            passes = steps * (2 if guidance > 1 else 1)
            print(f"guided, {steps} steps, guidance {guidance}: {best:.2f} s for {frames} frames "
                  f"({best / (passes * forward):.2f}x the reference {passes} forward passes; goal <= 10 s: "
                  f"{'met' if best <= 10 else 'missed'})")


if __name__ == "__main__":
    main()

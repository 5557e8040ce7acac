"""How long scoring a video takes: all metrics (no depth model) per frame, at three sizes.

Reference measured in the same run: OpenCV DIS optical flow alone (the same settings), the
largest single piece of the work. Prints ms per frame and the ratio all-metrics / DIS.
Usage: python bench/metrics.py (or python -m bench.metrics) from the repository root
"""

from __future__ import annotations

import time

import numpy as np

from physreel.conditioning.records import Passes
from physreel.engine.metrics import compute_metrics
from physreel.engine.metrics.flow_error import estimate_flow

FRAMES = 16


def synthetic(size: int) -> tuple[np.ndarray, Passes]:
    """A smooth random texture translating 2 px/frame to the right, with its exact passes."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size // 8 + 2, size // 8 + FRAMES + 2, 3)).astype(np.float32)
    import cv2

    texture = cv2.resize(base, (base.shape[1] * 8, base.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    frames = np.stack([texture[:size, 2 * (FRAMES - t): 2 * (FRAMES - t) + size] for t in range(FRAMES)])
    frames = np.clip(frames, 0, 255).astype(np.uint8)
    flow = np.zeros((FRAMES, size, size, 2), np.float32)
    flow[..., 0] = 2.0
    valid = np.ones((FRAMES, size, size), bool)
    valid[:, :, -2:] = False
    K = np.array([[size, 0, size / 2], [0, size, size / 2], [0, 0, 1]], float)
    passes = Passes(fps=8, K=K, world_to_camera=np.repeat(np.eye(4)[None], FRAMES, 0), id_table=(),
                    flow_fwd=flow, flow_bwd=-flow, flow_valid=valid, seg=np.ones((FRAMES, size, size), np.int32),
                    depth=np.full((FRAMES, size, size), 3.0, np.float32))
    return frames, passes


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'size':>6} {'all metrics ms/frame':>22} {'DIS alone ms/frame':>20} {'ratio':>6}")
    for size in (64, 256, 512):
        frames, passes = synthetic(size)
        all_s = best_of(lambda: compute_metrics(frames, passes))
        dis_s = best_of(lambda: estimate_flow(frames))
        print(f"{size:>6} {1000 * all_s / FRAMES:>22.2f} {1000 * dis_s / FRAMES:>20.2f} {all_s / dis_s:>6.2f}")


if __name__ == "__main__":
    main()

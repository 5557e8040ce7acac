"""How long scoring a video takes: all metrics (no depth model) per frame at three sizes, and each
depiction and Physics-IQ metric alone at 64 px and 256 px.

Reference measured in the same run: OpenCV DIS optical flow alone (the same settings), the
largest single piece of the motion metrics' work. Prints ms per frame and the ratio to DIS.
Usage: python bench/metrics.py (or python -m bench.metrics) from the repository root
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from physreel.conditioning.records import Passes, SegEntry
from physreel.engine.metrics import compute_metrics
from physreel.engine.metrics.flow_error import estimate_flow
from physreel.engine.metrics.object_color_error import object_color_error
from physreel.engine.metrics.object_visibility import object_visibility
from physreel.engine.metrics.objects import ObjectTable, SceneObject
from physreel.engine.metrics.physics_iq import physics_iq_metrics, physics_iq_reference
from physreel.engine.metrics.structure_similarity import structure_similarity

FRAMES = 16


def synthetic(size: int) -> tuple[np.ndarray, Passes]:
    """A smooth random texture translating 2 px/frame to the right, with its exact passes; the
    middle quarter is seg id 2 (an object for the depiction metrics), the preview is the video."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (size // 8 + 2, size // 8 + FRAMES + 2, 3)).astype(np.float32)
    texture = cv2.resize(base, (base.shape[1] * 8, base.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    frames = np.stack([texture[:size, 2 * (FRAMES - t): 2 * (FRAMES - t) + size] for t in range(FRAMES)])
    frames = np.clip(frames, 0, 255).astype(np.uint8)
    flow = np.zeros((FRAMES, size, size, 2), np.float32)
    flow[..., 0] = 2.0
    valid = np.ones((FRAMES, size, size), bool)
    valid[:, :, -2:] = False
    seg = np.ones((FRAMES, size, size), np.int32)
    seg[:, size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 2
    K = np.array([[size, 0, size / 2], [0, size, size / 2], [0, 0, 1]], float)
    passes = Passes(fps=8, K=K, world_to_camera=np.repeat(np.eye(4)[None], FRAMES, 0),
                    id_table=(SegEntry(1, "floor", "floor", None, "part"), SegEntry(2, "box", "box", None, "part")),
                    flow_fwd=flow, flow_bwd=-flow, flow_valid=valid, seg=seg,
                    depth=np.full((FRAMES, size, size), 3.0, np.float32), rgb=frames)
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
    dis = {}
    for size in (64, 256, 512):
        frames, passes = synthetic(size)
        all_s = best_of(lambda: compute_metrics(frames, passes, frozenset({2})))
        dis[size] = best_of(lambda: estimate_flow(frames))
        print(f"{size:>6} {1000 * all_s / FRAMES:>22.2f} {1000 * dis[size] / FRAMES:>20.2f} {all_s / dis[size]:>6.2f}")
    print(f"\n{'metric':>34} {'size':>5} {'ms/frame':>9} {'ratio to DIS':>13}")
    for size in (64, 256):
        frames, passes = synthetic(size)
        objects = ObjectTable((SceneObject("box", frozenset({2}), True, (0.6, 0.4, 0.2)),), 64.0)
        second = np.roll(frames, 1, axis=2)
        reference = physics_iq_reference(frames, second)
        pieces = {
            "object_visibility": lambda: object_visibility(frames, passes, objects),
            "object_color_error": lambda: object_color_error(frames, passes, objects),
            "structure_similarity": lambda: structure_similarity(frames, passes),
            "physics_iq reference (per shot)": lambda: physics_iq_reference(frames, second),
            "physics_iq (4 metrics + score)": lambda: physics_iq_metrics(frames, reference),
        }
        for name, work in pieces.items():
            seconds = best_of(work)
            print(f"{name:>34} {size:>5} {1000 * seconds / FRAMES:>9.2f} {seconds / dis[size]:>13.2f}")


if __name__ == "__main__":
    main()

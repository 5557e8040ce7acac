"""Depth rank correlation: does the video's estimated depth order match the simulated depth?

Needs a monocular depth estimator; physreel uses controlnet_aux's MiDaS (DPT-Hybrid) loaded
from a LOCAL directory holding `dpt_hybrid-midas-501f0c75.pt`, never downloaded. Without one
the metric is skipped with a note.

MiDaS predicts relative inverse depth (near = large), known only up to an unknown monotone
map per frame, so the comparison is by rank: depth_rank_correlation_t = Spearman's rho between
the estimate D^_t(p) and the simulated inverse depth 1 / depth_t(p) over pixels with finite
simulated depth, for every frame t = 0 .. N-1 (N values, not N - 1). Higher is better; 1 is a
perfect ordering.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from physreel.conditioning.records import Passes

from ..backends.runtime import hub_offline
from .base import HIGHER, MetricResult, require_passes, shot_mean

MIDAS_FILE = "dpt_hybrid-midas-501f0c75.pt"
DETECT_RESOLUTION = 384

DepthEstimator = Callable[[np.ndarray], np.ndarray]
"""uint8 [N, H, W, 3] frames -> float [N, H, W] relative inverse depth (near = large)."""


def load_depth_estimator(directory: str | Path | None) -> tuple[DepthEstimator | None, str | None]:
    """(estimator, None) for a local MiDaS directory, or (None, note) when none was given.

    Raises FileNotFoundError when a directory was given but lacks the weights file.
    """
    if directory is None:
        return None, (f"skipped: no local depth model; pass --depth-model DIR with {MIDAS_FILE} "
                      "(controlnet_aux MiDaS, from lllyasviel/Annotators) to measure it")
    directory = Path(directory)
    if not (directory / MIDAS_FILE).is_file():
        raise FileNotFoundError(f"{directory}: no {MIDAS_FILE} there; give the folder holding the MiDaS weights")
    from controlnet_aux import MidasDetector  # slow import, only when asked for (and before going offline)

    with hub_offline():
        detector = MidasDetector.from_pretrained(str(directory), local_files_only=True)

    def estimate(frames: np.ndarray) -> np.ndarray:
        import cv2

        _, height, width, _ = frames.shape
        out = []
        for frame in frames:
            depth = detector(frame, detect_resolution=DETECT_RESOLUTION, image_resolution=DETECT_RESOLUTION, output_type="np")
            out.append(cv2.resize(depth[..., 0].astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR))
        return np.stack(out)

    return estimate, None


def depth_rank_correlation(frames: np.ndarray, passes: Passes, estimator: DepthEstimator) -> list[MetricResult]:
    """depth_rank_correlation (Spearman's rho per frame). frames at the passes' size."""
    from scipy.stats import spearmanr

    require_passes(passes, ("depth",), "depth rank correlation")
    estimate = np.asarray(estimator(frames), dtype=np.float64)
    if estimate.shape != passes.depth.shape:
        raise ValueError(f"the depth estimator returned {estimate.shape}, expected {passes.depth.shape}")
    per_frame = np.full(len(frames), np.nan)
    for t in range(len(frames)):
        finite = np.isfinite(passes.depth[t])
        if finite.sum() < 2:
            continue
        rho = spearmanr(estimate[t][finite], 1.0 / passes.depth[t][finite]).statistic
        per_frame[t] = rho if np.isfinite(rho) else 0.0  # a constant estimate carries no order
    return [MetricResult("depth_rank_correlation", shot_mean(per_frame), HIGHER, "Spearman rho", per_frame)]


def skipped_depth_rank(note: str) -> list[MetricResult]:
    """The placeholder result recorded when no depth estimator is available."""
    return [MetricResult("depth_rank_correlation", float("nan"), HIGHER, "Spearman rho", None, note)]

"""Measurements of warped noise (tests/test_noise_warp.py, bench/noise_warp.py, docs/engine.md):
is each latent frame iid N(0, 1), and how closely does it follow the flow?

Correlation along the flow between latent frames a and b: frame a's latent noise is carried to
frame b by the exact flow at pixel resolution (`transport_targets`: each pixel of frame a to the
pixel it lands in, through every frame between, dropped when hidden): each latent cell c of
frame b gets the mean, over the frame-a pixels that land in it, of the frame-a latent cell each
came from. The correlation is Pearson's r between frame b's noise and that carried noise over the
`tracked` cells (at least `coverage` of their pixels reached from frame a) and every channel.
A translation by exactly one latent cell carries the whole cell: r = 1 for a perfect warp. Motion
by a fraction of a cell mixes cells, so even a perfect warp of an iid pixel field scores less
(`ideal_flow_correlation`, e.g. 0.79 for a quarter cell): the ceiling to compare with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .noise_warp_cells import transport_targets
from .records import NoiseFlow

__all__ = ["FrameStatistics", "frame_statistics", "flow_correlation", "ideal_flow_correlation", "transport_targets",
           "translation_flow", "zoom_turn_flow"]


def translation_flow(frames: int, size: int, dx: float, dy: float = 0.0) -> NoiseFlow:
    """Every pixel of a size x size shot moves by (dx, dy) px each frame, all visible."""
    flow = np.zeros((frames, size, size, 2), np.float32)
    flow[..., 0], flow[..., 1] = dx, dy
    return NoiseFlow(flow, np.ones((frames, size, size), bool))


def zoom_turn_flow(frames: int, size: int, zoom: float = 1.04, degrees: float = 3.0) -> NoiseFlow:
    """The hard case: the left half zooms out toward the centre (merges), the right half zooms in
    (expansion), all of it turns (samples drift off the pixel grid), and a central block is hidden
    in the next frame (flow_valid)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    x, y = xs - size / 2, ys - size / 2
    scale = np.where(x < 0, 1 / zoom, zoom)
    angle = np.deg2rad(degrees)
    flow = np.zeros((frames, size, size, 2), np.float32)
    flow[..., 0] = scale * (np.cos(angle) * x - np.sin(angle) * y) - x
    flow[..., 1] = scale * (np.sin(angle) * x + np.cos(angle) * y) - y
    valid = np.ones((frames, size, size), bool)
    valid[:, size * 5 // 16: size * 10 // 16, size * 5 // 16: size * 10 // 16] = False
    return NoiseFlow(flow, valid)


@dataclass(frozen=True)
class FrameStatistics:
    """One latent frame's values against iid N(0, 1)."""

    mean: float
    std: float
    ks_pvalue: float
    """Kolmogorov-Smirnov test of all values against N(0, 1)."""
    lag1_x: float
    """Pearson's r between horizontally adjacent cells (all channels pooled)."""
    lag1_y: float
    """The same for vertically adjacent cells."""


def frame_statistics(frame: np.ndarray) -> FrameStatistics:
    """frame: float [C, h, w] latent noise."""
    frame = np.asarray(frame, dtype=np.float64)
    return FrameStatistics(
        mean=float(frame.mean()), std=float(frame.std()),
        ks_pvalue=float(stats.kstest(frame.ravel(), "norm").pvalue),
        lag1_x=_pearson(frame[:, :, :-1], frame[:, :, 1:]), lag1_y=_pearson(frame[:, :-1], frame[:, 1:]))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _cell_of(pixels: np.ndarray, width: int, block: int) -> np.ndarray:
    """Latent cell index (row-major, width // block cells a row) of row-major pixel indices."""
    return (pixels // width // block) * (width // block) + (pixels % width) // block


def _tracked_pairs(targets: np.ndarray, height: int, width: int, block: int, coverage: float):
    """(source cell, target cell) of every pixel that lands, and the tracked target cells (bool [h * w])."""
    pixels = np.flatnonzero(targets >= 0)
    source_cell = _cell_of(pixels, width, block)
    target_cell = _cell_of(targets[pixels], width, block)
    cells = (height // block) * (width // block)
    reached = np.bincount(_cell_of(np.unique(targets[pixels]), width, block), minlength=cells)
    return source_cell, target_cell, reached >= coverage * block * block


def flow_correlation(previous: np.ndarray, current: np.ndarray, targets: np.ndarray, block: int,
                     coverage: float = 0.9) -> float:
    """Correlation along the flow (module docstring) between latent frames `previous` and `current`
    (float [C, h, w]); targets: int64 [H * W] from `transport_targets` between their video frames;
    block: video pixels per latent cell side."""
    channels, h, w = previous.shape
    source_cell, target_cell, tracked = _tracked_pairs(targets, h * block, w * block, block, coverage)
    arrived = np.bincount(target_cell, minlength=h * w)
    tracked &= arrived > 0
    previous = previous.reshape(channels, -1).astype(np.float64)
    carried = np.stack([np.bincount(target_cell, weights=previous[c, source_cell], minlength=h * w)
                        for c in range(channels)]) / np.maximum(arrived, 1)
    return _pearson(current.reshape(channels, -1)[:, tracked], carried[:, tracked])


def ideal_flow_correlation(targets: np.ndarray, height: int, width: int, block: int, coverage: float = 0.9) -> float:
    """The correlation along the flow a perfect warp would score for this transport: each tracked
    pixel of frame b holding exactly the iid N(0, 1) value of the frame-a pixel that lands there.
    With n_cj of cell c's arrivals from frame-a cell j (S_c in all, w_j = n_cj / S_c), the carried
    value is sum_j w_j L_a(j), whose covariance with L_b(c) is sum_j w_j n_cj / block^2 and whose
    variance is sum_j w_j^2; r = sum_c cov_c / sqrt(cells * sum_c var_c)."""
    source_cell, target_cell, tracked = _tracked_pairs(targets, height, width, block, coverage)
    cells = (height // block) * (width // block)
    pairs, n = np.unique(target_cell * cells + source_cell, return_counts=True)
    pair_target = pairs // cells
    arrived = np.bincount(target_cell, minlength=cells)
    weight = n / arrived[pair_target]
    cov = np.bincount(pair_target, weights=weight * n / block**2, minlength=cells)
    var = np.bincount(pair_target, weights=weight**2, minlength=cells)
    tracked &= arrived > 0
    return float(cov[tracked].sum() / np.sqrt(tracked.sum() * var[tracked].sum()))

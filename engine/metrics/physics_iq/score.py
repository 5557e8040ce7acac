"""The Physics-IQ score of a video against the simulation (physics-IQ-benchmark, code/calculate_iq_score.py).

Physics-IQ (Motamed et al., "Do generative video models learn physical principles from watching videos?",
arXiv 2501.09038) scores a generated video against a real one with four metrics on motion masks
(masks.py): spatial IoU, spatiotemporal IoU, weighted spatial IoU (higher is better) and MSE
(lower is better). Each is normalised by the **physical variance**: the same metric between two
real takes of the same event (v1, v2), what a perfect model of the physics could attain:
    score = 100 * ( (stIoU / stIoU_var + sIoU / sIoU_var + wsIoU / wsIoU_var) / 3 - (MSE - MSE_var) ),
clipped to 0..100 and printed with two decimals, as the benchmark does (it averages each metric
over its scenarios and views first; a physreel shot is one scenario seen from one view).
In physreel the real take v1 is the simulation's RGB preview and v2 the preview of a second
simulation of the scene with tiny perturbed initial conditions (engine/physical_variance.py),
so the preview itself scores 100 and a video of unrelated motion near 0. (The benchmark rounds
values read back from its CSV files to 4 decimals; physreel keeps full precision.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import HIGHER, LOWER, MetricResult
from .masks import motion_masks
from .mse import mse_per_frame
from .spatial_iou import spatial_iou
from .spatiotemporal_iou import spatiotemporal_iou
from .weighted_spatial_iou import weighted_spatial_iou

METRICS = ("physics_iq_spatial_iou", "physics_iq_spatiotemporal_iou", "physics_iq_weighted_spatial_iou", "physics_iq_mse",
           "physics_iq_score")


@dataclass(frozen=True)
class PhysicsIQReference:
    """The real side of Physics-IQ for one shot: the preview (v1), its masks, and the physical
    variance between it and the second take (v2). Depends on the shot only: made once per shot."""

    frames: np.ndarray
    """uint8 [N, H, W, 3]: the simulation's RGB preview (v1)."""
    masks: np.ndarray
    """bool [N, H, W]: masks.motion_masks(frames)."""
    variance: dict[str, float] | None
    """The four metrics of v2 against v1, by name (physics_iq_spatial_iou, ...); None without a second take."""
    note: str | None = None
    """Why there is no variance (the score is then undefined)."""


def physics_iq_reference(preview: np.ndarray, second_take: np.ndarray | None, note: str | None = None) -> PhysicsIQReference:
    """The PhysicsIQReference of a preview (uint8 [N, H, W, 3]) and the second take's preview (same
    shape, or None with `note` saying why there is none)."""
    masks = motion_masks(preview)
    if second_take is None:
        return PhysicsIQReference(preview, masks, None, note or "no second take")
    if second_take.shape != preview.shape:
        raise ValueError(f"the second take has shape {second_take.shape}, the preview {preview.shape}; they must match")
    values = _four(second_take, motion_masks(second_take), preview, masks)
    return PhysicsIQReference(preview, masks, {name: float(np.mean(v)) for name, v in values.items()})


def physics_iq_metrics(frames: np.ndarray, reference: PhysicsIQReference) -> list[MetricResult]:
    """The four Physics-IQ metrics and the score of uint8 frames [N, H, W, 3] (the scored grid)."""
    values = _four(frames, motion_masks(frames), reference.frames, reference.masks)
    means = {name: float(np.mean(v)) for name, v in values.items()}
    per_frame = {name: (v if np.ndim(v) else None) for name, v in values.items()}
    results = [MetricResult(name, means[name], LOWER if name == "physics_iq_mse" else HIGHER,
                            "0..1 squared" if name == "physics_iq_mse" else "IoU", per_frame[name]) for name in METRICS[:4]]
    score, note = iq_score(means, reference.variance, reference.note)
    return results + [MetricResult("physics_iq_score", score, HIGHER, "0..100", None, note)]


def iq_score(values: dict[str, float], variance: dict[str, float] | None, why_none: str | None = None) -> tuple[float, str | None]:
    """(score 0..100 rounded to 2 decimals, None) by the benchmark's formula, or (NaN, note) when
    the physical variance is missing or an IoU of it is 0 (the ratio is undefined)."""
    if variance is None:
        return float("nan"), f"undefined: no physical variance ({why_none or 'no second take'})"
    ious = ("physics_iq_spatiotemporal_iou", "physics_iq_spatial_iou", "physics_iq_weighted_spatial_iou")
    zero = [name for name in ious if variance[name] <= 0.0]
    if zero:
        return float("nan"), f"undefined: the two takes of the simulation share no motion ({', '.join(zero)} = 0)"
    normalised = sum(values[name] / variance[name] for name in ious) / 3.0
    score = 100.0 * (normalised - (values["physics_iq_mse"] - variance["physics_iq_mse"]))
    return round(min(max(score, 0.0), 100.0), 2), None


def _four(frames: np.ndarray, masks: np.ndarray, real_frames: np.ndarray, real_masks: np.ndarray) -> dict[str, np.ndarray | float]:
    """The four metrics of one video (frames and masks) against the real one; per-frame arrays where the metric has them."""
    return {
        "physics_iq_spatial_iou": spatial_iou(masks, real_masks),
        "physics_iq_spatiotemporal_iou": spatiotemporal_iou(masks, real_masks),
        "physics_iq_weighted_spatial_iou": weighted_spatial_iou(masks, real_masks),
        "physics_iq_mse": mse_per_frame(frames, real_frames),
    }

"""Object visibility: can a person tell each simulated object apart from its surroundings?

For every judged object o (objects.py: moving, or named by the prompt) and frame t where the
simulation shows it at >= 64 scene pixels:
1. inside_t and ring_t = objects.inside_and_ring(its seg mask): the mask eroded by 1 px, and the
   pixels 2..4 px outside it;
2. the contrast c_t = CIEDE2000 between the mean colour (linear light -> L*a*b*) of the video
   inside and in the ring, and c^_t the same on the simulation's RGB preview;
3. (o, t) is judged where the preview itself shows a contrast (c^_t >= MIN_PREVIEW_CONTRAST dE00),
   and o is visible in t when c_t >= VISIBLE_SHARE * c^_t (half the preview's contrast).
object_visibility = visible (object, frame) pairs / judged pairs; per object the same over its
frames; per frame the share of the objects judged in it. Higher is better; the preview scores 1.
A video that paints the object out, blurs it into its surroundings, or shows it somewhere else
scores low; the metric says nothing about the object's shape or colour (see object_color_error).
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import HIGHER, MetricResult
from .colour import ciede2000, linear_to_lab, region_means, srgb_to_linear
from .objects import ObjectTable, inside_and_ring, object_masks

VISIBLE_SHARE = 0.5
"""An object is visible where its contrast is at least this share of the preview's."""
MIN_PREVIEW_CONTRAST = 3.0
"""dE00: pairs where the preview itself hardly separates the object from its surroundings are not judged."""


def object_visibility(frames: np.ndarray, passes: Passes, objects: ObjectTable) -> list[MetricResult]:
    """object_visibility (share of visible object-frames). frames: uint8 [N, H, W, 3] at the
    passes' size; per_frame has N entries (NaN where no object is judged)."""
    linear, preview = srgb_to_linear(frames), srgb_to_linear(passes.rgb)
    visible = np.zeros((len(objects.objects), len(frames)), dtype=bool)
    judged = np.zeros_like(visible)
    for k, obj in enumerate(objects.objects):
        mask, large = object_masks(passes.seg, obj, objects.min_area_px)
        inside, ring = inside_and_ring(mask)
        contrast = _contrast(linear, inside, ring)
        reference = _contrast(preview, inside, ring)
        judged[k] = large & (reference >= MIN_PREVIEW_CONTRAST)
        visible[k] = judged[k] & (contrast >= VISIBLE_SHARE * reference)
    counted = judged.sum(axis=0)
    per_frame = np.where(counted > 0, visible.sum(axis=0) / np.maximum(counted, 1), np.nan)
    per_object = {obj.name: float(visible[k].sum() / judged[k].sum())
                  for k, obj in enumerate(objects.objects) if judged[k].any()}
    total = judged.sum()
    value = float(visible.sum() / total) if total else float("nan")
    note = None if total else (f"undefined: no object is shown at {objects.min_area_px:.0f} px or more with a visible "
                               "contrast in the preview" if objects.objects else "undefined: the scene has no moving or named object")
    return [MetricResult("object_visibility", value, HIGHER, "share", per_frame, note, per_object)]


def _contrast(linear: np.ndarray, inside: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """float64 [T]: dE00 between the mean colours of `inside` and `ring` per frame (NaN where either is empty)."""
    inner, _ = region_means(linear, inside)
    outer, _ = region_means(linear, ring)
    return ciede2000(linear_to_lab(inner), linear_to_lab(outer))

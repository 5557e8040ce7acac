"""Object colour error: does each object have the colour the scene gives it?

For every judged object o with a spec colour (objects.py) and frame t where the simulation shows
it at >= 64 scene pixels, on its inside (the mask eroded by 1 px, objects.inside_and_ring):
1. the object's albedo A (linear light) = its spec `color`, or with a texture the mean of
   `color` and `texture.color2` (checker and stripes cover both equally, noise blends around
   the middle);
2. the reference colour R_t = A * Y^_t / Y(A): the spec colour lit by the preview's shading, where
   Y^_t is the luminance of the preview's mean colour inside (the preview's light is grey:
   albedo x (ambient + sun), conditioning/shading.py). For an untextured object R_t is the
   preview's own mean colour;
3. e_t = the distance in the a*b* plane (hue and chroma, sqrt(da*^2 + db*^2); lightness left out)
   between L*a*b* of the video's mean colour inside and of R_t.
object_color_error = mean of e over the (object, frame) pairs; per object over its frames; per
frame over the objects judged in it. Lower is better; 0 is the spec's hue and chroma. A red ball
rendered brown, grey or green scores tens of units (the spec red vs the spec brown at equal
luminance: 53; red vs grey: its chroma, 85).
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import LOWER, MetricResult
from .colour import LUMINANCE, ab_distance, linear_to_lab, region_means, srgb_to_linear
from .objects import ObjectTable, SceneObject, inside_and_ring, object_masks


def object_color_error(frames: np.ndarray, passes: Passes, objects: ObjectTable) -> list[MetricResult]:
    """object_color_error (a*b* distance). frames: uint8 [N, H, W, 3] at the passes' size;
    per_frame has N entries (NaN where no object is judged)."""
    coloured = [obj for obj in objects.objects if obj.color is not None]
    if not coloured:
        why = "no object colours (scored without the scene)" if objects.objects else "the scene has no moving or named object"
        return [MetricResult("object_color_error", float("nan"), LOWER, "dE a*b*", None, f"undefined: {why}")]
    linear, preview = srgb_to_linear(frames), srgb_to_linear(passes.rgb)
    errors = np.full((len(coloured), len(frames)), np.nan)
    for k, obj in enumerate(coloured):
        mask, large = object_masks(passes.seg, obj, objects.min_area_px)
        inside, _ = inside_and_ring(mask)
        video_mean, _ = region_means(linear, inside)
        preview_mean, _ = region_means(preview, inside)
        error = ab_distance(linear_to_lab(video_mean), linear_to_lab(reference_colour(obj, preview_mean)))
        errors[k] = np.where(large, error, np.nan)
    judged = np.isfinite(errors)
    with np.errstate(invalid="ignore"):
        per_frame = np.where(judged.any(axis=0), np.nansum(errors, axis=0) / np.maximum(judged.sum(axis=0), 1), np.nan)
    per_object = {obj.name: float(np.nanmean(errors[k])) for k, obj in enumerate(coloured) if judged[k].any()}
    value = float(errors[judged].mean()) if judged.any() else float("nan")
    note = None if judged.any() else f"undefined: no object is shown at {objects.min_area_px:.0f} px or more"
    return [MetricResult("object_color_error", value, LOWER, "dE a*b*", per_frame, note, per_object)]


def reference_colour(obj: SceneObject, preview_mean: np.ndarray) -> np.ndarray:
    """float64 [T, 3] linear: the object's spec albedo at the luminance of the preview's mean
    colour inside it, preview_mean float64 [T, 3] linear (NaN rows stay NaN)."""
    albedo = srgb_to_linear(np.asarray(obj.color, dtype=np.float64))
    if obj.color2 is not None:
        albedo = 0.5 * (albedo + srgb_to_linear(np.asarray(obj.color2, dtype=np.float64)))
    light = preview_mean @ LUMINANCE / max(float(albedo @ LUMINANCE), 1e-6)
    return albedo[None, :] * light[:, None]

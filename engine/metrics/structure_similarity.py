"""Structure similarity: SSIM of the video's luminance against the simulation's RGB preview.

Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
structural similarity" (IEEE TIP 2004), with the paper's constants: on BT.601 luma x (video) and
y (preview) in 0..255, local statistics under a Gaussian window of sigma 1.5 px (11 x 11),
    SSIM(p) = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),
C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, population (co)variances; the frame's value is the mean
of SSIM(p) over the pixels at least 5 px from the border (where the window lies inside the
frame; scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)` gives the same). structure_similarity = the mean
over the N frames. Higher is better; 1 is the preview itself.
It rewards a video that looks like the preview in its layout of light and dark; a photographic
video of the same motion differs from the flat-shaded preview in texture and scores below 1.
"""

from __future__ import annotations

import cv2
import numpy as np

from physreel.conditioning.records import Passes

from .base import HIGHER, MetricResult, gray, shot_mean

SIGMA_PX = 1.5
WINDOW_PX = 11
C1 = (0.01 * 255.0) ** 2
C2 = (0.03 * 255.0) ** 2


def structure_similarity(frames: np.ndarray, passes: Passes) -> list[MetricResult]:
    """structure_similarity (mean SSIM). frames: uint8 [N, H, W, 3] at the passes' size; per_frame has N entries."""
    per_frame = ssim_per_frame(gray(frames), gray(passes.rgb))
    return [MetricResult("structure_similarity", shot_mean(per_frame), HIGHER, "SSIM", per_frame)]


def ssim_per_frame(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """float64 [T]: mean SSIM of each frame pair of luma x, y (float [T, H, W], 0..255)."""
    crop = WINDOW_PX // 2
    values = []
    for a, b in zip(x.astype(np.float64), y.astype(np.float64)):
        mu_a, mu_b = _window(a), _window(b)
        var_a = _window(a * a) - mu_a**2
        var_b = _window(b * b) - mu_b**2
        cov = _window(a * b) - mu_a * mu_b
        ssim = ((2 * mu_a * mu_b + C1) * (2 * cov + C2)) / ((mu_a**2 + mu_b**2 + C1) * (var_a + var_b + C2))
        inner = ssim[crop:-crop, crop:-crop] if min(ssim.shape) > 2 * crop else ssim
        values.append(inner.mean())
    return np.asarray(values, dtype=np.float64)


def _window(image: np.ndarray) -> np.ndarray:
    """The Gaussian-weighted local mean (sigma 1.5 px, 11 x 11; the border reflected)."""
    return cv2.GaussianBlur(image, (WINDOW_PX, WINDOW_PX), SIGMA_PX, borderType=cv2.BORDER_REFLECT)

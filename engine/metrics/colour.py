"""Colour science for the depiction metrics: sRGB <-> linear light, CIE L*a*b*, CIEDE2000.

Conventions: sRGB (IEC 61966-2-1) with the D65 white, as the preview is rendered
(conditioning/shading.py); linear light 0..1; L*a*b* relative to D65 (L* 0..100). Colours are
averaged in linear light (light adds linearly) and compared in L*a*b*.
"""

from __future__ import annotations

import numpy as np

SRGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
"""Linear sRGB -> CIE XYZ (D65), IEC 61966-2-1."""
D65_WHITE = SRGB_TO_XYZ.sum(axis=1)
"""XYZ of linear sRGB (1, 1, 1): (0.9505, 1.0, 1.0888)."""
LUMINANCE = SRGB_TO_XYZ[1]
"""Weights of linear R, G, B in the luminance Y."""


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """float64 [..., 3] linear light 0..1 of sRGB values 0..1 (float) or 0..255 (uint8, via a table)."""
    srgb = np.asarray(srgb)
    if srgb.dtype == np.uint8:
        return _SRGB8_TO_LINEAR.take(srgb)
    c = srgb.astype(np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_CODES = np.arange(256) / 255.0
_SRGB8_TO_LINEAR = np.where(_CODES <= 0.04045, _CODES / 12.92, ((_CODES + 0.055) / 1.055) ** 2.4)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """float64 [..., 3] CIE L*a*b* (D65) of linear sRGB [..., 3] (0..1)."""
    xyz = np.asarray(linear, dtype=np.float64) @ SRGB_TO_XYZ.T / D65_WHITE
    delta = 6.0 / 29.0
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1)


def ab_distance(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """float64 [...]: distance in the a*b* plane, sqrt(da*^2 + db*^2) = sqrt(dC*^2 + dH*^2): the
    hue and chroma part of CIE76 dE*ab, without the lightness difference."""
    d = np.asarray(lab1, dtype=np.float64)[..., 1:] - np.asarray(lab2, dtype=np.float64)[..., 1:]
    return np.hypot(d[..., 0], d[..., 1])


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """float64 [...]: CIEDE2000 colour difference dE00 of L*a*b* colours [..., 3] (kL = kC = kH = 1).

    Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula: implementation notes,
    supplementary test data, and mathematical observations" (2005), equations 1 to 17.
    """
    lab1, lab2 = np.asarray(lab1, dtype=np.float64), np.asarray(lab2, dtype=np.float64)
    # 1. chroma with a* rescaled by G
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_mean = 0.5 * (np.hypot(a1, b1) + np.hypot(a2, b2))
    g = 0.5 * (1.0 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.where(c1p == 0, 0.0, np.degrees(np.arctan2(b1, a1p)) % 360.0)
    h2p = np.where(c2p == 0, 0.0, np.degrees(np.arctan2(b2, a2p)) % 360.0)
    # 2. differences in lightness, chroma and hue
    d_l = L2 - L1
    d_c = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    d_h = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2.0))
    # 3. weights and the rotation term
    l_mean = 0.5 * (L1 + L2)
    c_mean_p = 0.5 * (c1p + c2p)
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) <= 180.0, h_sum / 2.0, np.where(h_sum < 360.0, (h_sum + 360.0) / 2.0, (h_sum - 360.0) / 2.0))
    h_mean = np.where(c1p * c2p == 0, h_sum, h_mean)
    t = (1.0 - 0.17 * np.cos(np.radians(h_mean - 30.0)) + 0.24 * np.cos(np.radians(2.0 * h_mean))
         + 0.32 * np.cos(np.radians(3.0 * h_mean + 6.0)) - 0.20 * np.cos(np.radians(4.0 * h_mean - 63.0)))
    d_theta = 30.0 * np.exp(-(((h_mean - 275.0) / 25.0) ** 2))
    r_c = 2.0 * np.sqrt(c_mean_p**7 / (c_mean_p**7 + 25.0**7))
    s_l = 1.0 + 0.015 * (l_mean - 50.0) ** 2 / np.sqrt(20.0 + (l_mean - 50.0) ** 2)
    s_c = 1.0 + 0.045 * c_mean_p
    s_h = 1.0 + 0.015 * c_mean_p * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2 + r_t * (d_c / s_c) * (d_h / s_h))


def region_means(linear: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean linear colour of each frame's region: float64 [T, 3] (NaN where empty) and the pixel
    counts int64 [T]. linear: float [T, H, W, 3]; masks: bool [T, H, W]."""
    counts = masks.sum(axis=(1, 2))
    sums = np.einsum("thw,thwc->tc", masks.astype(np.float64), linear)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts[:, None] > 0, sums / counts[:, None], np.nan)
    return means, counts

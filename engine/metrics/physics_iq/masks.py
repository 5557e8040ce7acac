"""Physics-IQ's binary motion masks (google-deepmind/physics-IQ-benchmark, code/binary_mask_generator.py).

The benchmark's procedure, per video, frame by frame:
1. grey = the frame's BT.601 luma as uint8 (cv2.cvtColor ...2GRAY), blurred by a 5 x 5 Gaussian
   (cv2.GaussianBlur, sigma from the kernel size: 1.1 px);
2. the background is a running average, started at frame 0's grey (float64) and updated with
   every later frame before it is used: avg <- 0.7 avg + 0.3 grey (cv2.accumulateWeighted, alpha 0.3);
3. mask_t = |grey_t - round(avg_t)| > 10 (uint8 difference to the average rounded and
   saturated by cv2.convertScaleAbs; cv2.threshold at 10), then opened and closed with a
   5 x 5 square (cv2.morphologyEx MORPH_OPEN, then MORPH_CLOSE);
4. frame 0's mask is empty.
The benchmark computes the masks on its videos at full resolution and compares them at a
quarter of the real video's size (cv2.resize, bilinear, kept where > 127). physreel keeps that
ratio on its own, smaller grid: each frame is enlarged MASK_SCALE = 4 times (bilinear) before
step 1, and the mask is shrunk back to the scored grid as the benchmark shrinks its masks. (It
also writes its masks as MP4 and reads them back; physreel keeps them as arrays, without that
lossy round trip.)
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_KERNEL_PX = 5
RUNNING_AVERAGE_ALPHA = 0.3
THRESHOLD = 10
MORPH_KERNEL_PX = 5
MASK_SCALE = 4
"""Masks are computed at this multiple of the size they are compared at (the benchmark: full resolution vs a quarter)."""


def motion_masks(frames: np.ndarray) -> np.ndarray:
    """bool [N, H, W]: Physics-IQ's motion mask of each frame of uint8 RGB frames [N, H, W, 3]."""
    count, height, width, _ = frames.shape
    big = (width * MASK_SCALE, height * MASK_SCALE)
    kernel = np.ones((MORPH_KERNEL_PX, MORPH_KERNEL_PX), np.uint8)
    masks = np.zeros((count, height, width), dtype=bool)
    average = None
    for t, frame in enumerate(frames):
        # 1. blurred grey at the mask scale
        grey = cv2.cvtColor(cv2.resize(frame, big, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2GRAY)
        grey = cv2.GaussianBlur(grey, (BLUR_KERNEL_PX, BLUR_KERNEL_PX), 0)
        if average is None:  # 4. frame 0 starts the average; its mask stays empty
            average = grey.astype(np.float64)
            continue
        # 2. running-average background, updated before it is used
        cv2.accumulateWeighted(grey, average, RUNNING_AVERAGE_ALPHA)
        # 3. difference, fixed threshold, open then close
        difference = cv2.absdiff(grey, cv2.convertScaleAbs(average))
        _, binary = cv2.threshold(difference, THRESHOLD, 255, cv2.THRESH_BINARY)
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel)
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)
        masks[t] = cv2.resize(binary, (width, height), interpolation=cv2.INTER_LINEAR) > 127
    return masks

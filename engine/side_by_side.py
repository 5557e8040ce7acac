"""Labelled side-by-side video: panels of equal size in a row, each with a caption bar on top."""

from __future__ import annotations

import cv2
import numpy as np

MIN_PANEL_HEIGHT = 256
"""Small panels (64x64 generations) are enlarged by an integer factor to at least this height,
so the captions stay legible; nearest-neighbour, so the pixels shown are the pixels made."""
CAPTION_HEIGHT = 28


def side_by_side(panels: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """uint8 [T, CAPTION_HEIGHT + h, n * w, 3]: each (caption, uint8 [T, h, w, 3]) panel in a row.

    All panels must have the same frame count and size (resize them first). Odd results are
    fine: conditioning.video.write_mp4 pads to even sizes.
    """
    if not panels:
        raise ValueError("side_by_side needs at least one panel")
    shapes = {frames.shape for _, frames in panels}
    if len(shapes) != 1:
        raise ValueError(f"panels differ in shape: {sorted(shapes)}; resize them to one size first")
    frames_count, height, width, _ = panels[0][1].shape
    factor = max(1, -(-MIN_PANEL_HEIGHT // height))
    columns = []
    for caption, frames in panels:
        big = frames.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else frames
        bar = np.zeros((CAPTION_HEIGHT, width * factor, 3), dtype=np.uint8)
        scale = 0.5
        (text_w, text_h), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        while text_w > width * factor - 8 and scale > 0.25:
            scale -= 0.05
            (text_w, text_h), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        origin = (max(4, (width * factor - text_w) // 2), (CAPTION_HEIGHT + text_h) // 2)
        cv2.putText(bar, caption, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        columns.append(np.concatenate([np.broadcast_to(bar, (frames_count, *bar.shape)), big], axis=1))
    return np.ascontiguousarray(np.concatenate(columns, axis=2))

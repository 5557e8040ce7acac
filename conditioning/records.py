"""The passes record: what `conditioning/` hands to `engine/`.

Every array has T = N rows, one per frame of the shot (see CONVENTIONS.md for each pass).
A pass not asked for (`--passes`) is None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PASS_NAMES = ("depth", "flow_fwd", "flow_bwd", "flow_valid", "seg", "normal", "albedo", "pose", "rgb")


@dataclass(frozen=True)
class SegEntry:
    """One row of the id table: what a seg id stands for."""

    seg_id: int
    name: str
    """Part name ('body' or 'body/link') or emitter name."""
    object_name: str
    link_name: str | None
    kind: str
    """'part' or 'particles'."""
    semantic: str | None = None
    """What it is, as an ADE20K class name (sim.spec.ade20k; the spec's `semantic` or its default);
    None in an id table made without a spec, where the seg control takes the default by name."""


@dataclass(frozen=True)
class Passes:
    """Per-frame conditioning passes of one shot, exact to the simulated geometry."""

    fps: int
    K: np.ndarray
    """float64 [3, 3] intrinsics, pixels."""
    world_to_camera: np.ndarray
    """float64 [T, 4, 4], OpenCV camera axes."""
    id_table: tuple[SegEntry, ...]
    depth: np.ndarray | None = None
    """float32 [T, H, W], planar depth along the optical axis, metres; inf where nothing is hit."""
    flow_fwd: np.ndarray | None = None
    """float32 [T, H, W, 2], (dx, dy) pixels from frame t to t+1."""
    flow_bwd: np.ndarray | None = None
    """float32 [T, H, W, 2], (dx, dy) pixels from frame t to t-1; zeros at frame 0."""
    flow_valid: np.ndarray | None = None
    """bool [T, H, W], the point behind flow_fwd is visible in frame t+1."""
    seg: np.ndarray | None = None
    """int32 [T, H, W], instance id, 0 = nothing."""
    normal: np.ndarray | None = None
    """float32 [T, H, W, 3], unit normal in camera axes (OpenCV); zeros where nothing is hit."""
    albedo: np.ndarray | None = None
    """float32 [T, H, W, 3], unlit base colour in linear light 0..1: the spec's colour or texture at the
    surface point (no shading, no shadows), the emitter's colour for particles, the sky's colour where
    nothing is hit."""
    pose: np.ndarray | None = None
    """float32 [T, P, 18, 3], OpenPose COCO-18 keypoints per figure: x, y pixels, visibility 0/1."""
    rgb: np.ndarray | None = None
    """uint8 [T, H, W, 3], the shaded preview render (sRGB)."""

    @property
    def num_frames(self) -> int:
        return int(self.world_to_camera.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        w = int(round(self.K[0, 2] * 2))
        h = int(round(self.K[1, 2] * 2))
        return w, h

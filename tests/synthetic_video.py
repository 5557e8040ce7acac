"""A synthetic ground-truth shot with exact flow, for testing the metrics without a renderer.

A textured square translates over a textured still background. Both textures are smooth
analytic functions sampled at pixel centres (x = j + 0.5, y = i + 0.5), so frames at sub-pixel
positions are exact, and the flow, occlusion, seg and depth follow in closed form.
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes, SegEntry

SIZE = 96
FRAMES = 12
SQUARE = 24.0
START = np.array([10.0, 20.0])
"""Top-left corner (x, y) of the square at frame 0, pixels."""
VELOCITY = np.array([3.0, 1.5])
"""Pixels per frame (dx, dy)."""
WRONG_VELOCITY = np.array([1.5, -1.5])
BACKGROUND_ID, OBJECT_ID = 1, 2
DYNAMIC_IDS = frozenset({OBJECT_ID})


def corners(velocity: np.ndarray = VELOCITY, frames: int = FRAMES + 1) -> np.ndarray:
    """float64 [frames, 2]: the square's top-left corner at each frame."""
    return START + np.arange(frames)[:, None] * velocity


def _background(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    base = np.stack([
        np.sin(2 * np.pi * x / 11.0 + 0.3) * np.cos(2 * np.pi * y / 13.0),
        np.sin(2 * np.pi * (x + y) / 17.0 + 1.1),
        np.cos(2 * np.pi * x / 9.0) * np.sin(2 * np.pi * y / 7.0 + 0.5),
    ], axis=-1)
    return 128.0 + 70.0 * base


def _object(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    base = np.stack([
        np.sin(2 * np.pi * u / 7.0) * np.cos(2 * np.pi * v / 8.0),
        np.cos(2 * np.pi * (u - v) / 10.0),
        np.sin(2 * np.pi * u / 12.0 + 2.0),
    ], axis=-1)
    return 128.0 + 100.0 * base


def _pixel_centres() -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(SIZE) + 0.5, np.arange(SIZE) + 0.5)


def _inside(corner: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= corner[0]) & (x < corner[0] + SQUARE) & (y >= corner[1]) & (y < corner[1] + SQUARE)


def render(corner_track: np.ndarray) -> np.ndarray:
    """uint8 [len(corner_track), SIZE, SIZE, 3]: the square at each corner over the background."""
    x, y = _pixel_centres()
    frames = []
    for corner in corner_track:
        inside = _inside(corner, x, y)[..., None]
        image = np.where(inside, _object(x - corner[0], y - corner[1]), _background(x, y))
        frames.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return np.stack(frames)


def make_passes() -> Passes:
    """The exact passes of the true motion (N = FRAMES rows), with its rgb render."""
    x, y = _pixel_centres()
    track = corners()
    inside = np.stack([_inside(c, x, y) for c in track])  # [N + 1, H, W]
    on_object = inside[:-1]
    flow_fwd = np.where(on_object[..., None], VELOCITY.astype(np.float32), np.float32(0))
    flow_bwd = np.where(on_object[..., None], -VELOCITY.astype(np.float32), np.float32(0))
    flow_bwd[0] = 0.0
    target_x, target_y = x + flow_fwd[..., 0], y + flow_fwd[..., 1]
    in_image = (target_x >= 0) & (target_x < SIZE) & (target_y >= 0) & (target_y < SIZE)
    covered_next = ~on_object & inside[1:]  # background hidden by the square in the next frame
    K = np.array([[SIZE, 0, SIZE / 2], [0, SIZE, SIZE / 2], [0, 0, 1]], dtype=np.float64)
    return Passes(
        fps=12,
        K=K,
        world_to_camera=np.repeat(np.eye(4)[None], FRAMES, axis=0),
        id_table=(SegEntry(BACKGROUND_ID, "floor", "floor", None, "part"), SegEntry(OBJECT_ID, "square", "square", None, "part")),
        depth=np.where(on_object, 2.0, 5.0).astype(np.float32),
        flow_fwd=flow_fwd.astype(np.float32),
        flow_bwd=flow_bwd.astype(np.float32),
        flow_valid=in_image & ~covered_next,
        seg=np.where(on_object, OBJECT_ID, BACKGROUND_ID).astype(np.int32),
        rgb=render(track[:-1]),
    )


def shuffled(frames: np.ndarray, seed: int = 0) -> np.ndarray:
    """The frames in a random order that keeps no consecutive pair."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(len(frames))
        if not np.any(np.diff(order) == 1):
            return frames[order]


def frozen(frames: np.ndarray) -> np.ndarray:
    """The first frame repeated."""
    return np.repeat(frames[:1], len(frames), axis=0)


def wrong_path() -> np.ndarray:
    """The same square pasted along a wrong path (WRONG_VELOCITY) over the same background."""
    return render(corners(WRONG_VELOCITY, FRAMES))


PAN_PX = 2.0
"""Image shift per frame (pixels, to the left) of the panned shot: the camera slides sideways."""
PLANE_DEPTH = 5.0
PAN_M = PAN_PX * PLANE_DEPTH / SIZE
"""Camera translation per frame along +x (metres) that shifts a plane at PLANE_DEPTH by PAN_PX."""


def render_panned(corner_track: np.ndarray) -> np.ndarray:
    """uint8 frames of the panned shot: the world (background and the square at each world corner)
    seen by a camera that slides PAN_M to the right per frame, i.e. shifted PAN_PX left per frame."""
    x, y = _pixel_centres()
    frames = []
    for t, corner in enumerate(corner_track):
        world_x = x + PAN_PX * t
        inside = _inside(corner, world_x, y)[..., None]
        image = np.where(inside, _object(world_x - corner[0], y - corner[1]), _background(world_x, y))
        frames.append(np.clip(np.rint(image), 0, 255).astype(np.uint8))
    return np.stack(frames)


def make_panned_passes() -> Passes:
    """The exact passes of the square's motion seen by the sliding camera (everything on one
    plane at PLANE_DEPTH): flow = own motion minus the camera's PAN_PX."""
    x, y = _pixel_centres()
    track = corners()
    shift = np.array([PAN_PX, 0.0])
    inside = np.stack([_inside(c, x + PAN_PX * t, y) for t, c in enumerate(track)])  # screen footprint
    on_object = inside[:-1]
    flow_fwd = np.where(on_object[..., None], VELOCITY - shift, -shift).astype(np.float32)
    flow_bwd = np.where(on_object[..., None], -(VELOCITY - shift), shift).astype(np.float32)
    flow_bwd[0] = 0.0
    world_to_camera = np.repeat(np.eye(4)[None], FRAMES, axis=0)
    world_to_camera[:, 0, 3] = -PAN_M * np.arange(FRAMES)
    K = np.array([[SIZE, 0, SIZE / 2], [0, SIZE, SIZE / 2], [0, 0, 1]], dtype=np.float64)
    return Passes(
        fps=12,
        K=K,
        world_to_camera=world_to_camera,
        id_table=(SegEntry(BACKGROUND_ID, "floor", "floor", None, "part"), SegEntry(OBJECT_ID, "square", "square", None, "part")),
        depth=np.full(on_object.shape, PLANE_DEPTH, np.float32),
        flow_fwd=flow_fwd,
        flow_bwd=flow_bwd,
        flow_valid=np.ones(on_object.shape, bool),
        seg=np.where(on_object, OBJECT_ID, BACKGROUND_ID).astype(np.int32),
        rgb=render_panned(track[:-1]),
    )

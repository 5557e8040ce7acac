"""Camera-motion compensation for the motion masks.

Frame differencing marks what changes on screen. With a still camera that is what moves in the
world; with a moving camera it is also every textured pixel the camera sweeps past, so a video
that flickers everywhere would match the simulation's "everything moves" mask. When the camera
moves, the masks therefore compare motion relative to the world: frame t+1 is first carried
back to frame t along the flow a motionless world would have (`camera_flow`, exact from the
depth pass, K and the camera poses), and the simulation's mask keeps the pixels whose own flow
differs from that.
"""

from __future__ import annotations

import cv2
import numpy as np

from physreel.conditioning.records import Passes


def camera_moves(passes: Passes) -> bool:
    """Whether any frame's world_to_camera differs from the first's (to 1e-9)."""
    return not np.allclose(passes.world_to_camera, passes.world_to_camera[:1], rtol=0.0, atol=1e-9)


def camera_flow(passes: Passes, t: int, u: int) -> np.ndarray:
    """float64 [H, W, 2]: where the point seen at each pixel centre of frame t would appear in
    frame u if the world stood still and only the camera moved, minus the pixel centre (dx, dy).

    Points come from the depth pass (planar depth along the optical axis); a pixel that sees
    nothing (inf) is a point at infinity, moved by the camera's rotation only. NaN where the
    point falls behind the camera of frame u.
    """
    height, width = passes.depth.shape[1:]
    x, y = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    rays = np.stack([x, y, np.ones_like(x)], axis=-1) @ np.linalg.inv(passes.K).T  # z = 1
    relative = passes.world_to_camera[u] @ np.linalg.inv(passes.world_to_camera[t])
    rotation, translation = relative[:3, :3], relative[:3, 3]
    depth = passes.depth[t].astype(np.float64)[..., None]
    finite = np.isfinite(depth)
    moved = rays @ rotation.T * np.where(finite, depth, 1.0) + np.where(finite, translation, 0.0)
    in_front = moved[..., 2] > 1e-9
    projected = moved @ passes.K.T
    with np.errstate(divide="ignore", invalid="ignore"):
        pixel = projected[..., :2] / projected[..., 2:3]
    flow = pixel - np.stack([x, y], axis=-1)
    flow[~in_front] = np.nan
    return flow


def sample_nearest(values: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values [H, W, ...] at the pixel nearest to each p + flow, and bool [H, W]: inside the frame.

    Outside (or NaN flow) the returned value is the pixel's own (masked out by the caller).
    """
    height, width = values.shape[:2]
    rows, cols = np.indices((height, width))
    with np.errstate(invalid="ignore"):
        target_col = np.floor(cols + 0.5 + flow[..., 0])
        target_row = np.floor(rows + 0.5 + flow[..., 1])
    inside = (target_col >= 0) & (target_col < width) & (target_row >= 0) & (target_row < height)
    target_col = np.where(inside, target_col, cols).astype(np.int64)
    target_row = np.where(inside, target_row, rows).astype(np.int64)
    return values[target_row, target_col], inside


def bilinear_support(flow: np.ndarray) -> np.ndarray:
    """bool [H, W]: p + flow lies within the bilinear support of the frame (index coordinates
    0 .. W - 1 and 0 .. H - 1); False for NaN flow."""
    height, width = flow.shape[:2]
    rows, cols = np.indices((height, width))
    with np.errstate(invalid="ignore"):
        x, y = cols + flow[..., 0], rows + flow[..., 1]
        return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def sample_bilinear(image: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 image [H, W] sampled bilinearly at each p + flow, and bilinear_support(flow)."""
    height, width = image.shape
    cols, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = (cols + np.nan_to_num(flow[..., 0], nan=-1e6)).astype(np.float32)
    map_y = (rows + np.nan_to_num(flow[..., 1], nan=-1e6)).astype(np.float32)
    sampled = cv2.remap(image.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return sampled, bilinear_support(flow)

"""pybullet's own camera for a CameraTrack: the reference renders that tests and benchmarks compare to.

pybullet (OpenGL) looks down -Z with +Y up; physreel's cameras use OpenCV axes (+Z forward, +Y
down), so the view matrix is diag(1, -1, -1, 1) @ world_to_camera, passed column-major. The
projection is computeProjectionMatrixFOV with the vertical field of view of K. The depth buffer
holds z_ndc in [0, 1]; planar depth = far near / (far - (far - near) z_ndc).
"""

from __future__ import annotations

import numpy as np
import pybullet as p

OPENCV_TO_OPENGL = np.diag([1.0, -1.0, -1.0, 1.0])


def view_matrix(world_to_camera: np.ndarray) -> list[float]:
    """pybullet view matrix (16 floats, column-major) of one OpenCV world_to_camera [4, 4]."""
    return list((OPENCV_TO_OPENGL @ np.asarray(world_to_camera, np.float64)).T.reshape(-1))


def projection_matrix(K: np.ndarray, width: int, height: int, near: float, far: float) -> list[float]:
    """pybullet projection matrix of a pinhole K with square pixels and a centred principal point."""
    fov_deg = float(np.degrees(2.0 * np.arctan((height / 2.0) / K[1, 1])))
    return list(p.computeProjectionMatrixFOV(fov=fov_deg, aspect=width / height, nearVal=near, farVal=far))


def linear_depth(depth_buffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """Planar depth (m) from pybullet's depth buffer; the far plane (nothing hit) becomes inf."""
    buffer = np.asarray(depth_buffer, np.float64)
    depth = far * near / (far - (far - near) * buffer)
    return np.where(buffer >= 1.0 - 1e-7, np.inf, depth)


def render(client: int, K: np.ndarray, world_to_camera: np.ndarray, width: int, height: int,
           near: float = 0.05, far: float = 100.0):
    """pybullet's TinyRenderer image of the live world: (rgb uint8 [H,W,3], planar depth [H,W], seg raw int32 [H,W]).

    seg is pybullet's objectUniqueId + ((linkIndex + 1) << 24), -1 for nothing.
    """
    _, _, rgba, depth_buffer, seg = p.getCameraImage(
        width, height, view_matrix(world_to_camera), projection_matrix(K, width, height, near, far),
        renderer=p.ER_TINY_RENDERER, flags=p.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX, physicsClientId=client)
    rgb = np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3]
    depth = linear_depth(np.asarray(depth_buffer).reshape(height, width), near, far)
    return rgb, depth, np.asarray(seg, np.int64).reshape(height, width).astype(np.int32)

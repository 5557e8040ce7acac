"""OpenPose COCO-18 keypoints of articulated figures, from the simulated link poses.

A figure is a body whose links are named like pybullet_data's humanoid/humanoid.urdf (neck,
right_/left_ shoulder, elbow, wrist, hip, knee, ankle). Joint keypoints are the links' joint
positions (Part.frame_origin, the link's URDF frame origin) at the simulated poses. The face
keypoints come from the head geometry (the `head` link if any, else the `neck` link, whose
mesh is the head in humanoid.urdf): its centre c and radius r, and the facing direction,
taken in the head's own frame from frame 0's body (up = neck - mid-hip, right = right - left
shoulder, forward = up x right), so the face turns with the head afterwards:
nose = c + r f; eyes = c + r unit(0.9 f + 0.25 u +- 0.35 s); ears = c + r unit(-0.1 f +- s)
(s = the figure's right for the right-side points).

Visibility (1/0): in front of the camera, inside the image, not hidden by another object (the
nearest pixel shows this figure, or nothing nearer than 98 % of the keypoint's depth), and for
face points the outward direction makes less than ~107 degrees with the direction to the camera.
"""

from __future__ import annotations

import numpy as np

from physreel.sim.records import Shot

from .geometry import quaternion_to_matrix

COCO18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye", "left_eye",
    "right_ear", "left_ear",
)
JOINT_LINKS = {
    1: "neck", 2: "right_shoulder", 3: "right_elbow", 4: "right_wrist", 5: "left_shoulder", 6: "left_elbow",
    7: "left_wrist", 8: "right_hip", 9: "right_knee", 10: "right_ankle", 11: "left_hip", 12: "left_knee", 13: "left_ankle",
}
"""COCO-18 index -> the humanoid.urdf link whose joint position is that keypoint."""
FACE_DIRECTIONS = {0: (1.0, 0.0, 0.0), 14: (0.9, 0.25, 0.35), 15: (0.9, 0.25, -0.35), 16: (-0.1, 0.0, 1.0), 17: (-0.1, 0.0, -1.0)}
"""COCO-18 index -> (forward, up, right) weights of the face point's direction from the head centre."""
REQUIRED_LINKS = frozenset({"neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip"})
FACE_VISIBLE_COSINE = -0.3
"""A face point counts as seen while its outward direction is within ~107 degrees of the view ray
(ears at the silhouette of a frontal face stay visible, the nose of a head seen from behind does not)."""
OCCLUSION_REL_TOL = 0.02
"""A keypoint counts as hidden when something of another object is nearer by more than this fraction of its depth."""


def figures(shot: Shot) -> list[dict[str, int]]:
    """Each figure in the shot as {link name: part index}, in part order of their bodies."""
    by_object: dict[str, dict[str, int]] = {}
    for index, part in enumerate(shot.parts):
        if part.link_name is not None:
            by_object.setdefault(part.object_name, {})[part.link_name] = index
    return [links for links in by_object.values() if REQUIRED_LINKS <= links.keys()]


def figure_keypoints(shot: Shot, K: np.ndarray, world_to_camera: np.ndarray, width: int, height: int,
                     depth: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """float32 [T, P, 18, 3]: x, y (pixels, OpenCV) and visibility of each figure's keypoints per frame.

    world_to_camera [T, 4, 4], depth/seg [T, H, W] the rendered passes used for occlusion.
    """
    frames = world_to_camera.shape[0]
    found = figures(shot)
    result = np.zeros((frames, len(found), 18, 3), np.float32)
    rotations = quaternion_to_matrix(shot.trajectory.orientation[:frames])  # [T, B, 3, 3]
    positions = np.asarray(shot.trajectory.position[:frames], np.float64)
    for figure_index, links in enumerate(found):
        world, facing = _keypoints_world(shot, links, rotations, positions)  # [T, 18, 3], [T, 18, 3] or nan
        camera = np.einsum("tij,tkj->tki", world_to_camera[:, :3, :3], world) + world_to_camera[:, None, :3, 3]
        z = camera[..., 2]
        ahead = z > 1e-9
        safe_z = np.where(ahead, z, 1.0)
        x = K[0, 0] * camera[..., 0] / safe_z + K[0, 2]
        y = K[1, 1] * camera[..., 1] / safe_z + K[1, 2]
        inside = ahead & (x >= 0) & (x < width) & (y >= 0) & (y < height) & np.isfinite(x) & np.isfinite(y)
        column = np.clip(np.nan_to_num(x), 0, width - 1).astype(np.intp)
        row = np.clip(np.nan_to_num(y), 0, height - 1).astype(np.intp)
        frame_index = np.arange(frames)[:, None]
        seen_seg = seg[frame_index, row, column]
        seen_depth = depth[frame_index, row, column]
        own_ids = np.array([shot.parts[i].seg_id for i in links.values()])
        unhidden = np.isin(seen_seg, own_ids) | (seen_depth >= z * (1 - OCCLUSION_REL_TOL))
        has_facing = np.isfinite(facing).all(axis=-1)
        to_camera = _camera_centres(world_to_camera)[:, None, :] - world
        to_camera /= np.maximum(np.linalg.norm(to_camera, axis=-1, keepdims=True), 1e-12)
        facing_dot = np.einsum("tki,tki->tk", np.nan_to_num(facing), np.nan_to_num(to_camera))
        facing_camera = np.where(has_facing, facing_dot > FACE_VISIBLE_COSINE, True)
        valid = np.isfinite(world).all(axis=-1)
        visible = inside & unhidden & facing_camera & valid
        result[:, figure_index, :, 0] = np.where(ahead & valid, x, 0.0)
        result[:, figure_index, :, 1] = np.where(ahead & valid, y, 0.0)
        result[:, figure_index, :, 2] = visible
    return result


def _camera_centres(world_to_camera: np.ndarray) -> np.ndarray:
    return -np.einsum("tji,tj->ti", world_to_camera[:, :3, :3], world_to_camera[:, :3, 3])


def _keypoints_world(shot: Shot, links: dict[str, int], rotations, positions) -> tuple[np.ndarray, np.ndarray]:
    """World keypoints [T, 18, 3] (nan for a missing link) and, for face points, outward normals [T, 18, 3] (nan else)."""
    frames = rotations.shape[0]
    world = np.full((frames, 18, 3), np.nan)
    facing = np.full((frames, 18, 3), np.nan)
    for keypoint, link in JOINT_LINKS.items():
        if link in links:
            world[:, keypoint] = _joint_world(shot, links[link], rotations, positions)
    head = links.get("head", links["neck"])
    centre, radius = _head_sphere(shot.parts[head])
    forward, up, right = _head_axes(shot, links, head, rotations, positions)
    head_rotation, head_position = rotations[:, head], positions[:, head]
    for keypoint, (wf, wu, wr) in FACE_DIRECTIONS.items():
        direction = wf * forward + wu * up + wr * right
        direction /= np.linalg.norm(direction)
        local = centre + radius * direction
        world[:, keypoint] = head_rotation @ local + head_position
        facing[:, keypoint] = head_rotation @ direction
    return world, facing


def _joint_world(shot: Shot, part_index: int, rotations, positions) -> np.ndarray:
    """World position [T, 3] of a link's joint (its URDF frame origin)."""
    origin = np.asarray(shot.parts[part_index].frame_origin, np.float64)
    return rotations[:, part_index] @ origin + positions[:, part_index]


def _head_sphere(part) -> tuple[np.ndarray, float]:
    """Centre (part-local) and radius of the head: the bounding box of the head link's meshes."""
    vertices = np.concatenate([np.asarray(m.vertices, np.float64).reshape(-1, 3) for m in part.meshes]) if part.meshes else np.zeros((1, 3))
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    return (low + high) / 2.0, float(np.mean(high - low) / 2.0)


def _head_axes(shot: Shot, links, head: int, rotations, positions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit forward, up, right of the figure in the head part's local frame, from frame 0's skeleton."""
    at0 = {name: _joint_world(shot, index, rotations[:1], positions[:1])[0] for name, index in links.items()}
    up = at0["neck"] - (at0["right_hip"] + at0["left_hip"]) / 2.0
    right = at0["right_shoulder"] - at0["left_shoulder"]
    up /= np.linalg.norm(up)
    right -= up * (right @ up)
    right /= np.linalg.norm(right)
    forward = np.cross(up, right)
    to_local = rotations[0, head].T
    return to_local @ forward, to_local @ up, to_local @ right

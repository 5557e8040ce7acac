"""`physreel batch --export-dataset`: a shot's passes in the layout Kubric's MOVi datasets use.

Reads what the passes stage wrote (passes.npz, trajectory.npz, meta.json at the camera's
resolution) and writes, per frame t (`%05d`), the files a Kubric worker writes, with the value
encodings of MOVi (docs/batch.md, "Dataset export", lists every one):

  rgba_00000.png            uint8 RGBA, the simulation's RGB preview, alpha 255
  depth_00000.png           uint16, distance from the camera centre (not planar depth), scaled to
                            metadata.depth_range; 65535 where nothing is hit (segmentation 0)
  forward_flow_00000.png    uint16, 3 channels (delta_row, delta_column, 0), pixels, scaled to
  backward_flow_00000.png   metadata.forward_flow_range / backward_flow_range
  segmentation_00000.png    uint8 (uint16 above 255 ids) instance id, 0 = nothing (physreel's seg ids)
  normal_00000.png          uint16 RGB, world-space unit normal n as 65535 (n + 1) / 2
  flow_valid_00000.png      uint8, 255 where the forward flow's point is visible in frame t+1 (physreel's addition)
  metadata.json             metadata, camera (Kubric's keys, plus K and world_to_camera), instances
  data_ranges.json          the ranges again, as Kubric's raw worker writes them

This is the one place physreel's conventions are converted to Kubric's: planar depth to
distance, (dx, dy) flow to (delta_row, delta_column), camera-axis normals to world axes, and
the OpenCV camera pose to Blender's camera quaternion (w, x, y, z; the camera looks down -Z, +Y up).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from physreel.sim.files import write_json

SENSOR_WIDTH_MM = 32.0
"""Kubric's default camera sensor width; focal_length is given in mm on it."""
_OPENCV_TO_BLENDER = np.diag([1.0, -1.0, -1.0])


def export_shot(passes_dir: Path, out: Path) -> dict[str, Any]:
    """Write the Kubric-like files of the shot whose passes stage folder is `passes_dir` into `out`;
    returns the shot's `metadata` block."""
    with np.load(passes_dir / "passes.npz") as npz:
        arrays = {name: npz[name] for name in npz.files}
    with np.load(passes_dir / "trajectory.npz") as npz:
        trajectory = {name: npz[name] for name in npz.files}
    meta = json.loads((passes_dir / "meta.json").read_text())
    section = meta["passes"]
    K = np.asarray(section["K"], dtype=np.float64)
    world_to_camera = np.asarray(section["world_to_camera"], dtype=np.float64)
    frames, (width, height) = int(section["frames"]), section["resolution"]
    out.mkdir(parents=True, exist_ok=True)

    distance = planar_to_distance(arrays["depth"], K)
    depth_range = _write_scaled(out, "depth", distance, np.isfinite(distance))
    ranges = {"depth": depth_range}
    for name, key in (("forward_flow", "flow_fwd"), ("backward_flow", "flow_bwd")):
        ranges[name] = _write_scaled(out, name, arrays[key][..., ::-1], None)  # (dx, dy) -> (delta_row, delta_column)
    seg = arrays["seg"]
    seg_dtype = np.uint8 if seg.max(initial=0) <= 255 else np.uint16
    for t in range(frames):
        rgba = np.dstack([arrays["rgb"][t], np.full((height, width), 255, np.uint8)])
        _png(out / f"rgba_{t:05d}.png", rgba)
        _png(out / f"segmentation_{t:05d}.png", seg[t].astype(seg_dtype))
        normal = camera_to_world_normals(arrays["normal"][t], world_to_camera[t])
        _png(out / f"normal_{t:05d}.png", np.round((normal + 1.0) / 2.0 * 65535).astype(np.uint16))
        _png(out / f"flow_valid_{t:05d}.png", arrays["flow_valid"][t].astype(np.uint8) * 255)
    metadata = {
        "num_frames": frames,
        "width": width,
        "height": height,
        "fps": int(section["fps"]),
        "num_instances": len(section["id_table"]),
        "depth_range": [depth_range["min"], depth_range["max"]],
        "forward_flow_range": [ranges["forward_flow"]["min"], ranges["forward_flow"]["max"]],
        "backward_flow_range": [ranges["backward_flow"]["min"], ranges["backward_flow"]["max"]],
        "spec_hash": meta["spec_hash"],
        "source": "physreel",
    }
    write_json(out / "metadata.json", {
        "metadata": metadata,
        "camera": camera_info(K, world_to_camera, width),
        "instances": _instances(trajectory, section["id_table"], seg, meta["spec"], frames),
    })
    write_json(out / "data_ranges.json", ranges)
    return metadata


def planar_to_distance(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """float32 [T, H, W]: distance from the camera centre to the point each pixel centre sees
    (Kubric's depth), from planar depth z: z * |((u - cx) / fx, (v - cy) / fy, 1)|; inf stays inf."""
    height, width = depth.shape[1:]
    u = (np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]
    v = (np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]
    scale = np.sqrt(1.0 + u[None, :] ** 2 + v[:, None] ** 2)
    return (depth * scale[None]).astype(np.float32)


def camera_to_world_normals(normal: np.ndarray, world_to_camera: np.ndarray) -> np.ndarray:
    """[H, W, 3] normals from OpenCV camera axes to world axes; a zero normal (nothing hit) stays zero."""
    rotation = world_to_camera[:3, :3]
    return normal @ rotation  # n_world = R^T n_camera, row vectors


def camera_info(K: np.ndarray, world_to_camera: np.ndarray, width: int) -> dict[str, Any]:
    """Kubric's camera block: focal_length (mm on a 32 mm sensor), sensor_width, field_of_view
    (horizontal, radians), positions [T, 3] (m, world) and quaternions [T, 4] (w, x, y, z: Blender
    camera to world); plus K (pixels) and world_to_camera [T, 4, 4] (OpenCV axes) as physreel writes them."""
    rotations = world_to_camera[:, :3, :3]
    positions = -np.einsum("tji,tj->ti", rotations, world_to_camera[:, :3, 3])
    camera_to_world = np.transpose(rotations, (0, 2, 1)) @ _OPENCV_TO_BLENDER
    xyzw = Rotation.from_matrix(camera_to_world).as_quat()
    fx = float(K[0, 0])
    return {
        "focal_length": fx * SENSOR_WIDTH_MM / width,
        "sensor_width": SENSOR_WIDTH_MM,
        "field_of_view": float(2.0 * np.arctan(width / (2.0 * fx))),
        "positions": positions,
        "quaternions": xyzw[:, [3, 0, 1, 2]],
        "K": K,
        "world_to_camera": world_to_camera,
    }


def _instances(trajectory: dict[str, np.ndarray], id_table: list[dict], seg: np.ndarray, spec: dict, frames: int) -> list[dict]:
    """One entry per seg id: its name, the frames' poses and velocities (rigid parts), visibility."""
    rows = {str(name): index for index, name in enumerate(trajectory["part_names"])}
    materials = {obj["name"]: obj.get("material", {}) for obj in spec.get("objects", [])}
    instances = []
    for entry in id_table:
        item: dict[str, Any] = {"segmentation_id": entry["seg_id"], "name": entry["name"], "object": entry["object"],
                                "link": entry["link"], "kind": entry["kind"],
                                "visibility": [int(n) for n in (seg == entry["seg_id"]).sum(axis=(1, 2))]}
        row = rows.get(entry["name"])
        if row is not None:
            xyzw = trajectory["orientation"][:frames, row]
            item.update(positions=trajectory["position"][:frames, row], quaternions=xyzw[:, [3, 0, 1, 2]],
                        velocities=trajectory["linear_velocity"][:frames, row],
                        angular_velocities=trajectory["angular_velocity"][:frames, row])
        template = next((name for name in materials if entry["object"] == name or entry["object"].startswith(name + "_")), None)
        if template is not None:
            item.update(friction=materials[template].get("friction"), restitution=materials[template].get("restitution"))
        instances.append(item)
    return instances


def _write_scaled(out: Path, name: str, data: np.ndarray, finite: np.ndarray | None) -> dict[str, float]:
    """Write `data` [T, H, W, C?] per frame as uint16 PNGs scaled to [min, max] over the shot (Kubric's
    encoding); pixels outside `finite` are 65535. Returns {"min", "max"}."""
    values = data[finite] if finite is not None else data
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    span = high - low if high > low else 1.0
    scaled = np.round((np.clip(np.nan_to_num(data, posinf=high, neginf=low), low, high) - low) * 65535.0 / span)
    encoded = scaled.astype(np.uint16)
    if finite is not None:
        encoded[~finite] = 65535
    for t, frame in enumerate(encoded):
        if frame.ndim == 3 and frame.shape[-1] == 2:  # Kubric pads two-channel images with a zero channel
            frame = np.dstack([frame, np.zeros(frame.shape[:2], np.uint16)])
        _png(out / f"{name}_{t:05d}.png", frame)
    return {"min": low, "max": high}


def _png(path: Path, image: np.ndarray) -> None:
    """Write a PNG; colour images are given RGB(A) and written in OpenCV's BGR(A) order."""
    if image.ndim == 3:
        image = image[..., [2, 1, 0, 3]] if image.shape[-1] == 4 else image[..., ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(image)):
        raise OSError(f"cannot write {path}")

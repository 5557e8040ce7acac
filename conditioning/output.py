"""Write a shot's passes: passes.npz, control/<kind>/%05d.png, preview/<pass>.mp4, preview/overview.mp4,
and the `passes` section of meta.json. Every file appears complete under its final name or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from physreel.sim.files import update_json, write_npz
from physreel.sim.records import Shot

from physreel.sim.spec.ade20k import ADE20K_INDEX

from .control import CONTROL_KINDS, control_image, seg_semantic
from .records import PASS_NAMES, Passes
from .video import write_mp4, write_png_sequence
from .visibility import DEPTH_REL_TOL

CONTROL_NEEDS = {"depth": "depth", "flow": "flow_fwd", "seg": "seg", "normal": "normal", "edges": "depth", "pose": "pose", "albedo": "albedo"}
"""The pass each control kind is made from (edges also use normal and seg when present)."""
OVERVIEW_TILES = ("rgb", "depth", "flow", "seg", "pose")


def available_controls(passes: Passes) -> list[str]:
    """Control kinds whose source pass was rendered (pose only when the shot has a figure)."""
    kinds = [kind for kind in CONTROL_KINDS if getattr(passes, CONTROL_NEEDS[kind]) is not None]
    if "pose" in kinds and passes.pose.shape[1] == 0:
        kinds.remove("pose")
    return kinds


def write_passes(out_dir: str | Path, shot: Shot, passes: Passes,
                 controls: Sequence[str] | Mapping[str, Mapping] | None = None, *, previews: bool = True) -> dict:
    """Write the passes of `shot` under `out_dir`; returns the `passes` section added to meta.json.

    controls: control kinds to write (default: every kind whose pass exists), or a mapping
    kind -> options for `control_image` (e.g. {"flow": {"scope": "frame"}}).
    previews: also write preview/<pass>.mp4 and preview/overview.mp4.
    """
    out_dir = Path(out_dir)
    options = _control_options(passes, controls)
    # 1. the float arrays
    arrays = {name: getattr(passes, name) for name in PASS_NAMES if getattr(passes, name) is not None}
    write_npz(out_dir / "passes.npz", **arrays)
    # 2. the control images
    images = {kind: control_image(passes, kind, **kind_options) for kind, kind_options in options.items()}
    for kind, frames in images.items():
        write_png_sequence(out_dir / "control" / kind, frames)
    # 3. the previews a person watches
    preview_files = write_previews(out_dir / "preview", passes, images) if previews else []
    # 4. meta.json
    section = passes_meta(shot, passes, options, preview_files, out_dir)
    update_json(out_dir / "meta.json", {"passes": section})
    return section


def _control_options(passes: Passes, controls) -> dict[str, dict]:
    if controls is None:
        return {kind: {} for kind in available_controls(passes)}
    if isinstance(controls, Mapping):
        chosen = {str(kind): dict(opts or {}) for kind, opts in controls.items()}
    else:
        chosen = {str(kind): {} for kind in controls}
    unknown = [kind for kind in chosen if kind not in CONTROL_KINDS]
    if unknown:
        raise ValueError(f"unknown control {', '.join(map(repr, unknown))}; choose from {', '.join(CONTROL_KINDS)}")
    return chosen


def write_previews(directory: Path, passes: Passes, images: dict[str, np.ndarray]) -> list[str]:
    """preview/<pass>.mp4 for every rendered pass (control-image colouring; rgb as rendered) and
    preview/overview.mp4 tiling RGB, depth, flow, seg and pose. Returns the written file names."""
    fps = passes.fps
    frames_by_name: dict[str, np.ndarray] = {}
    if passes.rgb is not None:
        frames_by_name["rgb"] = passes.rgb
    for kind in CONTROL_KINDS:
        if kind in images:
            frames_by_name[kind] = images[kind]
        elif getattr(passes, CONTROL_NEEDS[kind]) is not None and not (kind == "pose" and passes.pose.shape[1] == 0):
            frames_by_name[kind] = control_image(passes, kind)
    if passes.flow_bwd is not None:
        frames_by_name["flow_bwd"] = control_image(passes, "flow", direction="bwd")
    if passes.flow_valid is not None:
        frames_by_name["flow_valid"] = np.repeat((passes.flow_valid.astype(np.uint8) * 255)[..., None], 3, axis=-1)
    written = []
    for name, frames in frames_by_name.items():
        write_mp4(directory / f"{name}.mp4", frames, fps)
        written.append(f"preview/{name}.mp4")
    tiles = [(name, frames_by_name[name]) for name in OVERVIEW_TILES if name in frames_by_name]
    if tiles:
        write_mp4(directory / "overview.mp4", overview_frames(tiles), fps)
        written.append("preview/overview.mp4")
    return written


def overview_frames(tiles: list[tuple[str, np.ndarray]], columns: int = 3) -> np.ndarray:
    """uint8 [T, rows*H, columns*W, 3]: the tiles in a grid, each labelled in its top-left corner."""
    import cv2

    count, height, width = tiles[0][1].shape[:3]
    rows = -(-len(tiles) // columns)
    columns = min(columns, len(tiles))
    grid = np.zeros((count, rows * height, columns * width, 3), np.uint8)
    scale = max(0.35, height / 600.0)
    for index, (name, frames) in enumerate(tiles):
        r, c = divmod(index, columns)
        block = frames.copy()
        for frame in block:
            cv2.putText(frame, name, (6, int(22 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(frame, name, (6, int(22 * scale / 0.6)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        grid[:, r * height:(r + 1) * height, c * width:(c + 1) * width] = block
    return grid


def passes_meta(shot: Shot, passes: Passes, options: dict[str, dict], preview_files: list[str], out_dir: Path) -> dict:
    """The `passes` section of meta.json: what was rendered, at what camera, and every convention used."""
    width, height = passes.size
    return {
        "resolution": [width, height],
        "fps": passes.fps,
        "frames": passes.num_frames,
        "K": passes.K,
        "world_to_camera": passes.world_to_camera,
        "passes": [name for name in PASS_NAMES if getattr(passes, name) is not None],
        "files": {
            "npz": "passes.npz",
            "controls": {kind: f"control/{kind}/%05d.png" for kind in options},
            "previews": preview_files,
        },
        "controls": {kind: opts for kind, opts in options.items()},
        "id_table": [
            {"seg_id": e.seg_id, "name": e.name, "object": e.object_name, "link": e.link_name, "kind": e.kind,
             "semantic": seg_semantic(e), "ade20k_index": ADE20K_INDEX[seg_semantic(e)]}
            for e in passes.id_table
        ],
        "figures": int(passes.pose.shape[1]) if passes.pose is not None else 0,
        "conventions": {
            "pixels": "OpenCV: x right, y down, origin at the top-left corner; pixel (i, j) sampled at its centre (j + 0.5, i + 0.5)",
            "camera_axes": "OpenCV: +X right, +Y down, +Z forward",
            "depth": "planar depth along the optical axis, metres, inf where nothing is hit",
            "flow": "(dx, dy) pixels from frame t to t+1 (flow_fwd) / t-1 (flow_bwd, zeros at frame 0); exact rigid motion; sky: point at infinity",
            "flow_valid": f"landing pixel inside the image and showing the same seg id at the same depth (|dz| <= {DEPTH_REL_TOL} z + neighbour depth step)",
            "control_depth": "inverse depth min-max normalised (per frame unless options say scope 'shot'), near = white, floored (MiDaS annotators)",
            "control_flow": "Middlebury colour wheel, white = still; frame t shows t -> t+1 unless options say align 'target' (t-1 -> t, VACE)",
            "control_seg": "ADE20K palette by each id's ADE20K class (id_table 'semantic'); id 0 = sky colour",
            "control_normal": "RGB = 255 (1 - n) / 2, n in OpenCV camera axes (normalbae: R left, G up, B towards the viewer)",
            "control_pose": "controlnet_aux draw_bodypose, COCO-18, RGB (channel_order 'bgr': VACE's reversed channels)",
            "control_edges": "exact 1-px lines, white on black: seg boundaries, depth breaks, creases, texture steps, on the nearer pixel",
            "albedo": "unlit base colour, linear light 0..1 (spec colour or texture, particle colour, sky colour); no shading or shadows",
            "control_albedo": "the albedo pass sRGB-encoded to 8 bits",
        },
    }

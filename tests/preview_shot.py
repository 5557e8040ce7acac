"""A real physreel shot for metric tests: a checker-textured box sliding over a checkered floor,
simulated by sim/ and rendered by conditioning/ (RGB preview + exact passes), plus the same scene
without the box (the background plate) for pasting the box along a wrong path."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PASSES = ["depth", "flow_fwd", "flow_bwd", "flow_valid", "seg", "rgb"]

SCENE = """\
shot: {name: slide, duration: 0.5, fps: 24, seed: 1, prompt: a textured box slides on a checkered floor}
camera: {resolution: [128, 128], fov_deg: 40, position: [0.0, -1.8, 0.9], look_at: [0.0, 0.0, 0.15]}
objects:
  - name: floor
    shape: plane
    color: [0.8, 0.8, 0.75]
    texture: {kind: checker, scale: 0.1, color2: [0.2, 0.25, 0.3]}
"""
BOX = """\
  - name: box
    shape: box
    size: [0.35, 0.35, 0.35]
    position: [-0.4, 0.0, 0.175]
    velocity: [1.5, 0.0, 0.0]
    color: [0.9, 0.2, 0.1]
    texture: {kind: checker, scale: 0.05, color2: [0.2, 0.1, 0.6]}
    material: {friction: 0.2}
"""


def write_scene(directory: Path, with_box: bool = True) -> Path:
    path = Path(directory) / ("slide.yaml" if with_box else "plate.yaml")
    path.write_text(SCENE + (BOX if with_box else ""))
    return path


def simulate_and_render(path: Path):
    """(shot, passes) of the scene at `path`."""
    from physreel.conditioning.render import render_passes
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import load_scene

    shot = simulate(load_scene(path))
    return shot, render_passes(shot, passes=PASSES)


def paste_along(passes, plate: np.ndarray, object_ids, shift_px: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3]: the plate with each frame's object pixels moved by shift_px[t] (int (dx, dy))."""
    frames = plate.copy()
    height, width = plate.shape[1:3]
    for t, (dx, dy) in enumerate(np.asarray(shift_px, dtype=np.int64)):
        rows, cols = np.nonzero(np.isin(passes.seg[t], list(object_ids)))
        target_r, target_c = rows + dy, cols + dx
        inside = (target_r >= 0) & (target_r < height) & (target_c >= 0) & (target_c < width)
        frames[t, target_r[inside], target_c[inside]] = passes.rgb[t, rows[inside], cols[inside]]
    return frames

"""The small shot the backend tests generate from: a red ball thrown over a brown floor, 32x32,
9 frames at 16 fps (4k + 1, so wan-vace keeps it whole and the tiny CogVideoX transformer's
sample_frames fits it)."""

from __future__ import annotations

SCENE = {
    "shot": {"duration": 0.5625, "fps": 16, "seed": 3, "prompt": "a red ball", "negative_prompt": "blue"},
    "camera": {"resolution": [32, 32], "fov_deg": 45, "position": [0.0, -3.0, 0.8], "look_at": [0.0, 0.0, 0.55]},
    "objects": [
        {"name": "floor", "shape": "plane", "color": [0.6, 0.4, 0.2]},
        {"name": "ball", "shape": "sphere", "radius": 0.3, "position": [-0.5, 0.0, 1.0], "velocity": [2.0, 0.0, 0.0],
         "color": [0.9, 0.1, 0.1]},
    ],
}
NUM_FRAMES = 9  # round(0.5625 * 16)

"""Background flicker: change where nothing moves in the simulation.

B_t = not masks.sim_motion_mask_t (pixels whose content the simulation keeps still from t to
t+1); background_flicker_t = mean over B_t and the 3 channels of |I_{t+1}(p) - I_t(p)|, in
0..255 units. With a moving camera, "still" means still in the world: I_{t+1} is read at
p + c_t (the camera flow, camera_motion.py) and B_t is the world-still pixels whose p + c_t
lies inside frame t+1. Undefined (NaN) on transitions where everything moves. Lower is better;
0 is perfect.
"""

from __future__ import annotations

import numpy as np

from physreel.conditioning.records import Passes

from .base import LOWER, MetricResult, empty_note, masked_mean, require_passes, shot_mean
from .camera_motion import sample_bilinear
from .masks import SimMotion, sim_motion


def background_flicker(frames: np.ndarray, passes: Passes, motion: SimMotion | None = None) -> list[MetricResult]:
    """background_flicker (0..255). frames: uint8 [N, H, W, 3] at the passes' size; `motion`:
    masks.sim_motion(passes), computed here when not given."""
    require_passes(passes, ("flow_fwd", "seg"), "background flicker")
    motion = motion or sim_motion(passes)
    still = ~motion.moving
    if motion.camera_flow is not None:
        following = _carried_back(frames, motion.camera_flow)
        still &= motion.support
        change = np.abs(following - frames[:-1].astype(np.float32)).mean(axis=-1)
    else:
        change = np.abs(frames[1:].astype(np.int16) - frames[:-1].astype(np.int16)).mean(axis=-1)
    per_frame = masked_mean(change, still)
    return [MetricResult("background_flicker", shot_mean(per_frame), LOWER, "0..255", per_frame,
                         empty_note(per_frame, "every pixel moves in the simulation"))]


def _carried_back(frames: np.ndarray, camera_flow: np.ndarray) -> np.ndarray:
    """float32 [N - 1, H, W, 3]: frame t+1 read at p + c_t (bilinear per channel)."""
    return np.stack([np.stack([sample_bilinear(frames[t + 1, ..., c], camera_flow[t])[0] for c in range(3)], axis=-1)
                     for t in range(len(frames) - 1)])

"""Background flicker: change where nothing moves in the simulation.

B_t = not masks.sim_motion_mask_t (pixels whose content the simulation keeps still from t to
t+1); background_flicker_t = mean over B_t and the 3 channels of |I_{t+1}(p) - I_t(p)|, in
0..255 units. Undefined (NaN) on transitions where everything moves (a moving camera over a
fully visible scene). Lower is better; 0 is perfect.
"""

from __future__ import annotations

import numpy as np

from conditioning.records import Passes

from .base import LOWER, MetricResult, empty_note, masked_mean, require_passes, shot_mean
from .masks import sim_motion_mask


def background_flicker(frames: np.ndarray, passes: Passes) -> list[MetricResult]:
    """background_flicker (0..255). frames: uint8 [N, H, W, 3] at the passes' size."""
    require_passes(passes, ("flow_fwd", "seg"), "background flicker")
    still = ~sim_motion_mask(passes)
    change = np.abs(frames[1:].astype(np.int16) - frames[:-1].astype(np.int16)).mean(axis=-1)
    per_frame = masked_mean(change, still)
    return [MetricResult("background_flicker", shot_mean(per_frame), LOWER, "0..255", per_frame,
                         empty_note(per_frame, "every pixel moves in the simulation"))]

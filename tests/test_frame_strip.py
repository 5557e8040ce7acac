"""The README's frame strip (engine/builtin/frame_strip.py): the video's own pixels, rows in the order asked."""

from __future__ import annotations

import numpy as np
import pytest

from physreel.engine.builtin.frame_strip import LABEL_WIDTH, frame_strip


def test_the_strip_stacks_the_picked_frames_unchanged_beside_their_labels():
    frames = np.stack([np.full((20, 30, 3), 10 * t, np.uint8) for t in range(8)])
    strip = frame_strip(frames, fps=4.0, picked=[6, 1])
    assert strip.shape == (40, LABEL_WIDTH + 30, 3)
    assert np.array_equal(strip[:20, LABEL_WIDTH:], frames[6])  # exact pixels, in the order given
    assert np.array_equal(strip[20:, LABEL_WIDTH:], frames[1])
    assert (strip[:20, :LABEL_WIDTH] < 128).any()  # the label is written


@pytest.mark.parametrize("picked", [[], [8], [-1]])
def test_frames_outside_the_video_are_refused(picked):
    with pytest.raises(ValueError, match="must lie in 0..7"):
        frame_strip(np.zeros((8, 4, 4, 3), np.uint8), 4.0, picked)

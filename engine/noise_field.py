"""The persistent noise field of exact-flow noise warping: iid N(0, 1) samples on the pixel grid
(or a finer one), carried from frame to frame along the flow (the proof that they stay iid is in
engine/noise_warp.py's docstring; the loops are engine/noise_kernels.py's).

A field holds, for each of its H x W grid cells, one value per channel and the sub-cell position
of the sample it stands for, so that motion slower than one cell per frame accumulates instead of
being rounded away each frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .noise_kernels import block_sums, merge, split_plan, transport

REACH = 1.0
"""How far (grid cells, per axis) the landing point of a source may be from an empty target cell
for the target to count as a stretched part of that source's surface (expansion) rather than as
newly revealed (disocclusion). 1 covers any stretch up to 2x per frame and axis."""


@dataclass(frozen=True)
class NoiseField:
    """Noise samples on an H x W grid, row-major.

    values: float32 [H * W, C], iid N(0, 1).
    offset: float32 [H * W, 2], (dx, dy) of each sample's position from its cell centre, in cells,
            within [-0.5, 0.5) (0 for a sample drawn fresh or pulled by expansion; the mean for a merge).
    """

    values: np.ndarray
    offset: np.ndarray
    height: int
    width: int

    @classmethod
    def fresh(cls, channels: int, height: int, width: int, generator: torch.Generator) -> "NoiseField":
        values = torch.randn((height * width, channels), generator=generator, dtype=torch.float32).numpy()
        return cls(values, np.zeros((height * width, 2), np.float32), height, width)

    def block_sums(self, block: int) -> np.ndarray:
        """float32 [C, H / block, W / block]: each block's sum of values / block (N(0, 1) for iid N(0, 1) values)."""
        return block_sums(self.values, self.width, block)

    def advance(self, flow: np.ndarray, valid: np.ndarray, generator: torch.Generator) -> "NoiseField":
        """The field of the next frame (steps 1-4 of engine/noise_warp.py's docstring).

        flow: float32 [H, W, 2], (dx, dy) in grid cells, this frame to the next.
        valid: bool [H, W], the point is visible in the next frame.
        Random draws, in this order: one row per copy of each source that sends two or more, then
        one row per cell that receives nothing.
        """
        size, channels = self.values.shape
        flow = np.ascontiguousarray(flow, dtype=np.float32).reshape(size, 2)
        valid = np.ascontiguousarray(valid, dtype=bool).reshape(size)
        target, position, count, pull_source, pull_target = transport(
            self.offset, flow, valid, self.width, self.height, REACH)
        copies, start, num_split, num_fresh = split_plan(target, pull_source, count)
        split_noise = torch.randn((num_split, channels), generator=generator, dtype=torch.float32).numpy()
        fresh_noise = torch.randn((num_fresh, channels), generator=generator, dtype=torch.float32).numpy()
        values, offset = merge(self.values, target, position, count, pull_source, pull_target, copies, start,
                               split_noise, fresh_noise)
        return NoiseField(values, offset, self.height, self.width)

"""Exact-flow noise warping: a persistent Gaussian noise field at pixel resolution (or finer) is
carried along the simulated flow frame by frame, kept exactly iid N(0, 1), and summed down to each
latent cell, so each latent frame is exactly standard normal and slow motion keeps its pattern.

This is the method of "How I Warped Your Noise" (Chang et al. 2024) and of Go-with-the-Flow
(Burgert et al. 2025) on the simulator's exact flow instead of RAFT's estimate; docs/engine.md
says what is the same as Go-with-the-Flow's code and what differs.

The field is G x G' grid cells (the flow's pixels, or s x s sub-cells of each with
`fine_factor` s); each grid cell holds one sample per channel and the sub-cell position of that
sample. For frame t -> t+1:

1. Splat. Every sample whose point is visible in frame t+1 (flow_valid) moves by the flow of its
   pixel; it is sent to the grid cell containing its new position, and the part of the position
   inside that cell is kept (so 0.3 px/frame moves a sample one cell every 3-4 frames).
2. Expansion. A target cell that received nothing pulls the source p = q - flow(p) (two
   fixed-point steps); if p is visible in t+1 and its sample lands within one cell of q, q is
   stretched surface and receives a copy of p. Otherwise q is newly revealed (disocclusion, or
   the image border) and step 4 gives it fresh noise.
3. Conditional splitting. A source that sends n > 1 copies (its splat and its pulls) sends
       v_i = x / sqrt(n) + (e_i - mean(e)),  e_i iid N(0, 1), i = 1..n
   instead of n copies of its value x ~ N(0, 1). The vector v is Gaussian with covariance
   (1/n) 1 1^T + (I - (1/n) 1 1^T) = I: the v_i are iid N(0, 1), and sum(v) / sqrt(n) = x.
4. Merge. A target cell that received m >= 1 copies gets their sum / sqrt(m); one that received
   none gets a fresh N(0, 1) sample.
Latent frame: cell (i, j) of a latent grid whose cells cover K x K grid cells
(K = VAE factor x fine_factor) is the sum of those K^2 samples / K.

Why every latent frame is exactly iid N(0, 1), by induction over frames. Which copies go where
depends only on the flow, never on the noise. Suppose the samples of frame t are iid N(0, 1)
(true for frame 0). After step 3 every copy is N(0, 1) and all copies are independent: within a
source by the covariance above, across sources because the sources are independent and the e_i
are fresh. Each copy goes to exactly one target, so the targets of frame t+1 are normalised sums
over DISJOINT sets of iid N(0, 1) copies, hence iid N(0, 1); fresh samples are independent of all
else. So the samples of frame t+1 are iid N(0, 1), and each latent cell, a sum over its own
K^2 samples divided by K, is N(0, 1) and independent of the other cells. Channels share the
transport but draw all their randomness separately, so they stay independent too.
Step 3 is what makes expansion safe: copying one value into two targets (Go-with-the-Flow's
warp before its regaussianisation) would make those two targets equal, hence correlated.

On a translation by whole pixels each sample moves to its own target (no merge, no split): the
field, and so every latent cell whose pixels all came from inside the image, is carried exactly
(a latent cell after one cell of travel equals its neighbour's old value to float32 rounding).

Temporal compression (Wan and CogVideoX: one latent frame per 4 video frames after the first):
the field follows the flow through every video frame, and latent frame j is the field at video
frame `frame_index[j]` (`temporal_frame_index`: 0, 4, 8, ...), Go-with-the-Flow's default
'nearest' layout for CogVideoX's 13 latent frames out of 49 video frames.

All randomness comes from one seeded torch.Generator on the CPU, drawn in a fixed order, so the
same seed and flow give the same noise on every device. The previous, per-latent-cell method is
`method="cells"` (engine/noise_warp_cells.py), kept for comparison.
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np
import torch

from .noise_field import NoiseField
from .noise_warp_cells import cell_warped_noise, checked_frame_index, scale_factor
from .records import NoiseFlow

WarpMethod = Literal["pixels", "cells"]
WARP_METHODS: tuple[WarpMethod, ...] = ("pixels", "cells")


def independent_noise(shape: Sequence[int], seed: int) -> torch.Tensor:
    """float32 CPU tensor of iid N(0, 1) values of `shape`, from torch.Generator seeded `seed`."""
    generator = torch.Generator("cpu").manual_seed(int(seed))
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float32)


def temporal_frame_index(num_video_frames: int, temporal_factor: int) -> list[int]:
    """The video frame each latent frame stands for when a VAE folds `temporal_factor` video frames
    into one latent frame after the first: 0, f, 2f, ..., (T - 1) // f + 1 of them (Wan, CogVideoX: f = 4,
    49 video frames -> 13 latent frames at 0, 4, ..., 48)."""
    if temporal_factor < 1 or num_video_frames < 1:
        raise ValueError(f"temporal_factor and num_video_frames must be >= 1, got {temporal_factor}, {num_video_frames}")
    return list(range(0, num_video_frames, temporal_factor))


def warped_noise(
    num_channels: int,
    latent_height: int,
    latent_width: int,
    flow: NoiseFlow,
    seed: int,
    frame_index: Sequence[int] | None = None,
    *,
    fine_factor: int = 1,
    method: WarpMethod = "pixels",
) -> torch.Tensor:
    """Initial noise of every latent frame, warped along the flow (module docstring).

    flow: NoiseFlow at video resolution [T, H, W], with H = k * latent_height and
          W = k * latent_width for one integer k (the VAE scale factor; 1 for pixel-space models).
    frame_index: the video frame each latent frame stands for (increasing); default 0..T-1
          (`temporal_frame_index` for VAEs with temporal compression).
    fine_factor: grid cells per pixel side (s); the field is (s H) x (s W), each pixel's s x s
          samples moving with its flow. 1 = pixel resolution.
    method: "pixels" (this module) or "cells" (the previous per-latent-cell warp; fine_factor 1 only).
    Returns float32 CPU tensor [F, num_channels, latent_height, latent_width], F = len(frame_index),
    each frame iid N(0, 1).
    """
    if method not in WARP_METHODS:
        raise ValueError(f"method must be one of {WARP_METHODS}, got {method!r}")
    if not isinstance(fine_factor, int) or fine_factor < 1:
        raise ValueError(f"fine_factor must be an integer >= 1, got {fine_factor!r}")
    if method == "cells":
        if fine_factor != 1:
            raise ValueError("the 'cells' method works on the latent grid; fine_factor applies to 'pixels' only")
        return cell_warped_noise(num_channels, latent_height, latent_width, flow, seed, frame_index)
    flow_fwd = np.asarray(flow.flow_fwd, dtype=np.float32)
    flow_valid = np.asarray(flow.flow_valid, dtype=bool)
    num_video_frames, height, width = flow_valid.shape
    block = scale_factor(height, width, latent_height, latent_width) * fine_factor
    frame_index = checked_frame_index(frame_index, num_video_frames)

    generator = torch.Generator("cpu").manual_seed(int(seed))
    field = NoiseField.fresh(num_channels, height * fine_factor, width * fine_factor, generator)
    frames = [field.block_sums(block)]
    for video_frame in range(frame_index[0], frame_index[-1]):
        step_flow, step_valid = _fine(flow_fwd[video_frame], flow_valid[video_frame], fine_factor)
        field = field.advance(step_flow, step_valid, generator)
        if video_frame + 1 in frame_index:
            frames.append(field.block_sums(block))
    return torch.from_numpy(np.stack(frames))


def _fine(flow: np.ndarray, valid: np.ndarray, fine_factor: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame's flow [H, W, 2] px and validity [H, W] on the fine grid: every sub-cell of a pixel
    takes that pixel's (exact) flow, in sub-cell units."""
    if fine_factor == 1:
        return flow, valid
    flow = np.repeat(np.repeat(flow, fine_factor, 0), fine_factor, 1) * np.float32(fine_factor)
    return flow, np.repeat(np.repeat(valid, fine_factor, 0), fine_factor, 1)

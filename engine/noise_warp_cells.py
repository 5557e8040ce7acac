"""The per-cell noise warp (physreel's first method, `warped_noise(..., method="cells")`), kept for
comparison with the pixel-level default of engine/noise_warp.py (bench/noise_warp.py, the builtin
model's ablation): the noise lives on the latent grid and is re-split into pixels every frame, so
motion slower than one latent cell per frame loses its pattern (docs/engine.md).

Method (a discrete form of "How I Warped Your Noise", Chang et al. 2024, and of
Go-with-the-Flow's noise transport), on a latent grid of h x w cells where each cell covers
k x k pixels of the video (k = the VAE's spatial scale factor, so the fine grid IS the video's
pixel grid and the exact per-pixel flow is used as rendered, never averaged):

1. Conditional upsampling. A latent cell's value x ~ N(0, 1) is split into k^2 sub-samples
       s_i = x / k + (e_i - mean(e)),   e_i iid N(0, 1),  i = 1..n, n = k^2.
   The vector s is Gaussian with covariance (1/n) 1 1^T + (I - (1/n) 1 1^T) = I: the s_i are
   iid N(0, 1), and sum(s) / k = x exactly.
2. Transport. Every pixel p of frame t whose point is visible in frame t+1 (flow_valid) sends
   its sub-sample to the pixel containing p + flow_fwd(p) (p at the pixel centre), i.e. to the
   latent cell floor((p + flow) / k).
3. Renormalise. A cell of frame t+1 that received m >= 1 sub-samples gets their sum / sqrt(m);
   a cell that received none (disoccluded, or newly entering the frame) gets a FRESH N(0, 1).

Why frame t+1 is exactly iid N(0, 1): by induction frame t's cells are iid N(0, 1), so (1) makes
all sub-samples iid N(0, 1); every sub-sample goes to at most one cell, so the cells of frame
t+1 are sums over DISJOINT sets of iid N(0, 1) values, each divided by the square root of its
count (hence N(0, 1)) and mutually independent; the fresh cells are independent of all else.
Channels are warped with the same transport and stay independent of each other.

On a translation by an integer number of latent cells (flow = k * d pixels everywhere), each
target cell receives exactly the n sub-samples of one source cell, and sum / sqrt(n) =
sum / k = the source value: frame t+1 is frame t shifted, exactly, with fresh noise on the
uncovered border.

Backends with temporal compression (Wan: one latent frame per 4 video frames) warp between
the video frames their latent frames stand for: the transport follows the flow through every
frame in between (`frame_index`), a point dropping out as soon as it is hidden.

All randomness comes from one seeded torch.Generator on the CPU, drawn in a fixed order, so
the same seed and flow give the same noise on every device.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .records import NoiseFlow


def cell_warped_noise(
    num_channels: int,
    latent_height: int,
    latent_width: int,
    flow: NoiseFlow,
    seed: int,
    frame_index: Sequence[int] | None = None,
) -> torch.Tensor:
    """Initial noise of every latent frame, each the previous one warped along the flow.

    flow: NoiseFlow at video resolution [T, H, W], with H = k * latent_height and
          W = k * latent_width for one integer k (the VAE scale factor).
    frame_index: the video frame each latent frame stands for (increasing); default 0..T-1.
    Returns float32 CPU tensor [F, num_channels, latent_height, latent_width], F = len(frame_index),
    each frame iid N(0, 1).
    """
    flow_fwd = np.asarray(flow.flow_fwd, dtype=np.float32)
    flow_valid = np.asarray(flow.flow_valid, dtype=bool)
    num_video_frames, height, width = flow_valid.shape
    k = scale_factor(height, width, latent_height, latent_width)
    frame_index = checked_frame_index(frame_index, num_video_frames)

    generator = torch.Generator("cpu").manual_seed(int(seed))
    noise = torch.randn((num_channels, latent_height, latent_width), generator=generator, dtype=torch.float32)
    frames = [noise]
    for source_frame, target_frame in zip(frame_index, frame_index[1:]):
        targets = transport_targets(flow_fwd, flow_valid, source_frame, target_frame)
        noise = warp_step(noise, torch.from_numpy(targets), k, generator)
        frames.append(noise)
    return torch.stack(frames)


def scale_factor(height: int, width: int, latent_height: int, latent_width: int) -> int:
    """k, the side of the square block of flow pixels one latent cell covers; ValueError if none fits."""
    k = height // latent_height
    if k < 1 or height != k * latent_height or width != k * latent_width:
        raise ValueError(
            f"the flow ({width}x{height} px) must cover the latent grid ({latent_width}x{latent_height}) with "
            f"square blocks of k x k pixels; resize the flow to {latent_width}k x {latent_height}k"
        )
    return k


def checked_frame_index(frame_index: Sequence[int] | None, num_video_frames: int) -> list[int]:
    """The video frames the latent frames stand for (default: every one); ValueError unless increasing and in range."""
    frame_index = list(range(num_video_frames)) if frame_index is None else [int(f) for f in frame_index]
    if not frame_index or any(b <= a for a, b in zip(frame_index, frame_index[1:])) or frame_index[0] < 0 \
            or frame_index[-1] >= num_video_frames:
        raise ValueError(f"frame_index must increase within 0..{num_video_frames - 1}, got {frame_index}")
    return frame_index


def transport_targets(flow_fwd: np.ndarray, flow_valid: np.ndarray, source_frame: int, target_frame: int) -> np.ndarray:
    """Where each pixel of `source_frame` lands in `target_frame`, following the flow frame by frame.

    flow_fwd float32 [T, H, W, 2] pixels; flow_valid bool [T, H, W].
    Returns int64 [H * W]: the row-major index of the pixel containing the point's position
    (pixel centre + the summed flow), or -1 where the point is hidden or leaves the image.
    """
    _, height, width, _ = flow_fwd.shape
    x = torch.arange(width, dtype=torch.float32).add_(0.5).repeat(height)
    y = torch.arange(height, dtype=torch.float32).add_(0.5).repeat_interleave(width)
    alive = torch.ones(height * width, dtype=torch.bool)
    pixel = None  # identity before the first step
    for frame in range(source_frame, target_frame):
        step = torch.from_numpy(np.ascontiguousarray(flow_fwd[frame])).reshape(-1, 2)
        valid = torch.from_numpy(np.ascontiguousarray(flow_valid[frame])).reshape(-1)
        if pixel is not None:
            step, valid = step[pixel], valid[pixel]
        alive &= valid
        x += step[:, 0]
        y += step[:, 1]
        col = x.floor().long()
        row = y.floor().long()
        alive &= (col >= 0) & (col < width) & (row >= 0) & (row < height)
        pixel = torch.where(alive, row * width + col, 0)
    if pixel is None:
        return np.arange(height * width, dtype=np.int64)
    return torch.where(alive, pixel, -1).numpy()


def warp_step(noise: torch.Tensor, targets: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """One frame of transport (steps 1-3 of the module docstring).

    noise: float32 [C, h, w], iid N(0, 1). targets: int64 [(k h) * (k w)] target pixel per source
    pixel (row-major at video resolution), -1 for none. Returns float32 [C, h, w], iid N(0, 1).
    """
    channels, h, w = noise.shape
    width = w * k
    # 1. conditional upsampling: iid N(0,1) sub-samples whose block sums / k reproduce `noise`
    sub = torch.randn((channels, h, k, w, k), generator=generator, dtype=torch.float32)
    sub -= sub.mean(dim=(2, 4), keepdim=True)
    sub += noise[:, :, None, :, None] / k
    sub = sub.reshape(channels, -1)
    # 2. transport to the latent cell of each target pixel; sub-samples with no target go to an
    # extra bin (index h * w) that is dropped
    cell = torch.where(targets >= 0, (targets // width // k) * w + (targets % width) // k, h * w)
    sums = torch.stack([torch.bincount(cell, weights=sub[c], minlength=h * w + 1) for c in range(channels)])
    counts = torch.bincount(cell, minlength=h * w + 1)
    sums, counts = sums[:, : h * w].to(torch.float32), counts[: h * w].to(torch.float32)
    # 3. renormalise; fresh noise where nothing arrived (drawn for every cell, so the number of
    # draws, and hence every later sample, does not depend on the flow)
    fresh = torch.randn((channels, h * w), generator=generator, dtype=torch.float32)
    warped = torch.where(counts > 0, sums / counts.clamp(min=1).sqrt(), fresh)
    return warped.reshape(channels, h, w)

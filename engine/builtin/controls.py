"""Control channels of the builtin model, made from the same 8-bit control images every backend gets.

The model sees, per frame at S x S pixels, for each kind of CONTROL_KINDS its control image
(conditioning.control conventions: depth = shot-normalised inverse depth, near = white; normal =
normalbae colours; edges = white on black; flow = Middlebury colour wheel; seg = ADE20K palette)
mapped to [-1, 1] and multiplied by the control's scale, followed by one presence flag per kind
(+1 given, -1 absent; an absent kind's image channels are 0). Grey images (depth, edges) give one
channel. Layout: depth(1) normal(3) edges(1) flow(3) seg(3) albedo(3) flags(6) = 20 channels.
Unguided = every kind absent.
"""

from __future__ import annotations

import numpy as np
import torch

from .kinds import CONTROL_KINDS, KIND_CHANNELS, num_control_channels

IMAGE_CHANNELS = sum(KIND_CHANNELS.values())
NUM_CONTROL_CHANNELS = num_control_channels(CONTROL_KINDS)
_CHANNEL_KIND = np.concatenate([[i] * KIND_CHANNELS[k] for i, k in enumerate(CONTROL_KINDS)])
"""int [IMAGE_CHANNELS]: the kind index of each image channel."""


def pack_images(images: dict[str, np.ndarray]) -> np.ndarray:
    """{kind: uint8 [T, S, S, 3]} (every kind of CONTROL_KINDS) -> uint8 [T, S, S, IMAGE_CHANNELS] packed channels."""
    return np.concatenate([images[k][..., : KIND_CHANNELS[k]] for k in CONTROL_KINDS], axis=-1)


def control_from_packed(packed: torch.Tensor, kind_weight: torch.Tensor) -> torch.Tensor:
    """The model's control input from packed control images and a weight per kind.

    packed: uint8 [B, S, S, IMAGE_CHANNELS]; kind_weight: float [B, len(CONTROL_KINDS)], 0 = kind absent, w > 0 = given with
    scale w. Returns float32 [B, NUM_CONTROL_CHANNELS, S, S] (layout in the module doc).
    """
    images = packed.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    weight = kind_weight.float()
    per_channel = weight[:, torch.from_numpy(_CHANNEL_KIND)]
    images = images * per_channel[:, :, None, None]
    flags = torch.where(weight > 0, 1.0, -1.0)[:, :, None, None].expand(-1, -1, *images.shape[-2:])
    return torch.cat([images, flags], dim=1)


def unguided_control(batch: int, size: int) -> torch.Tensor:
    """float32 [B, NUM_CONTROL_CHANNELS, size, size]: every kind absent (what the unguided run feeds)."""
    return control_from_packed(torch.zeros(batch, size, size, IMAGE_CHANNELS, dtype=torch.uint8),
                               torch.zeros(batch, len(CONTROL_KINDS)))


def unpack_images(packed: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 [T, S, S, IMAGE_CHANNELS] packed channels -> {kind: uint8 [T, S, S, 3]} (grey kinds repeated to RGB)."""
    images, first = {}, 0
    for kind in CONTROL_KINDS:
        part = packed[..., first : first + KIND_CHANNELS[kind]]
        images[kind] = np.repeat(part, 3, axis=-1) if part.shape[-1] == 1 else np.ascontiguousarray(part)
        first += KIND_CHANNELS[kind]
    return images

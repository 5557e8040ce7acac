"""Per-frame DDIM sampling of the builtin model: every frame of a video is one sample of a batch,
conditioned on its own control images and the caption, starting from the given initial noise
(independent, or warped along the simulated flow by engine/noise_warp.py).

DDIM with eta = 0 is deterministic given the initial noise, so noise that moves with the scene
gives samples that move with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .controls import CONTROL_KINDS, IMAGE_CHANNELS, control_from_packed
from .model import BuiltinModel
from .text import tokenize

FRAME_CHUNK = 16
"""Frames denoised per UNet call (bounded memory for long shots)."""


@dataclass(frozen=True)
class KindSchedule:
    """When and how strongly each control kind acts: scale, and the fraction of steps [start, end)."""

    scale: float = 1.0
    start: float = 0.0
    end: float = 1.0


def make_scheduler(model: BuiltinModel, steps: int):
    """diffusers DDIMScheduler matching the model's training schedule, set to `steps` steps."""
    from diffusers import DDIMScheduler

    config = model.config
    scheduler = DDIMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        clip_sample=True,
        clip_sample_range=1.0,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
    )
    scheduler.set_timesteps(steps)
    return scheduler


def kind_weights(schedules: dict[str, KindSchedule], fraction: float) -> torch.Tensor:
    """float [len(CONTROL_KINDS)]: each kind's scale while `fraction` of the steps lies in its [start, end), else 0."""
    weights = [
        schedules[k].scale if k in schedules and schedules[k].start <= fraction < schedules[k].end else 0.0
        for k in CONTROL_KINDS
    ]
    return torch.tensor(weights, dtype=torch.float32)


@torch.no_grad()
def sample_frames(
    model: BuiltinModel,
    packed_control: np.ndarray | None,
    schedules: dict[str, KindSchedule],
    prompt: str,
    noise: torch.Tensor,
    steps: int,
    guidance_scale: float = 1.0,
    negative_prompt: str = "",
) -> np.ndarray:
    """Denoise T frames.

    packed_control: uint8 [T, S, S, IMAGE_CHANNELS] control images (controls.pack_images; kinds missing from
    `schedules` are fed as absent), or None for unguided. noise: float32 [T, 3, S, S] initial noise.
    guidance_scale > 1: classifier-free guidance on the caption against `negative_prompt`.
    Returns uint8 [T, S, S, 3] sRGB frames.
    """
    num_frames, _, size, _ = noise.shape
    if packed_control is None:
        packed = torch.zeros(num_frames, size, size, IMAGE_CHANNELS, dtype=torch.uint8)
        schedules = {}
    else:
        packed = torch.from_numpy(np.ascontiguousarray(packed_control))
    use_cfg = guidance_scale > 1.0
    ids = tokenize([negative_prompt, prompt] if use_cfg else [prompt], model.config.max_tokens)
    states, mask = model.encode_text(ids)
    outputs = []
    for first in range(0, num_frames, FRAME_CHUNK):
        chunk = slice(first, min(first + FRAME_CHUNK, num_frames))
        outputs.append(_denoise_chunk(model, packed[chunk], schedules, states, mask, noise[chunk].clone(), steps,
                                      guidance_scale if use_cfg else None))
    frames = torch.cat(outputs)
    return ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _denoise_chunk(model, packed, schedules, states, mask, sample, steps, guidance_scale):
    scheduler = make_scheduler(model, steps)
    batch = sample.shape[0]
    for index, timestep in enumerate(scheduler.timesteps):
        weights = kind_weights(schedules, index / len(scheduler.timesteps)).expand(batch, -1)
        control = control_from_packed(packed, weights)
        t = torch.full((batch,), int(timestep), dtype=torch.long)
        if guidance_scale is None:
            v = model(sample, t, control, states.expand(batch, -1, -1), mask.expand(batch, -1))
        else:
            both = model(torch.cat([sample, sample]), torch.cat([t, t]), torch.cat([control, control]),
                         states.repeat_interleave(batch, 0), mask.repeat_interleave(batch, 0))
            v_negative, v_prompt = both.chunk(2)
            v = v_negative + guidance_scale * (v_prompt - v_negative)
        sample = scheduler.step(v, timestep, sample, eta=0.0).prev_sample
    return sample

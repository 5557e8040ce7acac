"""Go-with-the-Flow's latent noise layout for CogVideoX: per-video-frame warped noise -> the
[F, C, h, w] initial latents its LoRAs were trained on.

Go-with-the-Flow (GWTF; Burgert et al. 2025, github.com/Eyeline-Research/Go-with-the-Flow,
commit cc7772e) warps noise once per VIDEO frame (49 frames of 60x90 cells, 16 channels, at
CogVideoX's 480x720: cut_and_drag_inference.py lines 181-185 and 36-39), then makes CogVideoX's
13 latent frames (its VAE packs 4 video frames into one latent frame after the first) in two steps:

1. Temporal reduction, `get_downtemp_noise` (cut_and_drag_inference.py lines 111-124), chosen per
   LoRA (the LoRA files are named for it; the script's default is 'nearest', line 398):
   - 'nearest': `rp.resize_list(noise, 13)`, frame round(i * (T - 1) / (F - 1)) for latent frame
     i: with T = 4(F - 1) + 1 video frames that is exactly video frame 4i;
   - 'blend': `downsamp_mean`, the mean of each of F consecutive runs of frames, the runs cut at
     int(i * T / F) (`rp.split_into_n_sublists`);
   - 'blend_norm': 'blend', then each latent frame [C, H, W] divided by its standard deviation
     along axis 1 (`x.std(1, keepdim=True)`: over the rows H, per channel and column; torch's
     default unbiased estimate), as line 124 does.
   (rp's two list helpers are not in the GWTF repository; their definitions are inlined in the
   ComfyUI port by kijai, ComfyUI-VideoNoiseWarp nodes.py, `resize_list` and `split_into_n_sublists`.)
2. Degradation, `nw.mix_new_noise(noise, degradation)` (line 213): GWTF's variance-preserving blend
   with fresh noise, (fresh * d + warped * (1 - d)) / sqrt(d^2 + (1 - d)^2) (CommonSource
   noise_warp.py `blend_noise`); d = 0 keeps the warped noise, d = 1 replaces it.

The per-video-frame noise comes from engine/noise_warp.py's `warped_noise` (physreel's exact-flow
warp of the simulated flow); only the two steps above live here.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

TemporalReduction = Literal["nearest", "blend", "blend_norm"]
TEMPORAL_REDUCTIONS: tuple[str, ...] = get_args(TemporalReduction)
FRESH_NOISE_SEED_OFFSET = 1 << 31
"""The degradation's fresh noise is drawn from seed + 2^31: a generator seed no run uses (run seeds
are below 2^31, and torch's CPU generator reads only a seed's low 32 bits), so the fresh noise never
repeats the warped noise's own draws."""


def reduction_for_lora(file_name: str) -> TemporalReduction:
    """The temporal reduction a GWTF LoRA file was trained with, read from its name as GWTF names
    them (cut_and_drag_inference.py lines 24-31). A later training stage appends its mode to the
    name of the checkpoint it continued (I2V5B_final_i30000 -> I2V5B_final_i38800_nearest,
    T2V5B_blendnorm_i18000_DATASET -> T2V5B_blendnorm_i25000_DATASET_nearest), so a 'nearest' token
    wins; then 'blendnorm' -> 'blend_norm', 'blend' -> 'blend', and a name with none -> 'nearest'
    (T2V2B_RDeg_i30000, I2V5B_final_i30000: the inference script's default, line 398)."""
    tokens = file_name.lower().replace("-", "_").removesuffix(".safetensors").split("_")
    if "nearest" in tokens:
        return "nearest"
    if "blendnorm" in tokens or "blend_norm" in file_name.lower():
        return "blend_norm"
    if "blend" in tokens:
        return "blend"
    return "nearest"


def reduce_to_latent_frames(noise: torch.Tensor, num_latent_frames: int, method: TemporalReduction) -> torch.Tensor:
    """GWTF's `get_downtemp_noise`: per-video-frame noise float32 [T, C, h, w] -> [F, C, h, w].

    Each input frame is iid N(0, 1); 'nearest' keeps that exactly, 'blend' averages (a frame of
    fresh noise among the averaged ones lowers the variance, as in GWTF), 'blend_norm' rescales.
    """
    if method not in TEMPORAL_REDUCTIONS:
        raise ValueError(f"temporal reduction {method!r} is not one of {', '.join(TEMPORAL_REDUCTIONS)}")
    num_frames = noise.shape[0]
    if not 1 <= num_latent_frames <= num_frames:
        raise ValueError(f"cannot make {num_latent_frames} latent frames from {num_frames} video frames")
    if method == "nearest":
        step = (num_frames - 1) / (num_latent_frames - 1) if num_frames > 1 and num_latent_frames > 1 else 0.0
        return noise[[round(i * step) for i in range(num_latent_frames)]]
    bounds = [int(i * num_frames / num_latent_frames) for i in range(num_latent_frames + 1)]
    blended = torch.stack([noise[a:b].mean(dim=0) for a, b in zip(bounds, bounds[1:])])
    if method == "blend":
        return blended
    return blended / blended.std(dim=2, keepdim=True)  # [F, C, H, W]: GWTF's axis 1 of each [C, H, W]


def degrade(noise: torch.Tensor, degradation: float, seed: int) -> torch.Tensor:
    """GWTF's `mix_new_noise`: blend `noise` with fresh N(0, 1) noise, keeping unit variance.

    degradation d in [0, 1]: 0 returns `noise` unchanged (nothing is drawn), 1 fresh noise.
    The fresh noise is float32 from torch.Generator('cpu') seeded seed + FRESH_NOISE_SEED_OFFSET.
    """
    if not 0.0 <= degradation <= 1.0:
        raise ValueError(f"degradation {degradation} is outside 0..1")
    if degradation == 0.0:
        return noise
    generator = torch.Generator("cpu").manual_seed(int(seed) + FRESH_NOISE_SEED_OFFSET)
    fresh = torch.randn(noise.shape, generator=generator, dtype=torch.float32)
    d = float(degradation)
    return (fresh * d + noise * (1.0 - d)) / (d * d + (1.0 - d) ** 2) ** 0.5

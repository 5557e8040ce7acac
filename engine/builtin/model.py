"""The builtin network: a diffusers UNet2DConditionModel on RGB pixels with the control channels
concatenated to its input, cross-attending to a small caption encoder.

Input per frame: noisy RGB (3 channels, [-1, 1]) + 20 control channels (see controls.py) at
S x S pixels; output: the v-prediction (3 channels). Pixels are folded into channels first
(pixel-unshuffle by `patch`: 64x64x23 -> 32x32x92), a lossless "latent" that makes the UNet
four times cheaper on two CPU cores, and unfolded after. Frames are independent samples of one
batch; temporal consistency comes from warping each frame's noise along the simulated flow.
Weights are stored as safetensors with a JSON config beside them; no pickle anywhere.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from physreel.sim.files import atomic_path, write_json

from .kinds import CONTROL_KINDS, V1_CONTROL_KINDS, num_control_channels
from .text import MAX_TOKENS, PAD, CaptionEncoder

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS_NAME = "builtin.safetensors"
CONFIG_NAME = "builtin.json"


@dataclass(frozen=True)
class BuiltinConfig:
    """Everything that shapes the network and its noise schedule (written to builtin.json)."""

    resolution: int = 64
    patch: int = 2
    """Pixel-unshuffle factor: the UNet runs at resolution/patch with 3*patch^2 image channels."""
    block_out_channels: tuple[int, ...] = (48, 96, 128)
    attention_levels: tuple[bool, ...] = (False, False, True)
    """Which UNet levels have cross-attention (to the caption) and self-attention."""
    layers_per_block: int = 1
    text_dim: int = 64
    attention_head_dim: int = 16
    norm_num_groups: int = 8
    max_tokens: int = MAX_TOKENS
    num_train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"
    prediction_type: str = "v_prediction"
    control_kinds: tuple[str, ...] = CONTROL_KINDS
    """The control kinds the input channels read, in order (kinds.py); builtin.json files written
    before this field existed are v1's five."""
    caption_time_embedding: bool = True
    """Also add the pooled caption to the UNet's time embedding (diffusers class_embed_type
    "projection"), so every ResNet block is modulated by it. Cross-attention alone, at the coarsest
    level only, learned the caption too slowly on a CPU budget (its gradients were ~600 times
    smaller than the convolutions'): global properties such as the floor's colour need this path.
    builtin.json files written before this option existed load as False."""
    extra: dict = field(default_factory=dict)
    """Training provenance (data, steps, loss); not read by the network."""

    @classmethod
    def from_json(cls, path: Path) -> "BuiltinConfig":
        data = json.loads(Path(path).read_text())
        data["block_out_channels"] = tuple(data["block_out_channels"])
        data["attention_levels"] = tuple(data["attention_levels"])
        data.setdefault("caption_time_embedding", False)
        data["control_kinds"] = tuple(data.get("control_kinds", V1_CONTROL_KINDS))
        return cls(**data)


class BuiltinModel(nn.Module):
    """UNet + caption encoder. forward(noisy, t, control, ids) -> v prediction, all [B, ., S, S]."""

    def __init__(self, config: BuiltinConfig):
        super().__init__()
        from diffusers import UNet2DConditionModel

        self.config = config
        if len(config.attention_levels) != len(config.block_out_channels):
            raise ValueError("attention_levels needs one entry per block_out_channels level")
        if config.resolution % (config.patch * 2 ** (len(config.block_out_channels) - 1)):
            raise ValueError(f"resolution {config.resolution} must be divisible by patch * 2^(levels-1)")
        fold = config.patch ** 2
        down = tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in config.attention_levels)
        up = tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config.attention_levels))
        self.unet = UNet2DConditionModel(
            sample_size=config.resolution // config.patch,
            in_channels=(3 + num_control_channels(config.control_kinds)) * fold,
            out_channels=3 * fold,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            down_block_types=down,
            up_block_types=up,
            cross_attention_dim=config.text_dim,
            attention_head_dim=config.attention_head_dim,
            norm_num_groups=config.norm_num_groups,
            **({"class_embed_type": "projection", "projection_class_embeddings_input_dim": config.text_dim}
               if config.caption_time_embedding else {}),
        )
        if config.caption_time_embedding:
            # Start at zero: a new model starts as if the path were absent, and so does a model
            # fine-tuned (--init) from one without it.
            nn.init.zeros_(self.unet.class_embedding.linear_2.weight)
            nn.init.zeros_(self.unet.class_embedding.linear_2.bias)
        self.text = CaptionEncoder(config.text_dim, config.max_tokens)

    def encode_text(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids int64 [B, L] -> (states float32 [B, L, D], attention mask float32 [B, L], 1 = keep)."""
        return self.text(ids), (ids != PAD).float()

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, control: torch.Tensor,
                text_states: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """noisy [B,3,S,S], timesteps int [B], control [B,C,S,S] (controls.py), text states [B,L,D] -> [B,3,S,S]."""
        patch = self.config.patch
        x = F.pixel_unshuffle(torch.cat([noisy, control], dim=1), patch)
        pooled = None
        if self.config.caption_time_embedding:
            pooled = (text_states * text_mask[..., None]).sum(1) / text_mask.sum(1, keepdim=True).clamp(min=1.0)
        out = self.unet(x, timesteps, encoder_hidden_states=text_states, encoder_attention_mask=text_mask,
                        class_labels=pooled).sample
        return F.pixel_shuffle(out, patch)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def save_model(model: BuiltinModel, directory: Path, extra: dict | None = None) -> None:
    """Write builtin.safetensors (float32 tensors) and builtin.json atomically into `directory`."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(directory / WEIGHTS_NAME) as tmp:
        # One metadata key only: safetensors writes its metadata map in hash order, which varies
        # between calls, so two keys would make identical weights give different bytes.
        save_file(state, str(tmp), metadata={"format": "pt"})
    config = asdict(model.config)
    if extra is not None:
        config["extra"] = extra
    write_json(directory / CONFIG_NAME, config)


def load_model(directory: Path | None = None, any_kinds: bool = False) -> BuiltinModel:
    """Load builtin.json + builtin.safetensors from `directory` (default: the shipped weights).

    Raises FileNotFoundError naming the missing file; strict key matching (no silent partial load);
    ValueError for a model that reads other control kinds than this version packs (unless
    `any_kinds`: a model to fine-tune from, whose input train widens).
    """
    from safetensors.torch import load_file

    directory = Path(directory) if directory is not None else WEIGHTS_DIR
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"builtin model: {directory / name} is missing; train one with "
                                    f"`physreel train -o DIR` or omit --model to use the shipped weights")
    config = BuiltinConfig.from_json(directory / CONFIG_NAME)
    if config.control_kinds != CONTROL_KINDS and not any_kinds:
        raise ValueError(f"builtin model in {directory} reads the controls {', '.join(config.control_kinds)}; this version "
                         f"feeds {', '.join(CONTROL_KINDS)}: fine-tune it with `physreel train --init {directory}` "
                         "or use the shipped weights")
    model = BuiltinModel(config)
    model.load_state_dict(load_file(str(directory / WEIGHTS_NAME)), strict=True)
    return model.eval()

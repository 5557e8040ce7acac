"""Tiny randomly initialised model folders for tests and benchmarks (no hub, seconds on a CPU).

Each `write_tiny_*` builds the components of a pretrained backend with tiny configs (as
diffusers' own fast tests do), tokenizers included (built here from a small vocabulary, never
downloaded), and saves them with `save_pretrained` in the very layout users give `--model`, so
tests load them through the backend's own loader. Weights are seeded: the same call writes the
same weights.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

from physreel.engine.backends.identity import SOURCE_FILE

CROSS_ATTENTION_DIM = 8
BLOCK_OUT_CHANNELS = (8, 8)
"""Two blocks: VAE scale factor 2, so a 32x32 video has a 16x16 latent grid."""


TINY_ORIGIN = "tiny random test model (physreel.engine.testing.tiny_models)"


def _mark_tiny(folder: Path) -> None:
    """The folder's own statement that it is a tiny random model (engine.backends.identity reads it)."""
    (folder / SOURCE_FILE).write_text(json.dumps({"origin": TINY_ORIGIN}, indent=2) + "\n")


def _write_clip_tokenizer(directory: Path) -> None:
    """A CLIP BPE tokenizer over lowercase letters and digits (each a token, as word-final too)."""
    from transformers import CLIPTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    symbols = list(string.ascii_lowercase + string.digits)
    tokens = ["<|startoftext|>", "<|endoftext|>", "!"] + symbols + [s + "</w>" for s in symbols]
    vocab = {token: index for index, token in enumerate(tokens)}
    (directory / "vocab.json").write_text(json.dumps(vocab))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        vocab_file=str(directory / "vocab.json"),
        merges_file=str(directory / "merges.txt"),
        model_max_length=16,
        pad_token="!",
    )
    tokenizer.save_pretrained(directory)


def write_tiny_animatediff(directory: str | Path, control_kinds: tuple[str, ...] = ("depth", "edges"),
                           variant: str | None = None) -> Path:
    """DIR/{base, motion_adapter, controlnet-<kind>...} with tiny SD 1.5-shaped components.

    `variant="fp16"` saves the base's and the ControlNets' weights as the hub repositories hold the
    copies physreel fetches (`*.fp16.safetensors`, nothing else); the motion adapter stays plain, as
    fetched. Each folder says what it is in its `physreel_source.json`."""
    import torch
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DDIMScheduler,
        MotionAdapter,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    directory = Path(directory)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=BLOCK_OUT_CHANNELS,
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=CROSS_ATTENTION_DIM,
        norm_num_groups=2,
    )
    torch.manual_seed(1)
    vae = AutoencoderKL(
        block_out_channels=BLOCK_OUT_CHANNELS,
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=2,
        sample_size=32,
    )
    torch.manual_seed(2)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=2,
            hidden_size=CROSS_ATTENTION_DIM,
            intermediate_size=16,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=80,
            max_position_embeddings=16,
        )
    )
    _write_clip_tokenizer(directory / "_tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(directory / "_tokenizer")
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False)
    base = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    base.save_pretrained(directory / "base", variant=variant)
    torch.manual_seed(3)
    MotionAdapter(
        block_out_channels=BLOCK_OUT_CHANNELS,
        motion_layers_per_block=1,
        motion_norm_num_groups=2,
        motion_num_attention_heads=2,
        motion_max_seq_length=32,
    ).save_pretrained(directory / "motion_adapter")
    _mark_tiny(directory / "base")
    _mark_tiny(directory / "motion_adapter")
    for seed, kind in enumerate(control_kinds, start=10):
        torch.manual_seed(seed)
        controlnet = ControlNetModel(
            block_out_channels=BLOCK_OUT_CHANNELS,
            layers_per_block=1,
            in_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            cross_attention_dim=CROSS_ATTENTION_DIM,
            conditioning_embedding_out_channels=(8, 8),
            norm_num_groups=2,
        )
        # A freshly built ControlNet has zero-initialised output convolutions (its "zero convs"):
        # it would add exactly nothing. Give them small random weights so that, like a trained
        # ControlNet, its control changes the video.
        with torch.no_grad():
            zero_convs = list(controlnet.controlnet_down_blocks) + [controlnet.controlnet_mid_block]
            for conv in zero_convs + [controlnet.controlnet_cond_embedding.conv_out]:
                conv.weight.normal_(0.0, 0.5)
        controlnet.save_pretrained(directory / f"controlnet-{kind}", variant=variant)
        _mark_tiny(directory / f"controlnet-{kind}")
    return directory


def write_tiny_sparsectrl_rgb(directory: str | Path, variant: str | None = None) -> Path:
    """DIR/sparsectrl-rgb: a tiny SparseCtrl RGB net for `write_tiny_animatediff`'s models (the RGB
    variant: `use_simplified_condition_embedding`, conditioned on the VAE's 4 latent channels).
    `variant="fp16"` names its weights as the hub repository's fp16 copy."""
    import torch
    from diffusers import SparseControlNetModel

    directory = Path(directory)
    torch.manual_seed(20)
    sparse = SparseControlNetModel(
        block_out_channels=BLOCK_OUT_CHANNELS,
        layers_per_block=1,
        in_channels=4,
        conditioning_channels=4,
        down_block_types=("CrossAttnDownBlockMotion", "DownBlockMotion"),
        cross_attention_dim=CROSS_ATTENTION_DIM,
        conditioning_embedding_out_channels=(8, 8),
        norm_num_groups=2,
        motion_num_attention_heads=2,
        motion_max_seq_length=32,
        use_simplified_condition_embedding=True,
    )
    # As for the tiny ControlNets: its zero-initialised output convolutions would add nothing.
    with torch.no_grad():
        for conv in [*sparse.controlnet_down_blocks, sparse.controlnet_mid_block, sparse.controlnet_cond_embedding]:
            conv.weight.normal_(0.0, 0.5)
    sparse.save_pretrained(directory / "sparsectrl-rgb", variant=variant)
    _mark_tiny(directory / "sparsectrl-rgb")
    return directory


def _write_t5_tokenizer(directory: Path) -> None:
    """A word-level fast tokenizer over lowercase letters' words, saved as tokenizer.json."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["<pad>", "</s>", "<unk>"] + list(string.ascii_lowercase) + ["a", "ball", "red", "blue", "box", "sphere", "floor"]
    vocab = {word: index for index, word in enumerate(dict.fromkeys(words))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=16
    )
    tokenizer.save_pretrained(directory)


def write_tiny_wan_vace(directory: str | Path) -> Path:
    """DIR/ as WanVACEPipeline.save_pretrained writes it, with tiny components (8x spatial, 4x temporal VAE)."""
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from transformers import AutoTokenizer, T5Config, T5EncoderModel

    directory = Path(directory)
    torch.manual_seed(0)
    vae = AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True])
    torch.manual_seed(1)
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=48, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
                 pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    )
    _write_t5_tokenizer(directory / "_tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(directory / "_tokenizer")
    torch.manual_seed(2)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=3,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        vace_layers=[0, 2],
        vace_in_channels=96,
    )
    # A random VACE branch barely moves a random Wan: its hints are small next to the main
    # stream. Amplify its input embedding and hint projections so the control visibly acts, as
    # it does in the trained model.
    with torch.no_grad():
        transformer.vace_patch_embedding.weight.mul_(10.0)
        for block in transformer.vace_blocks:
            block.proj_out.weight.mul_(30.0)
    pipe = WanVACEPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        transformer=transformer,
    )
    pipe.save_pretrained(directory)
    _mark_tiny(directory)
    return directory


def tiny_builtin_config():
    """The builtin model's architecture at 16 px with two small blocks (engine.builtin.model.BuiltinConfig):
    a forward pass takes milliseconds."""
    from physreel.engine.builtin.model import BuiltinConfig

    return BuiltinConfig(resolution=16, patch=2, block_out_channels=(16, 32), attention_levels=(False, True),
                         text_dim=32, attention_head_dim=8, norm_num_groups=8)


def write_tiny_builtin(directory: str | Path) -> Path:
    """DIR/builtin.safetensors + builtin.json: an untrained `tiny_builtin_config` model (seed 0), loadable
    with `BuiltinBackend(DIR)` or `--model DIR`."""
    import torch

    from physreel.engine.builtin.model import BuiltinModel, save_model

    directory = Path(directory)
    torch.manual_seed(0)
    save_model(BuiltinModel(tiny_builtin_config()), directory)
    return directory


TINY_COGVIDEOX_LORA = "T2Vtiny_nearest_lora_weights.safetensors"
"""Named as Go-with-the-Flow names its LoRAs: '_nearest_' says the temporal reduction it expects."""


def write_tiny_cogvideox_flow(directory: str | Path, lora_file: str = TINY_COGVIDEOX_LORA,
                              image_to_video: bool = False) -> Path:
    """DIR/base (a CogVideoX pipeline's save_pretrained folder, tiny components after diffusers' own
    fast tests: 8x spatial and 4x temporal VAE, 16 latent channels, a 32x32, 9-frame transformer;
    `image_to_video`: CogVideoXImageToVideoPipeline, whose transformer also reads the start frame's
    16 latent channels, with learned positional embeddings as CogVideoX-5b-I2V has) and
    DIR/lora/<lora_file> (a random rank-4 LoRA on every attention projection, in the format
    `load_lora_weights` reads, as Go-with-the-Flow's files are). Each folder says what it is in its
    `physreel_source.json`."""
    import torch
    from diffusers import (
        AutoencoderKLCogVideoX,
        CogVideoXDDIMScheduler,
        CogVideoXImageToVideoPipeline,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
    )
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from transformers import AutoTokenizer, T5Config, T5EncoderModel

    directory = Path(directory)
    torch.manual_seed(0)
    # inner dim 32 = the tiny T5's; RoPE (image-to-video) needs a head dim divisible by 16
    heads = dict(num_attention_heads=2, attention_head_dim=16) if image_to_video else \
        dict(num_attention_heads=4, attention_head_dim=8)
    transformer = CogVideoXTransformer3DModel(
        **heads,
        in_channels=32 if image_to_video else 16,
        out_channels=16,
        time_embed_dim=2,
        text_embed_dim=32,
        num_layers=2,
        sample_width=4,  # latent cells: 32 px
        sample_height=4,
        sample_frames=9,  # 3 latent frames
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=16,
        use_rotary_positional_embeddings=image_to_video,
        use_learned_positional_embeddings=image_to_video,
    )
    torch.manual_seed(1)
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=16,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )
    torch.manual_seed(2)
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=48, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, relative_attention_num_buckets=8,
                 pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    )
    _write_t5_tokenizer(directory / "_tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(directory / "_tokenizer")
    pipeline = CogVideoXImageToVideoPipeline if image_to_video else CogVideoXPipeline
    pipe = pipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                    scheduler=CogVideoXDDIMScheduler())
    pipe.save_pretrained(directory / "base")
    # The LoRA: peft's random init for both factors (init_lora_weights=False; a fresh LoRA's B is
    # zero and would change nothing), saved as diffusers saves a trained one.
    torch.manual_seed(3)
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    pipeline.save_lora_weights(directory / "lora", transformer_lora_layers=get_peft_model_state_dict(transformer),
                               weight_name=lora_file)
    _mark_tiny(directory / "base")
    _mark_tiny(directory / "lora")
    return directory

"""Real-scale smoke run of the cogvideox-flow backend: CogVideoX-2B's architecture with random
weights, a random Go-with-the-Flow-shaped LoRA, one step at 49 frames x 480 x 720, end to end
through `physreel.Pipeline` (simulation, passes, warped noise, the backend's own loader).

The architecture is the published one, as diffusers' conversion script builds CogVideoX-2B
(huggingface/diffusers scripts/convert_cogvideox_to_diffusers.py, commit 0103783: get_args()'s
comments and the __main__ block):
  transformer  CogVideoXTransformer3DModel(num_layers=30, num_attention_heads=30,
               use_rotary_positional_embeddings=False), every other argument its default
               (head dim 64, 16 latent channels, text_embed_dim 4096, 60x90 cells, 49 frames,
               patch 2, 226 text tokens);
  vae          AutoencoderKLCogVideoX(scaling_factor=1.15258426), the rest its defaults;
  text encoder google/t5-v1_1-xxl's encoder (T5Config: d_model 4096, d_ff 10240, d_kv 64, 64 heads,
               24 layers, vocab 32128, gated-gelu), built from that config with random weights;
  scheduler    CogVideoXDDIMScheduler with the script's config (v_prediction, snr_shift_scale 3,
               zero-SNR, trailing spacing).
The tokenizer is the tests' word-level one (no download), padded to 226 tokens. The LoRA is rank
64 on every attention projection (to_q, to_k, to_v, to_out.0), named '_nearest_' as GWTF names them.

It needs a GPU: one 2B step on 17,550 video tokens (+ 226 text) with classifier-free guidance is
about 3e14 floating-point operations, over an hour on a 2-core CPU. `--layers`, `--t5-layers`,
`--size`, `--frames` shrink it to check this script itself on a CPU.

Run: python bench/cogvideox_flow_scale.py [--device cuda] [--dtype float16] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_model(directory: Path, layers: int, t5_layers: int, dtype) -> Path:
    """DIR/base (CogVideoX-2B architecture, random) and DIR/lora (random rank-64 LoRA)."""
    import torch
    from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    from transformers import AutoTokenizer, T5Config, T5EncoderModel

    from physreel.engine.testing.tiny_models import _write_t5_tokenizer

    torch.manual_seed(0)
    transformer = CogVideoXTransformer3DModel(num_layers=layers, num_attention_heads=30,
                                              use_rotary_positional_embeddings=False)
    vae = AutoencoderKLCogVideoX(scaling_factor=1.15258426)
    text_encoder = T5EncoderModel(T5Config(vocab_size=32128, d_model=4096, d_ff=10240, d_kv=64, num_heads=64,
                                           num_layers=t5_layers, feed_forward_proj="gated-gelu",
                                           relative_attention_num_buckets=32, pad_token_id=0, eos_token_id=1))
    _write_t5_tokenizer(directory / "_tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(directory / "_tokenizer", model_max_length=226)
    scheduler = CogVideoXDDIMScheduler.from_config({
        "snr_shift_scale": 3.0, "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": True, "set_alpha_to_one": True, "timestep_spacing": "trailing",
    })
    pipe = CogVideoXPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                             scheduler=scheduler)
    pipe.to(dtype=dtype)
    pipe.save_pretrained(directory / "base")
    transformer.add_adapter(LoraConfig(r=64, lora_alpha=64, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    CogVideoXPipeline.save_lora_weights(directory / "lora", transformer_lora_layers=get_peft_model_state_dict(transformer),
                                        weight_name="T2V2B_random_nearest_lora_weights.safetensors")
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto: float16 on cuda (CogVideoX-2B's), float32 elsewhere")
    parser.add_argument("--layers", type=int, default=30, help="transformer blocks (CogVideoX-2B: 30)")
    parser.add_argument("--t5-layers", type=int, default=24, help="T5 encoder blocks (t5-v1_1-xxl: 24)")
    parser.add_argument("--size", default="720x480", help="WIDTHxHEIGHT (CogVideoX: 720x480)")
    parser.add_argument("--frames", type=int, default=49, help="video frames, 4k+1 (CogVideoX: 49)")
    parser.add_argument("--keep", type=Path, help="write the model folder here and keep it (default: a temporary one)")
    args = parser.parse_args()

    import torch

    from physreel.engine.backends.runtime import resolve_device, resolve_dtype
    from physreel.engine.pipeline import Pipeline
    import yaml

    from physreel.sim.spec import scene_from_data

    width, height = (int(v) for v in args.size.split("x"))
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="cogvideox-2b-random-"))
    started = time.perf_counter()
    write_model(folder, args.layers, args.t5_layers, dtype)
    written = time.perf_counter() - started

    # the README's bouncing ball, long enough for the frames asked for (24 fps)
    data = yaml.safe_load((REPO / "scenes" / "bouncing_ball.yaml").read_text())
    data["shot"]["duration"] = args.frames / data["shot"]["fps"]
    scene = scene_from_data(data, REPO / "scenes" / "bouncing_ball.yaml")
    overrides = {"backend": "cogvideox-flow", "model": str(folder), "steps": 1, "resolution": [width, height],
                 "device": args.device, "dtype": args.dtype}
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    result = Pipeline()(scene, runs=("guided",), overrides=overrides)
    ran = time.perf_counter() - started
    take = result.takes[0]
    report = {
        "device": device, "dtype": str(dtype).replace("torch.", ""), "model_folder": str(folder),
        "frames": list(take.frames.shape), "write_model_s": round(written, 1), "pipeline_s": round(ran, 1),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "noise": take.meta["noise"], "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1)
        if device == "cuda" else None,
    }
    print(json.dumps(report, indent=1))
    assert take.frames.shape == (args.frames, height, width, 3), take.frames.shape


if __name__ == "__main__":
    main()

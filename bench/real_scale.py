"""Real-scale smoke run of a diffusers backend without weights: the published architecture of every
component with random weights, written as a `--model` folder, then one denoising step at the real
size through physreel's own `Pipeline` (simulation, passes, control images, warped noise, the
backend's loader and pipeline call), recording wall time and peak memory.

Architectures (each from the published config, as the cited files give it):

animatediff (DIR/base, DIR/motion_adapter, DIR/controlnet-depth)
  unet          UNet2DConditionModel: block_out_channels (320, 640, 1280, 1280), layers_per_block 2,
                cross_attention_dim 768, attention_head_dim 8, 3 CrossAttnDownBlock2D + DownBlock2D,
                UpBlock2D + 3 CrossAttnUpBlock2D, sample_size 64, 4 channels in and out
                (stable-diffusion-v1-5 unet/config.json; diffusers scripts/convert_original_stable_diffusion_to_diffusers.py
                with v1-inference.yaml gives the same);
  vae           AutoencoderKL: block_out_channels (128, 256, 512, 512), layers_per_block 2, 4 latent
                channels, sample_size 512, scaling_factor 0.18215 (stable-diffusion-v1-5 vae/config.json);
  text encoder  CLIPTextModel of openai/clip-vit-large-patch14: hidden 768, intermediate 3072, 12 heads,
                12 layers, vocab 49408, 77 positions, quick_gelu (stable-diffusion-v1-5 text_encoder/config.json);
  motion        MotionAdapter of guoyww/animatediff-motion-adapter-v1-5-2 (its config.json): block_out_channels
                (320, 640, 1280, 1280), motion_layers_per_block 2, 8 heads, norm groups 32, max_seq_length 32,
                a motion mid block (diffusers scripts/convert_animatediff_motion_module_to_diffusers.py builds
                it with these values);
  controlnet    ControlNetModel of lllyasviel/control_v11f1p_sd15_depth (its config.json): the SD 1.5 UNet's
                encoder (as above) with conditioning_embedding_out_channels (16, 32, 96, 256);
  scheduler     SD 1.5's PNDM config (beta 0.00085..0.012 scaled_linear); the backend replaces it by DDIM.

wan-vace (DIR = a WanVACEPipeline folder), as diffusers scripts/convert_wan_to_diffusers.py builds
Wan-AI/Wan2.1-VACE-1.3B-diffusers (its "Wan-VACE-1.3B" entry and __main__):
  transformer   WanVACETransformer3DModel: 12 heads x 128, ffn 8960, 30 layers, patch (1, 2, 2), text_dim 4096,
                freq_dim 256, cross_attn_norm, qk_norm rms_norm_across_heads, vace_layers 0, 2, ..., 28,
                vace_in_channels 96;
  vae           AutoencoderKLWan with its defaults (base_dim 96, z_dim 16, dim_mult 1, 2, 4, 4, 2 res blocks,
                temporal downsampling False, True, True), as convert_vae() builds it;
  text encoder  google/umt5-xxl's encoder (UMT5Config: d_model 4096, d_ff 10240, d_kv 64, 64 heads, 24 layers,
                vocab 256384, gated-gelu, 32 buckets);
  scheduler     UniPCMultistepScheduler(prediction_type flow_prediction, use_flow_sigmas, flow_shift 3.0).

cogvideox-flow: bench/cogvideox_flow_scale.py's CogVideoX-2B (its docstring cites the values).

The tokenizers are the tests' small ones (no download), padded to the model's real prompt length, so
the prompt embeddings have their real shape ([1, 77, 768] for CLIP; [1, 226, 4096] for the T5s).
`--small-text-encoder` keeps a T5 encoder's real width (4096, so the same embedding shape) but builds
2 of its 24 layers and only the test tokenizer's vocabulary: the full umT5-xxl / T5-xxl encoder is
5.7 / 4.8 billion parameters, 21 / 18 GiB in float32, more than this benchmark's CPU can hold beside
the video model. It runs once per prompt, never per denoising step; the output says when it was used.

Measured: wall seconds of each stage (physreel's own timing), the denoiser's forward calls (the UNet and
ControlNet, or the transformer: the network time of the step), and peak memory: the process's peak
resident set (ru_maxrss; the model folder is written in a child process so it is not counted) and,
on CUDA, torch.cuda.max_memory_allocated for the run without and with cpu_offload + vae_tiling.

Run: python bench/real_scale.py --backend animatediff [--frames 16] [--size 512x512] [--device cuda]
     python bench/real_scale.py --backend wan-vace --frames 81 --size 832x480
     python bench/real_scale.py --backend animatediff --shrink      (seconds: the same code path, tiny)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

BACKENDS = ("animatediff", "wan-vace", "cogvideox-flow")
REAL_SHAPE = {"animatediff": (16, 512, 512), "wan-vace": (81, 832, 480), "cogvideox-flow": (49, 720, 480)}
"""(frames, width, height): SD 1.5 + AnimateDiff's 16-frame context at 512 px; Wan2.1 VACE 1.3B's 480p;
CogVideoX-2B's 49 frames at 720x480."""
SHRINK_SHAPE = {"animatediff": (4, 64, 64), "wan-vace": (5, 64, 48), "cogvideox-flow": (9, 64, 48)}
DENOISERS = ("UNetMotionModel", "ControlNetModel", "WanVACETransformer3DModel", "CogVideoXTransformer3DModel")
"""Module classes whose forward calls are the denoising network's work."""
SOURCE_FILE = "physreel_source.json"


def _mark(folder: Path, what: str) -> None:
    """The folder's own statement of what it is (engine/backends/identity.py reads it)."""
    (folder / SOURCE_FILE).write_text(json.dumps({"origin": f"random weights, published architecture: {what} "
                                                            "(bench/real_scale.py)"}, indent=2) + "\n")


def _t5_tokenizer(directory: Path, max_length: int):
    from transformers import AutoTokenizer

    from physreel.engine.testing.tiny_models import _write_t5_tokenizer

    _write_t5_tokenizer(directory / "_tokenizer")
    return AutoTokenizer.from_pretrained(directory / "_tokenizer", model_max_length=max_length)


def write_animatediff(directory: Path, shrink: bool, small_text_encoder: bool, dtype) -> dict:
    """DIR/{base, motion_adapter, controlnet-depth}: SD 1.5 + motion adapter v1-5-2 + ControlNet v1.1 depth."""
    import torch
    from diffusers import AutoencoderKL, ControlNetModel, MotionAdapter, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from physreel.engine.testing.tiny_models import _write_clip_tokenizer

    channels = (32, 32, 64, 64) if shrink else (320, 640, 1280, 1280)
    vae_channels = (32, 32, 32, 32) if shrink else (128, 256, 512, 512)
    groups = 8 if shrink else 32
    heads = 2 if shrink else 8
    width = 32 if shrink else 768
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=channels,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        cross_attention_dim=width, attention_head_dim=heads, norm_num_groups=groups,
    )
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=vae_channels,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=groups, sample_size=512, scaling_factor=0.18215,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=width, intermediate_size=4 * width, num_attention_heads=2 if shrink else 12,
        num_hidden_layers=2 if shrink or small_text_encoder else 12, max_position_embeddings=77, hidden_act="quick_gelu",
        projection_dim=width, bos_token_id=0, eos_token_id=1, pad_token_id=2,
    ))
    _write_clip_tokenizer(directory / "_tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(directory / "_tokenizer", model_max_length=77)
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                              steps_offset=1, set_alpha_to_one=False)
    base = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    base.to(dtype=dtype)
    base.save_pretrained(directory / "base")
    _mark(directory / "base", "stable-diffusion-v1-5")
    del base, unet, vae, text_encoder
    adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=2, motion_mid_block_layers_per_block=1,
                            motion_num_attention_heads=heads, motion_norm_num_groups=groups, motion_max_seq_length=32,
                            use_motion_mid_block=True)
    adapter.to(dtype=dtype).save_pretrained(directory / "motion_adapter")
    _mark(directory / "motion_adapter", "guoyww/animatediff-motion-adapter-v1-5-2")
    del adapter
    controlnet = ControlNetModel(
        in_channels=4, layers_per_block=2, block_out_channels=channels,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",), cross_attention_dim=width,
        attention_head_dim=heads, norm_num_groups=groups,
        conditioning_embedding_out_channels=(16, 32, 96, 256),
    )
    controlnet.to(dtype=dtype).save_pretrained(directory / "controlnet-depth")
    _mark(directory / "controlnet-depth", "lllyasviel/control_v11f1p_sd15_depth")
    return {}


def write_wan_vace(directory: Path, shrink: bool, small_text_encoder: bool, dtype) -> dict:
    """DIR as WanVACEPipeline.save_pretrained writes Wan2.1-VACE-1.3B-diffusers."""
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanVACEPipeline, WanVACETransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = _t5_tokenizer(directory, 226)
    small = shrink or small_text_encoder
    text_width = 32 if shrink else 4096
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(
        vocab_size=len(tokenizer) if small else 256384, d_model=text_width, d_ff=64 if shrink else 10240,
        d_kv=8 if shrink else 64, num_heads=4 if shrink else 64, num_layers=2 if small else 24,
        feed_forward_proj="gated-gelu", relative_attention_num_buckets=32, pad_token_id=0, eos_token_id=1,
    ))
    vae = AutoencoderKLWan(base_dim=8 if shrink else 96, z_dim=16)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2 if shrink else 12, attention_head_dim=16 if shrink else 128,
        in_channels=16, out_channels=16, text_dim=text_width, freq_dim=256, ffn_dim=64 if shrink else 8960,
        num_layers=4 if shrink else 30, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
        vace_layers=[0, 2] if shrink else list(range(0, 30, 2)), vace_in_channels=96,
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                        flow_shift=3.0)
    pipe = WanVACEPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler)
    pipe.to(dtype=dtype)
    pipe.save_pretrained(directory)
    _mark(directory, "Wan-AI/Wan2.1-VACE-1.3B-diffusers")
    return {}


def write_cogvideox(directory: Path, shrink: bool, small_text_encoder: bool, dtype) -> dict:
    """bench/cogvideox_flow_scale.py's CogVideoX-2B folder and its random Go-with-the-Flow LoRA."""
    from cogvideox_flow_scale import write_model

    write_model(directory, layers=2 if shrink else 30, t5_layers=2 if shrink or small_text_encoder else 24, dtype=dtype)
    return {}


WRITERS = {"animatediff": write_animatediff, "wan-vace": write_wan_vace, "cogvideox-flow": write_cogvideox}


def write_model_folder(backend: str, folder: Path, shrink: bool, small_text_encoder: bool, dtype_name: str) -> dict:
    """Write the folder in a child process (its peak memory is not the run's) and return the writer's record."""
    command = [sys.executable, __file__, "--backend", backend, "--write-only", str(folder), "--dtype", dtype_name]
    command += ["--shrink"] * shrink + ["--small-text-encoder"] * small_text_encoder
    subprocess.run(command, check=True)
    return json.loads((folder / "_written.json").read_text())


class DenoiserClock:
    """Wall seconds spent in the forward calls of the denoising networks (`DENOISERS`), outermost only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._started: dict[int, float] = {}
        self._handles = []

    def __enter__(self):
        from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook

        self._handles = [register_module_forward_pre_hook(self._pre), register_module_forward_hook(self._post)]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def _pre(self, module, args) -> None:
        if type(module).__name__ in DENOISERS:
            self._started[id(module)] = time.perf_counter()

    def _post(self, module, args, output) -> None:
        name = type(module).__name__
        if name in DENOISERS and id(module) in self._started:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - self._started.pop(id(module))
            self.calls[name] = self.calls.get(name, 0) + 1
            # as it happens, so a run stopped later (a watchdog, a deadline) still leaves its step time
            print(f"real_scale: {name} forward {self.calls[name]}: {self.seconds[name]:.1f} s in all, "
                  f"peak RSS {peak_rss_gib():.2f} GiB", file=sys.stderr, flush=True)


def peak_rss_gib() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run_once(scene, overrides: dict, device: str) -> dict:
    """One Pipeline run; its stage seconds, denoiser seconds and (CUDA) peak allocated memory."""
    import torch

    from physreel.engine.pipeline import Pipeline

    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    with DenoiserClock() as clock:
        result = Pipeline()(scene, runs=("guided",), overrides=overrides)
    take = result.takes[0]
    return {
        "pipeline_s": round(time.perf_counter() - started, 1),
        "stage_s": {k: round(v, 1) for k, v in result.seconds.items()},
        "denoiser_s": {k: round(v, 1) for k, v in clock.seconds.items()},
        "denoiser_calls": clock.calls,
        "frames_shape": list(take.frames.shape),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device == "cuda" else None,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--frames", type=int, help="video frames (default: the model's real count)")
    parser.add_argument("--size", help="WIDTHxHEIGHT (default: the model's real size)")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto", help="auto: float16 on cuda, float32 elsewhere")
    parser.add_argument("--shrink", action="store_true", help="tiny widths, same code path: a seconds-long check of this script")
    parser.add_argument("--small-text-encoder", action="store_true",
                        help="T5/CLIP text encoder with 2 layers (T5: and the test vocabulary) at its real width")
    parser.add_argument("--keep", type=Path, help="write the model folder here and keep it (default: a temporary one, removed)")
    parser.add_argument("--json", type=Path, help="also write the record here")
    parser.add_argument("--write-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import torch

    from physreel.engine.backends.runtime import resolve_device, resolve_dtype

    if args.write_only is not None:  # the child process of write_model_folder
        dtype = getattr(torch, args.dtype)
        args.write_only.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        record = WRITERS[args.backend](args.write_only, args.shrink, args.small_text_encoder, dtype)
        record["write_s"] = round(time.perf_counter() - started, 1)
        record["write_peak_rss_gib"] = round(peak_rss_gib(), 2)
        (args.write_only / "_written.json").write_text(json.dumps(record))
        return record

    import yaml

    from physreel.sim.spec import scene_from_data

    frames, width, height = (SHRINK_SHAPE if args.shrink else REAL_SHAPE)[args.backend]
    frames = args.frames or frames
    if args.size:
        width, height = (int(v) for v in args.size.split("x"))
    device = resolve_device(args.device)  # before anything is written: a missing GPU stops here
    dtype = resolve_dtype(args.dtype, device)
    dtype_name = str(dtype).replace("torch.", "")
    folder = args.keep or Path(tempfile.mkdtemp(prefix=f"{args.backend}-random-"))
    written = write_model_folder(args.backend, folder, args.shrink, args.small_text_encoder, dtype_name)

    # the README's bouncing ball, long enough for the frames asked for
    data = yaml.safe_load((REPO / "scenes" / "bouncing_ball.yaml").read_text())
    data["shot"]["duration"] = frames / data["shot"]["fps"]
    scene = scene_from_data(data, REPO / "scenes" / "bouncing_ball.yaml")
    overrides = {"backend": args.backend, "model": str(folder), "steps": args.steps,
                 "resolution": [width, height], "device": args.device, "dtype": args.dtype}
    rss_before = peak_rss_gib()
    runs = {"plain": run_once(scene, overrides, device)}
    if device == "cuda":  # the memory presets: weights offloaded to the CPU between models, the VAE tiled
        runs["cpu_offload+vae_tiling"] = run_once(scene, {**overrides, "cpu_offload": True, "vae_tiling": True}, device)
    record = {
        "backend": args.backend, "device": device, "dtype": dtype_name, "shrink": args.shrink,
        "small_text_encoder": args.small_text_encoder, "frames": frames, "size": f"{width}x{height}",
        "steps": args.steps, "torch_threads": torch.get_num_threads(), "model_folder": str(folder),
        "write": written, "peak_rss_gib_before_run": round(rss_before, 2), "peak_rss_gib": round(peak_rss_gib(), 2),
        "runs": runs,
    }
    print(json.dumps(record, indent=1))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    if args.keep is None:  # gigabytes of random weights
        shutil.rmtree(folder)
    for run in runs.values():
        assert run["frames_shape"] == [frames, height, width, 3] or args.backend == "wan-vace" and \
            run["frames_shape"] == [(frames - 1) // 4 * 4 + 1, height, width, 3], run["frames_shape"]
    return record


if __name__ == "__main__":
    main()

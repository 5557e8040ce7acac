"""The `animatediff` backend: Stable Diffusion 1.5 + an AnimateDiff MotionAdapter + ControlNets.

Guided runs use diffusers' `AnimateDiffControlNetPipeline` (one `ControlNetModel`, or a
`MultiControlNetModel` with its own scale and guidance start/end per control); unguided runs use
`AnimateDiffPipeline` built from the very same UNet, VAE, text encoder and scheduler. Shots longer
than the motion module's 16-frame context run through FreeNoise windows (16 frames, stride 4).
The initial latents are always made by physreel (engine/noise_warp.py): warped along the
simulated flow, or independent per frame.

Model directory layout (`--model DIR` or `generate.model`), each folder as `save_pretrained`
writes it; a folder that is absent is looked up in the local Hugging Face cache by its id:

    DIR/base/               stable-diffusion-v1-5/stable-diffusion-v1-5   (model_index.json, unet/, vae/, ...)
    DIR/motion_adapter/     guoyww/animatediff-motion-adapter-v1-5-2      (config.json + weights)
    DIR/controlnet-depth/   lllyasviel/control_v11f1p_sd15_depth
    DIR/controlnet-pose/    lllyasviel/control_v11p_sd15_openpose
    DIR/controlnet-edges/   lllyasviel/control_v11p_sd15_canny
    DIR/controlnet-normal/  lllyasviel/control_v11p_sd15_normalbae
    DIR/controlnet-seg/     lllyasviel/control_v11p_sd15_seg
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from physreel.sim.timing import timed

from ..errors import BackendError
from ..records import GeneratedVideo, GenerationRequest, ShapePlan
from .base import Backend, BackendInfo, ModelRequirement, native_size
from .diffusers_common import (
    LoadedPipeline,
    PipelineEntry,
    apply_memory_flags,
    dtype_kwargs,
    pipeline_frames,
    pipeline_meta,
    quiet_loading,
)
from .runtime import (
    WeightHasher,
    fetch_command,
    hub_offline,
    locate_model,
    missing_model_error,
    resolve_device,
    resolve_dtype,
)

BASE_ID = "stable-diffusion-v1-5/stable-diffusion-v1-5"
MOTION_ADAPTER_ID = "guoyww/animatediff-motion-adapter-v1-5-2"
CONTROLNET_IDS = {
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "pose": "lllyasviel/control_v11p_sd15_openpose",
    "edges": "lllyasviel/control_v11p_sd15_canny",
    "normal": "lllyasviel/control_v11p_sd15_normalbae",
    "seg": "lllyasviel/control_v11p_sd15_seg",
}
CONTEXT_LENGTH = 16
"""Frames the v1-5-2 motion module was trained on: FreeNoise windows are this long."""
CONTEXT_STRIDE = 4
DEFAULT_VAE_SCALE_FACTOR = 8
NATIVE_SHORT_SIDE = 512
"""Stable Diffusion 1.5 was trained at 512x512."""


class AnimateDiffBackend(Backend):
    name = "animatediff"
    controls = tuple(CONTROLNET_IDS)
    control_options = MappingProxyType({"depth": MappingProxyType({"scope": "frame"})})
    """ControlNet v1.1's annotators, control_image's defaults: MiDaS depth min-max per frame, ADE20K
    classes for seg, white-on-black lines for edges, RGB OpenPose colours."""

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._pipelines: dict[tuple, PipelineEntry] = {}
        self._hasher = WeightHasher()

    # ------------------------------------------------------------------ what it needs
    def _requirements(self) -> dict[str, tuple[str, str, str]]:
        """role -> (subdir, model id, marker file)."""
        roles = {
            "base": ("base", BASE_ID, "model_index.json"),
            "motion_adapter": ("motion_adapter", MOTION_ADAPTER_ID, "config.json"),
        }
        for kind, model_id in CONTROLNET_IDS.items():
            roles[f"controlnet-{kind}"] = (f"controlnet-{kind}", model_id, "config.json")
        return roles

    def describe(self) -> BackendInfo:
        requirements = []
        for role, (subdir, model_id, marker) in self._requirements().items():
            found = locate_model(self.model_path, subdir, model_id, marker)
            requirements.append(
                ModelRequirement(
                    role=role,
                    model_id=model_id,
                    found=found is not None,
                    location=None if found is None else str(found),
                    fetch_command=fetch_command(model_id, self.model_path, subdir),
                    optional=role.startswith("controlnet-") and role != "controlnet-depth",
                )
            )
        return BackendInfo(
            name=self.name,
            description="Stable Diffusion 1.5 + AnimateDiff motion adapter + ControlNet(s) (diffusers "
            "AnimateDiffControlNetPipeline; FreeNoise windows beyond 16 frames)",
            requirements=tuple(requirements),
            controls=self.controls,
            model_dir_layout="DIR/{base,motion_adapter,controlnet-depth,controlnet-pose,controlnet-edges,"
            "controlnet-normal,controlnet-seg}, each as save_pretrained writes it",
        )

    def _locate(self, role: str) -> Path:
        subdir, model_id, marker = self._requirements()[role]
        found = locate_model(self.model_path, subdir, model_id, marker)
        if found is None:
            raise missing_model_error(self.name, role, model_id, self.model_path, subdir)
        return found

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        for kind in control_kinds:
            if kind not in CONTROLNET_IDS:
                raise BackendError(f"{self.name} has no {kind!r} ControlNet; it takes {', '.join(self.controls)}", "controls")
        for role in ("base", "motion_adapter", *(f"controlnet-{k}" for k in control_kinds)):
            self._locate(role)

    # ------------------------------------------------------------------ shape
    def vae_scale_factor(self) -> int:
        """2^(VAE blocks - 1) from the base model's VAE config (8 for SD 1.5)."""
        subdir, model_id, marker = self._requirements()["base"]
        base = locate_model(self.model_path, subdir, model_id, marker)
        if base is None or not (base / "vae" / "config.json").is_file():
            return DEFAULT_VAE_SCALE_FACTOR
        config = json.loads((base / "vae" / "config.json").read_text())
        return 2 ** (len(config.get("block_out_channels", [0] * 4)) - 1)

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """SD 1.5's native 512 px on the shorter side, at the shot's aspect ratio."""
        return native_size(pass_size, NATIVE_SHORT_SIDE, self.vae_scale_factor())

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        """Sizes rounded down to multiples of the VAE scale factor (SD's latent grid); any frame count."""
        k = self.vae_scale_factor()
        new_w, new_h = max(k, width // k * k), max(k, height // k * k)
        notes = ()
        if (new_w, new_h) != (width, height):
            notes = (f"{self.name}: size {width}x{height} is not a multiple of {k}; generating {new_w}x{new_h}",)
        return ShapePlan(num_frames, new_w, new_h, notes)

    # ------------------------------------------------------------------ loading
    def load_pipeline(self, kinds: tuple[str, ...], device: str, dtype) -> PipelineEntry:
        """The pipeline for these control kinds (empty: unguided), loaded from local files only; cached."""
        key = (kinds, device, str(dtype))
        if key not in self._pipelines:
            with quiet_loading(), timed("model load"):
                self._pipelines[key] = PipelineEntry(self._load(kinds, device, dtype))
        return self._pipelines[key]

    def _load(self, kinds: tuple[str, ...], device: str, dtype) -> LoadedPipeline:
        from diffusers import (
            AnimateDiffControlNetPipeline,
            AnimateDiffPipeline,
            ControlNetModel,
            DDIMScheduler,
            MotionAdapter,
        )
        from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel

        # 1. locate every folder first, so a missing one is reported before any loading
        base = self._locate("base")
        adapter_dir = self._locate("motion_adapter")
        controlnet_dirs = [self._locate(f"controlnet-{kind}") for kind in kinds]
        # 2. load
        local = {"local_files_only": True, **dtype_kwargs(dtype)}
        with hub_offline():
            adapter = MotionAdapter.from_pretrained(adapter_dir, **local)
            if kinds:
                nets = [ControlNetModel.from_pretrained(d, **local) for d in controlnet_dirs]
                controlnet = nets[0] if len(nets) == 1 else MultiControlNetModel(nets)
                pipe = AnimateDiffControlNetPipeline.from_pretrained(
                    base, motion_adapter=adapter, controlnet=controlnet, **local
                )
            else:
                pipe = AnimateDiffPipeline.from_pretrained(base, motion_adapter=adapter, **local)
        # AnimateDiff's recommended sampler for SD 1.5 motion modules (its model card)
        pipe.scheduler = DDIMScheduler.from_config(
            pipe.scheduler.config, beta_schedule="linear", clip_sample=False, timestep_spacing="linspace", steps_offset=1
        )
        pipe.to(device)
        sources = {
            "base": (BASE_ID, base),
            "motion_adapter": (MOTION_ADAPTER_ID, adapter_dir),
            **{f"controlnet-{k}": (CONTROLNET_IDS[k], d) for k, d in zip(kinds, controlnet_dirs)},
        }
        return LoadedPipeline(pipe, sources)

    # ------------------------------------------------------------------ generation
    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        import torch

        from ..noise_warp import independent_noise, warped_noise

        # 1. check and resolve
        self.check_request(request)
        device = resolve_device(request.device)
        dtype = resolve_dtype(request.dtype, device)
        kinds = tuple(c.kind for c in request.controls)
        # 2. load and set the memory flags
        entry = self.load_pipeline(kinds, device, dtype)
        pipe = entry.loaded.pipe
        entry.offloaded = apply_memory_flags(pipe, request, device, entry.offloaded)
        free_noise = request.num_frames > CONTEXT_LENGTH
        if free_noise:
            pipe.enable_free_noise(context_length=CONTEXT_LENGTH, context_stride=CONTEXT_STRIDE)
        elif pipe.free_noise_enabled:
            pipe.disable_free_noise()
        pipe.set_progress_bar_config(disable=not progress)
        # 3. initial noise: [1, C, T, h, w]
        k = pipe.vae_scale_factor
        shape = (request.num_frames, pipe.unet.config.in_channels, request.height // k, request.width // k)
        if request.noise_flow is not None:
            noise = warped_noise(shape[1], shape[2], shape[3], request.noise_flow, request.seed)
        else:
            noise = independent_noise(shape, request.seed)
        latents = noise.permute(1, 0, 2, 3)[None].to(device=device, dtype=dtype)
        # 4. run
        kwargs: dict[str, Any] = dict(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or None,
            num_frames=request.num_frames,
            height=request.height,
            width=request.width,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(request.seed),
            latents=latents,
            output_type="np",
        )
        if kinds:
            kwargs.update(control_kwargs(request))
        with torch.inference_mode():
            output = pipe(**kwargs)
        frames = pipeline_frames(output)
        # 5. record
        meta = pipeline_meta(
            self.name, entry.loaded, request,
            resolved={"device": device, "dtype": str(dtype).replace("torch.", ""), "vae_scale_factor": k},
            noise={"latent_shape": list(shape)}, hasher=self._hasher,
        )
        meta["free_noise"] = {"context_length": CONTEXT_LENGTH, "context_stride": CONTEXT_STRIDE} if free_noise else None
        return GeneratedVideo(frames=frames, fps=request.fps, meta=meta)


def control_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """The ControlNet arguments of the pipeline call: frames as PIL lists, per-control scale/start/end."""
    from PIL import Image

    videos = [[Image.fromarray(frame) for frame in control.frames] for control in request.controls]
    if len(videos) == 1:
        control = request.controls[0]
        return {
            "conditioning_frames": videos[0],
            "controlnet_conditioning_scale": float(control.scale),
            "control_guidance_start": float(control.start),
            "control_guidance_end": float(control.end),
        }
    return {
        "conditioning_frames": videos,
        "controlnet_conditioning_scale": [float(c.scale) for c in request.controls],
        "control_guidance_start": [float(c.start) for c in request.controls],
        "control_guidance_end": [float(c.end) for c in request.controls],
    }

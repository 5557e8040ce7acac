"""The `animatediff` backend: Stable Diffusion 1.5 + an AnimateDiff MotionAdapter + ControlNets.

Guided runs use diffusers' `AnimateDiffControlNetPipeline` (one `ControlNetModel`, or a
`MultiControlNetModel` with its own scale and guidance start/end per control); unguided runs use
`AnimateDiffPipeline` built from the very same UNet, VAE, text encoder and scheduler. Shots longer
than the motion module's 16-frame context run through FreeNoise windows (16 frames, stride 4).
The initial latents are always made by physreel (engine/noise_warp.py): warped along the
simulated flow, or independent per frame.

A start image (`generate.image`) is read through SparseCtrl RGB (diffusers'
`AnimateDiffSparseControlNetPipeline` with the `SparseControlNetModel` of
guoyww/animatediff-sparsectrl-rgb, which encodes the picture with the VAE,
`use_simplified_condition_embedding`): the picture conditions frame 0 (`controlnet_frame_indices=[0]`,
mask 1 there and 0 elsewhere) at conditioning scale 1. In a guided run the physics ControlNets act
in the same pipeline through `SparseCtrlWithControlNets` (engine/backends/sparse_ctrl.py says why
and how). That pipeline has no FreeNoise windows, so a shot with a start image makes at most 16
frames.

Model directory layout (`--model DIR` or `generate.model`), each folder as `save_pretrained`
writes it; a folder that is absent is looked up in the local Hugging Face cache by its id (the
files each loads and the command that fetches them: engine/backends/model_files.py):

    DIR/base/               stable-diffusion-v1-5/stable-diffusion-v1-5   (model_index.json, unet/, vae/, ...)
    DIR/motion_adapter/     guoyww/animatediff-motion-adapter-v1-5-2      (config.json + weights)
    DIR/controlnet-depth/   lllyasviel/control_v11f1p_sd15_depth
    DIR/controlnet-pose/    lllyasviel/control_v11p_sd15_openpose
    DIR/controlnet-edges/   lllyasviel/control_v11p_sd15_canny
    DIR/controlnet-normal/  lllyasviel/control_v11p_sd15_normalbae
    DIR/controlnet-seg/     lllyasviel/control_v11p_sd15_seg
    DIR/sparsectrl-rgb/     guoyww/animatediff-sparsectrl-rgb            (for generate.image; trained with the
                            v3 motion module, guoyww/animatediff-motion-adapter-v1-5-3, which DIR/motion_adapter
                            should then hold)
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

from physreel.sim.spec.model import GenerateSpec
from physreel.sim.timing import timed

from ..errors import BackendError
from ..records import GeneratedVideo, GenerationRequest, ShapePlan
from .base import Backend, BackendInfo, native_size, size_rounded_down
from .diffusers_common import (
    LoadedPipeline,
    PipelineEntry,
    apply_memory_flags,
    dtype_kwargs,
    pipeline_frames,
    pipeline_meta,
    quiet_loading,
    request_kwargs,
)
from .model_files import MOTION_ADAPTER, SD15_BASE, ModelFiles, controlnet_v11, weights_variant
from .runtime import (
    WeightHasher,
    hub_offline,
    locate_model,
    missing_models_error,
    model_requirement,
    resolve_device,
    resolve_dtype,
)

BASE_ID = SD15_BASE.repo_id
MOTION_ADAPTER_ID = MOTION_ADAPTER.repo_id
CONTROLNET_IDS = {
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "pose": "lllyasviel/control_v11p_sd15_openpose",
    "edges": "lllyasviel/control_v11p_sd15_canny",
    "normal": "lllyasviel/control_v11p_sd15_normalbae",
    "seg": "lllyasviel/control_v11p_sd15_seg",
}
CONTROLNET_FILES = {kind: controlnet_v11(repo_id) for kind, repo_id in CONTROLNET_IDS.items()}
IMAGE_ROLE = "sparsectrl-rgb"
SPARSECTRL_RGB = ModelFiles(
    "guoyww/animatediff-sparsectrl-rgb",
    ("config.json", "diffusion_pytorch_model.fp16.safetensors"),
    "config.json",
)
"""SparseCtrl RGB (for generate.image): the repository holds config.json, the fp16 safetensors (994 MB)
and an fp32 copy (1.99 GB), listed at huggingface.co/guoyww/animatediff-sparsectrl-rgb (commit c9d1e5b)."""
CONTEXT_LENGTH = 16
"""Frames the v1-5-2 motion module was trained on: FreeNoise windows are this long."""
CONTEXT_STRIDE = 4
DEFAULT_VAE_SCALE_FACTOR = 8
NATIVE_SHORT_SIDE = 512
"""Stable Diffusion 1.5 was trained at 512x512."""


class AnimateDiffBackend(Backend):
    name = "animatediff"
    controls = tuple(CONTROLNET_IDS)
    image_route = "SparseCtrl RGB at frame 0 (AnimateDiffSparseControlNetPipeline), with the physics ControlNets in a guided run"
    control_options = MappingProxyType({"depth": MappingProxyType({"scope": "frame"})})
    """ControlNet v1.1's annotators, control_image's defaults: MiDaS depth min-max per frame, ADE20K
    classes for seg, white-on-black lines for edges, RGB OpenPose colours."""

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._pipelines: dict[tuple, PipelineEntry] = {}
        self._hasher = WeightHasher()

    # ------------------------------------------------------------------ what it needs
    def _requirements(self) -> dict[str, tuple[str, ModelFiles]]:
        """role -> (subdir of the --model layout, the files it loads)."""
        roles = {"base": ("base", SD15_BASE), "motion_adapter": ("motion_adapter", MOTION_ADAPTER)}
        for kind, files in CONTROLNET_FILES.items():
            roles[f"controlnet-{kind}"] = (f"controlnet-{kind}", files)
        roles[IMAGE_ROLE] = (IMAGE_ROLE, SPARSECTRL_RGB)
        return roles

    def describe(self) -> BackendInfo:
        requirements = tuple(
            model_requirement(role, files, self.model_path, subdir,
                              optional=role not in ("base", "motion_adapter", "controlnet-depth"))
            for role, (subdir, files) in self._requirements().items()
        )
        return BackendInfo(
            name=self.name,
            description="Stable Diffusion 1.5 + AnimateDiff motion adapter + ControlNet(s) (diffusers "
            "AnimateDiffControlNetPipeline; FreeNoise windows beyond 16 frames)",
            requirements=requirements,
            controls=self.controls,
            model_dir_layout="DIR/{base,motion_adapter,controlnet-depth,controlnet-pose,controlnet-edges,"
            "controlnet-normal,controlnet-seg,sparsectrl-rgb}, each as save_pretrained writes it (sparsectrl-rgb: "
            "for generate.image)",
        )

    def _locate_all(self, roles: tuple[str, ...]) -> dict[str, Path]:
        """role -> its folder, for every role; one ModelNotFoundError naming every missing one."""
        found, missing = {}, []
        for role in roles:
            subdir, files = self._requirements()[role]
            folder = locate_model(self.model_path, subdir, files.repo_id, files.marker)
            if folder is None:
                missing.append((role, files, subdir))
            found[role] = folder
        if missing:
            raise missing_models_error(self.name, missing, self.model_path)
        return found

    def check_settings(self, generate: GenerateSpec) -> None:
        """A start image needs the SparseCtrl RGB model, looked for before any simulation."""
        super().check_settings(generate)
        if generate.image is not None:
            self._locate_all((IMAGE_ROLE,))

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        for kind in control_kinds:
            if kind not in CONTROLNET_IDS:
                raise BackendError(f"{self.name} has no {kind!r} ControlNet; it takes {', '.join(self.controls)}", "controls")
        self._locate_all(("base", "motion_adapter", *(f"controlnet-{k}" for k in control_kinds)))

    def check_plan(self, generate: GenerateSpec, shape: ShapePlan) -> None:
        """A start image with more frames than the motion module's context is refused before any simulation."""
        _check_image_frames(generate.image is not None, shape.num_frames)

    def check_request(self, request: GenerationRequest) -> None:
        super().check_request(request)
        _check_image_frames(request.image is not None, request.num_frames)

    # ------------------------------------------------------------------ shape
    def vae_scale_factor(self) -> int:
        """2^(VAE blocks - 1) from the base model's VAE config (8 for SD 1.5)."""
        subdir, files = self._requirements()["base"]
        base = locate_model(self.model_path, subdir, files.repo_id, files.marker)
        if base is None or not (base / "vae" / "config.json").is_file():
            return DEFAULT_VAE_SCALE_FACTOR
        config = json.loads((base / "vae" / "config.json").read_text())
        return 2 ** (len(config.get("block_out_channels", [0] * 4)) - 1)

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """SD 1.5's native 512 px on the shorter side, at the shot's aspect ratio."""
        return native_size(pass_size, NATIVE_SHORT_SIDE, self.vae_scale_factor())

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        """Sizes rounded down to multiples of the VAE scale factor (SD's latent grid); any frame count."""
        new_w, new_h, notes = size_rounded_down(self.name, width, height, self.vae_scale_factor())
        return ShapePlan(num_frames, new_w, new_h, notes)

    # ------------------------------------------------------------------ loading
    def load_pipeline(self, kinds: tuple[str, ...], device: str, dtype, image: bool = False) -> PipelineEntry:
        """The pipeline for these control kinds (empty: unguided), with SparseCtrl RGB for a start
        `image`, loaded from local files only; cached."""
        key = (kinds, image, device, str(dtype))
        if key not in self._pipelines:
            with quiet_loading(), timed("model load"):
                self._pipelines[key] = PipelineEntry(self._load(kinds, device, dtype, image))
        return self._pipelines[key]

    def _load(self, kinds: tuple[str, ...], device: str, dtype, image: bool) -> LoadedPipeline:
        from diffusers import (
            AnimateDiffControlNetPipeline,
            AnimateDiffPipeline,
            AnimateDiffSparseControlNetPipeline,
            ControlNetModel,
            DDIMScheduler,
            MotionAdapter,
        )
        from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel

        from .sparse_ctrl import SparseCtrlWithControlNets

        # 1. locate every folder first, so every missing one is reported before any loading
        roles = ("base", "motion_adapter", *(f"controlnet-{kind}" for kind in kinds), *((IMAGE_ROLE,) if image else ()))
        folders = self._locate_all(roles)
        base, adapter_dir = folders["base"], folders["motion_adapter"]
        controlnet_dirs = [folders[f"controlnet-{kind}"] for kind in kinds]
        # 2. load (each folder's fp16 copy where it has one: the files `physreel models` fetches)
        local = {"local_files_only": True, **dtype_kwargs(dtype)}
        with hub_offline():
            adapter = MotionAdapter.from_pretrained(adapter_dir, variant=weights_variant(adapter_dir), **local)
            nets = [ControlNetModel.from_pretrained(d, variant=weights_variant(d), **local) for d in controlnet_dirs]
            if image:
                sparse_dir = folders[IMAGE_ROLE]
                sparse = SparseCtrlWithControlNets.from_pretrained(sparse_dir, variant=weights_variant(sparse_dir), **local)
                sparse.attach(nets)
                pipe = AnimateDiffSparseControlNetPipeline.from_pretrained(
                    base, motion_adapter=adapter, controlnet=sparse, variant=weights_variant(base), **local
                )
            elif kinds:
                controlnet = nets[0] if len(nets) == 1 else MultiControlNetModel(nets)
                pipe = AnimateDiffControlNetPipeline.from_pretrained(
                    base, motion_adapter=adapter, controlnet=controlnet, variant=weights_variant(base), **local
                )
            else:
                pipe = AnimateDiffPipeline.from_pretrained(base, motion_adapter=adapter, variant=weights_variant(base), **local)
        # AnimateDiff's recommended sampler for SD 1.5 motion modules (its model card)
        pipe.scheduler = DDIMScheduler.from_config(
            pipe.scheduler.config, beta_schedule="linear", clip_sample=False, timestep_spacing="linspace", steps_offset=1
        )
        pipe.to(device)
        sources = {role: (self._requirements()[role][1], folder) for role, folder in folders.items()}
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
        image = request.image is not None
        entry = self.load_pipeline(kinds, device, dtype, image)
        pipe = entry.loaded.pipe
        entry.offloaded = apply_memory_flags(pipe, request, device, entry.offloaded)
        free_noise = request.num_frames > CONTEXT_LENGTH  # never with an image: check_request refused that
        if free_noise:
            pipe.enable_free_noise(context_length=CONTEXT_LENGTH, context_stride=CONTEXT_STRIDE)
        elif not image and pipe.free_noise_enabled:
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
        kwargs: dict[str, Any] = dict(request_kwargs(request), latents=latents)
        if image:
            kwargs.update(start_image_kwargs(pipe, request, device))
        elif kinds:
            kwargs.update(control_kwargs(request))
        with torch.inference_mode(), seeded_global_rng(request.seed, device, image):
            output = pipe(**kwargs)
        frames = pipeline_frames(output)
        # 5. record
        meta = pipeline_meta(
            self.name, entry.loaded, request,
            resolved={"device": device, "dtype": str(dtype).replace("torch.", ""), "vae_scale_factor": k},
            noise={"latent_shape": list(shape)}, hasher=self._hasher,
        )
        meta["free_noise"] = {"context_length": CONTEXT_LENGTH, "context_stride": CONTEXT_STRIDE} if free_noise else None
        meta["start_image"] = ({"route": "SparseCtrl RGB", "frame_indices": [0], "conditioning_scale": 1.0,
                                "vae_sample_seed": request.seed} if image else None)
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


def _check_image_frames(image: bool, num_frames: int) -> None:
    if image and num_frames > CONTEXT_LENGTH:
        raise BackendError(
            f"animatediff reads a start image through AnimateDiffSparseControlNetPipeline, which has no FreeNoise "
            f"windows: it makes at most {CONTEXT_LENGTH} frames, and the shot has {num_frames}; shorten "
            f"shot.duration, or use wan-vace", "image")


def start_image_kwargs(pipe, request: GenerationRequest, device: str) -> dict[str, Any]:
    """The AnimateDiffSparseControlNetPipeline arguments of a run with a start image: the picture
    at frame 0, scale 1; the physics controls (guided) handed to its `SparseCtrlWithControlNets`."""
    import copy

    import torch
    from PIL import Image

    from .sparse_ctrl import DenseControl

    controlnet = pipe.controlnet
    scheduler = copy.deepcopy(pipe.scheduler)  # the pipeline's own timesteps, without touching its scheduler
    scheduler.set_timesteps(request.steps, device=device)
    dense = tuple(
        DenseControl(frames=(torch.from_numpy(c.frames).permute(0, 3, 1, 2).float() / 255.0).to(device=device, dtype=controlnet.dtype),
                     scale=float(c.scale), start=float(c.start), end=float(c.end))
        for c in request.controls
    )
    controlnet.set_controls(dense, scheduler.timesteps)
    return {
        "conditioning_frames": [Image.fromarray(request.image.frame)],
        "controlnet_frame_indices": [0],
        "controlnet_conditioning_scale": 1.0,
    }


@contextlib.contextmanager
def seeded_global_rng(seed: int, device: str, enabled: bool):
    """Inside: torch's global generators of the CPU and of `device` (the current CUDA device, or
    the Apple GPU) seeded with `seed`; after: each as it was. AnimateDiffSparseControlNetPipeline
    encodes the start image by sampling the VAE's posterior with no generator of its own
    (`prepare_image`: retrieve_latents(vae.encode(...))), that is from the global generator of the
    device the VAE runs on, so a run is reproducible only with it seeded, and the process's own
    random state must not change."""
    if not enabled:
        yield
        return
    import torch

    accelerator = torch.cuda if device == "cuda" else torch.mps if device == "mps" else None
    saved_cpu = torch.get_rng_state()
    saved_accelerator = accelerator.get_rng_state() if accelerator is not None else None
    torch.default_generator.manual_seed(seed)
    if accelerator is not None:
        accelerator.manual_seed(seed)  # torch.cuda.manual_seed: the current device only
    try:
        yield
    finally:
        torch.set_rng_state(saved_cpu)
        if accelerator is not None:
            accelerator.set_rng_state(saved_accelerator)

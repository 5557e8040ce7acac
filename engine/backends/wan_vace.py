"""The `wan-vace` backend: Wan 2.1 VACE (diffusers' `WanVACEPipeline`) with one control video.

The control video is one pass as VACE's own annotators draw it (`control_options`; docs/engine.md,
"Control conventions"): depth (inverse depth min-max per frame, near = white), flow (the Middlebury
colour wheel of the motion i-1 -> i at frame i, each frame over its own range) or pose (the OpenPose
drawing with its channels reversed), with an all-white mask (VACE's "generate
everywhere, guided by this video" mode). Wan's VAE compresses 4 frames into one latent frame
and 8x8 pixels into one latent cell, and the transformer patches are 2x2 cells, so Wan makes
4k+1 frames at multiples of 16 pixels: a shot is cut to the largest 4k+1 frames it has and its
size rounded down to multiples of 16, with a printed note (recorded in meta.json).

Unguided runs use the same pipeline and weights with VACE's context scale 0: the hints VACE
adds to the transformer's blocks are multiplied by 0, leaving the base Wan text-to-video model.

A start image (`generate.image`) becomes VACE's first frame (`vace_context`): frame 0 of the
context video is the picture with mask 0 (kept: VACE encodes it as the "inactive" part, video x
(1 - mask)), every later frame has mask 1 (generated: the "reactive" part), holding the control
frame in a guided run and mid-grey in an unguided one, at context scale 1 (VACE's image-to-video).
diffusers' WanVACEPipeline documents the same frames-and-masks form for first/last-frame
generation (its example's `prepare_video_and_mask`).

Model directory (`--model DIR`): a folder as `WanVACEPipeline.save_pretrained` writes it
(model_index.json, transformer/, vae/, text_encoder/, tokenizer/, scheduler/), e.g. a download of
Wan-AI/Wan2.1-VACE-1.3B-diffusers; without --model, that id is looked up in the local HF cache.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

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
from .model_files import WAN_VACE_13B, weights_variant
from .runtime import (
    WeightHasher,
    hub_offline,
    locate_model,
    missing_models_error,
    model_requirement,
    resolve_device,
    resolve_dtype,
)

MODEL_ID = WAN_VACE_13B.repo_id
TEMPORAL_FACTOR = 4
"""Video frames per latent frame (after the first)."""
SIZE_MULTIPLE = 16
"""VAE 8x8 cells x transformer 2x2 patches."""
SPATIAL_FACTOR = 8
NATIVE_SHORT_SIDE = 480
"""Wan 2.1 VACE 1.3B makes 480p (480x832) video."""
MAX_SEQUENCE_LENGTH = 226
"""T5 tokens of the prompt (Wan's default for its pipelines)."""


GREY = 128
"""The value of a context frame with nothing in it: VACE's own code fills them with 127.5 (0 after
scaling to [-1, 1]); 8-bit frames cannot hold that, so 128, as diffusers' example does."""


class WanVaceBackend(Backend):
    name = "wan-vace"
    controls = ("depth", "flow", "pose")
    image_route = "VACE's first frame: the picture as context frame 0 with mask 0 (kept), the other frames generated"
    control_options = MappingProxyType({
        "depth": MappingProxyType({"scope": "frame"}),
        "flow": MappingProxyType({"scope": "frame", "align": "target", "rounding": "floor"}),
        "pose": MappingProxyType({"channel_order": "bgr"}),
    })
    """VACE's annotators (vace/annotators): MiDaS depth min-max per frame (depth.py); RAFT flow i-1 -> i
    at frame i, frame 0 repeating frame 1, each frame over its own largest flow, levels floored
    (flow.py, RAFT's flow_viz.flow_to_image); the OpenPose drawing with its channels reversed (pose.py)."""

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._pipelines: dict[tuple, PipelineEntry] = {}
        self._hasher = WeightHasher()

    def describe(self) -> BackendInfo:
        return BackendInfo(
            name=self.name,
            description="Wan 2.1 VACE text-to-video with one control video (diffusers WanVACEPipeline); "
            "4k+1 frames, sizes in multiples of 16",
            requirements=(model_requirement("pipeline", WAN_VACE_13B, self.model_path, ""),),
            controls=self.controls,
            model_dir_layout="DIR = a WanVACEPipeline.save_pretrained folder (model_index.json, transformer/, vae/, "
            "text_encoder/, tokenizer/, scheduler/)",
        )

    def _locate(self) -> Path:
        found = locate_model(self.model_path, "", MODEL_ID, WAN_VACE_13B.marker)
        if found is None:
            raise missing_models_error(self.name, [("pipeline", WAN_VACE_13B, "")], self.model_path)
        return found

    def check_settings(self, generate: GenerateSpec) -> None:
        """One control video, of a kind VACE reads, acting over all steps (its single context scale has no window)."""
        super().check_settings(generate)
        kinds = tuple(c.kind for c in generate.controls or ())
        for kind in kinds:
            if kind not in self.controls:
                raise BackendError(f"{self.name} has no {kind!r} control; it takes {', '.join(self.controls)}", "controls")
        if len(kinds) > 1:
            raise BackendError(f"{self.name} takes one control video, got {', '.join(kinds)}; keep one in generate.controls", "controls")
        for control in generate.controls or ():
            if control.start != 0.0 or control.end != 1.0:
                raise BackendError(
                    f"{self.name} applies its control over all steps; control {control.kind!r} asks for "
                    f"start={control.start}, end={control.end} (set start: 0, end: 1, or use the animatediff backend)", "controls"
                )

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        for kind in control_kinds:
            if kind not in self.controls:
                raise BackendError(f"{self.name} has no {kind!r} control; it takes {', '.join(self.controls)}", "controls")
        if len(control_kinds) > 1:
            raise BackendError(f"{self.name} takes one control video, got {', '.join(control_kinds)}; keep one in generate.controls", "controls")
        self._locate()

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """Wan's native 480 px on the shorter side, at the shot's aspect ratio."""
        return native_size(pass_size, NATIVE_SHORT_SIDE, SIZE_MULTIPLE)

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        """The largest 4k+1 frames the shot has; sizes rounded down to multiples of 16."""
        frames = (num_frames - 1) // TEMPORAL_FACTOR * TEMPORAL_FACTOR + 1
        new_w, new_h, size_notes = size_rounded_down(self.name, width, height, SIZE_MULTIPLE)
        notes = []
        if frames != num_frames:
            notes.append(
                f"{self.name}: Wan makes 4k+1 frames; using the first {frames} of the shot's {num_frames} "
                f"(make the shot {frames + TEMPORAL_FACTOR} frames long to keep more)"
            )
        return ShapePlan(frames, new_w, new_h, (*notes, *size_notes))

    def check_request(self, request: GenerationRequest) -> None:
        super().check_request(request)
        if len(request.controls) > 1:
            kinds = ", ".join(c.kind for c in request.controls)
            raise BackendError(f"{self.name} takes one control video, got {len(request.controls)} ({kinds}); keep one in generate.controls")
        for control in request.controls:
            if control.start != 0.0 or control.end != 1.0:
                raise BackendError(
                    f"{self.name} applies its control over all steps; control {control.kind!r} asks for "
                    f"start={control.start}, end={control.end} (set start: 0, end: 1, or use the animatediff backend)"
                )

    def load_pipeline(self, device: str, dtype) -> PipelineEntry:
        """The pipeline, loaded from local files only; cached."""
        key = (device, str(dtype))
        if key not in self._pipelines:
            import torch
            from diffusers import AutoencoderKLWan, WanVACEPipeline

            directory = self._locate()
            # Wan's VAE is run in float32 (its model card): half precision there costs visible quality.
            with quiet_loading(), hub_offline(), timed("model load"):
                vae = AutoencoderKLWan.from_pretrained(directory, subfolder="vae", variant=weights_variant(directory / "vae"),
                                                       local_files_only=True, **dtype_kwargs(torch.float32))
                pipe = WanVACEPipeline.from_pretrained(directory, vae=vae, variant=weights_variant(directory), local_files_only=True,
                                                       **dtype_kwargs(dtype))
            pipe.to(device)
            self._pipelines[key] = PipelineEntry(LoadedPipeline(pipe, {"pipeline": (WAN_VACE_13B, directory)}))
        return self._pipelines[key]

    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        import torch

        from ..noise_warp import independent_noise, temporal_frame_index, warped_noise

        # 1. check and resolve
        self.check_request(request)
        device = resolve_device(request.device)
        dtype = resolve_dtype(request.dtype, device)
        # 2. load and set the memory flags
        entry = self.load_pipeline(device, dtype)
        pipe = entry.loaded.pipe
        entry.offloaded = apply_memory_flags(pipe, request, device, entry.offloaded)
        pipe.set_progress_bar_config(disable=not progress)
        # 3. initial noise: [1, C, F, h, w]; latent frame j stands for video frame 4j (the noise field
        # follows the flow through every video frame in between)
        num_latent_frames = (request.num_frames - 1) // TEMPORAL_FACTOR + 1
        channels = pipe.transformer.config.in_channels
        h, w = request.height // SPATIAL_FACTOR, request.width // SPATIAL_FACTOR
        if request.noise_flow is not None:
            frame_index = temporal_frame_index(request.num_frames, TEMPORAL_FACTOR)
            noise = warped_noise(channels, h, w, request.noise_flow, request.seed, frame_index=frame_index)
        else:
            noise = independent_noise((num_latent_frames, channels, h, w), request.seed)
        latents = noise.permute(1, 0, 2, 3)[None].to(device=device, dtype=torch.float32)
        # 4. run: the control video (or none, at scale 0, for unguided) and the start image
        video, mask, scale = vace_context(request)
        with torch.inference_mode():
            output = pipe(
                **request_kwargs(request),
                video=video,
                mask=mask,
                conditioning_scale=scale,
                latents=latents,
                max_sequence_length=min(MAX_SEQUENCE_LENGTH, pipe.tokenizer.model_max_length),
            )
        frames = pipeline_frames(output)
        meta = pipeline_meta(
            self.name, entry.loaded, request,
            resolved={"device": device, "dtype": str(dtype).replace("torch.", ""), "vace_conditioning_scale": scale,
                      "vace_context": _context_name(request)},
            noise={"latent_shape": [num_latent_frames, channels, h, w], "latent_frame_to_video_frame": TEMPORAL_FACTOR},
            hasher=self._hasher,
        )
        return GeneratedVideo(frames=frames, fps=request.fps, meta=meta)


def vace_context(request: GenerationRequest) -> tuple[list | None, list | None, float]:
    """(video, mask, conditioning scale) of the WanVACEPipeline call: PIL frames [T] or None.

    Without a start image: the control video with no mask (diffusers then generates everywhere),
    at the control's scale; unguided, no video at scale 0. With one: frame 0 is the picture with a
    black mask (kept), frames 1.. the control's frames (guided) or mid-grey (unguided) with a white
    mask (generated), at the control's scale or, unguided, 1.
    """
    from PIL import Image

    control = request.controls[0] if request.controls else None
    if request.image is None:
        if control is None:
            return None, None, 0.0
        return [Image.fromarray(frame) for frame in control.frames], None, float(control.scale)
    size = (request.width, request.height)
    rest = ([Image.fromarray(frame) for frame in control.frames[1:]] if control is not None
            else [Image.new("RGB", size, (GREY, GREY, GREY))] * (request.num_frames - 1))
    video = [Image.fromarray(request.image.frame), *rest]
    mask = [Image.new("L", size, 0), *[Image.new("L", size, 255)] * (request.num_frames - 1)]
    return video, mask, 1.0 if control is None else float(control.scale)


def _context_name(request: GenerationRequest) -> str:
    """What the VACE context held, in words, for meta.json."""
    guided = f"the {request.controls[0].kind} control video" if request.controls else None
    if request.image is None:
        return guided or "none (context scale 0: the base text-to-video model)"
    return f"the start image as frame 0 (mask 0), then {guided or 'mid-grey'} (mask 1)"

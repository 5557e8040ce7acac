"""The `cogvideox-flow` backend: CogVideoX (diffusers' `CogVideoXPipeline`, or
`CogVideoXImageToVideoPipeline`) with a Go-with-the-Flow LoRA, guided by the simulated flow through
its initial noise alone.

Go-with-the-Flow (GWTF) fine-tunes CogVideoX to follow the motion of its initial noise: noise
warped along a video's optical flow. physreel warps the noise along the simulation's exact flow
(engine/noise_warp.py) and lays it out as GWTF's code does (engine/backends/gwtf_noise.py: one
latent frame per 4 video frames, the LoRA's temporal reduction, GWTF's degradation blend), then
hands it to the pipeline as `latents` [1, F, 16, h, w], as GWTF's inference script does
(cut_and_drag_inference.py line 340; the CogVideoX schedulers' init_noise_sigma is 1, so the
pipeline uses it as given). There is no control image: the `flow` control stands for the warped
noise, its `scale` is 1 - GWTF's degradation (1: the warped noise as is; 0.5: the cut-and-drag
script's default, line 391; 0: fresh noise), and its images are not read.

Unguided runs use the same pipeline with the LoRA switched off (`disable_lora`) and independent
noise: the base CogVideoX, as a user without physreel would run it.

CogVideoX 1.0 makes 4k+1 frames at multiples of 16 pixels (VAE: 4 frames and 8x8 pixels per latent
cell; transformer: 2x2 patches), at most the frames and, by default, the size its transformer was
trained on (its config's sample_frames, sample_height and sample_width: 49 frames at 720x480).

A start image (`generate.image`) needs an image-to-video base (THUDM/CogVideoX-5b-I2V, diffusers'
`CogVideoXImageToVideoPipeline`, with GWTF's I2V LoRA): the picture, fitted to the generation size
(engine/start_image.py), is the pipeline's `image`, which the video keeps as its first frame, in
guided and unguided runs alike (as the other backends' start images: the unguided run a guided one
is compared with starts from the same picture, the LoRA off and the noise independent). The base
folder decides the mode: a start image with a text-to-video base, or an image-to-video base without
one, is refused before simulating (`check_settings`), with the models to use.

Model directory (`--model DIR` or `generate.model`):

    DIR/base/   a CogVideoX pipeline as save_pretrained writes it (model_index.json, transformer/,
                vae/, text_encoder/, tokenizer/, scheduler/): THUDM/CogVideoX-5b, -2b or -5b-I2V
    DIR/lora/   one GWTF LoRA file (*.safetensors) for that base, from Eyeline-Research/Go-with-the-Flow,
                e.g. T2V5B_blendnorm_i25000_DATASET_nearest_lora_weights.safetensors (-5b-I2V:
                I2V5B_final_i38800_nearest_lora_weights.safetensors)

A folder that is absent is looked up in the local Hugging Face cache (THUDM/CogVideoX-5b, and
that LoRA file in Eyeline-Research/Go-with-the-Flow). The files each role loads and the `hf download`
command that fetches them: engine/backends/model_files.py (COGVIDEOX_5B, GWTF_LORA; for a start
image COGVIDEOX_5B_I2V, GWTF_I2V_LORA, named in the refusal of a text-to-video base).
"""

from __future__ import annotations

import json
from pathlib import Path

from physreel.sim.spec.model import GenerateSpec
from physreel.sim.timing import timed

from ..errors import BackendError
from ..records import GeneratedVideo, GenerationRequest, ShapePlan
from .base import Backend, BackendInfo, ModelRequirement, size_rounded_down
from .diffusers_common import (
    LoadedPipeline,
    PipelineEntry,
    apply_memory_flags,
    dtype_kwargs,
    file_record,
    pipeline_frames,
    pipeline_meta,
    quiet_loading,
    request_kwargs,
)
from .identity import file_identity
from .model_files import (
    COGVIDEOX_5B,
    COGVIDEOX_5B_I2V,
    GWTF_DEFAULT_LORA_FILE,
    GWTF_I2V_LORA,
    GWTF_I2V_LORA_FILE,
    GWTF_LORA,
    weights_variant,
)
from .runtime import (
    WeightHasher,
    fetch_command,
    hf_cache_snapshot,
    hub_offline,
    local_dir,
    locate_model,
    missing_models_error,
    model_requirement,
    resolve_device,
    resolve_dtype,
)

BASE_ID = COGVIDEOX_5B.repo_id
LORA_REPO_ID = GWTF_LORA.repo_id
DEFAULT_LORA_FILE = GWTF_DEFAULT_LORA_FILE
TEMPORAL_FACTOR = 4
"""Video frames per latent frame (after the first)."""
SPATIAL_FACTOR = 8
SIZE_MULTIPLE = 16
"""VAE 8x8 cells x transformer 2x2 patches."""
TRAINED_FRAMES, TRAINED_SIZE = 49, (720, 480)
"""CogVideoX 1.0's (and GWTF's) shape, used when the transformer's config cannot be read."""
MAX_SEQUENCE_LENGTH = 226
"""T5 tokens of the prompt (CogVideoX's max_text_seq_length)."""
PIPELINES = {"CogVideoXPipeline": "text-to-video", "CogVideoXImageToVideoPipeline": "image-to-video"}
"""The diffusers pipelines a base folder may hold (its model_index.json's _class_name)."""
IMAGE_TO_VIDEO = "CogVideoXImageToVideoPipeline"
I2V_DIR = "I2V_DIR"
"""The placeholder folder the refusal of a start image on a text-to-video base fetches into."""


def pipeline_class(base: Path) -> str:
    """The diffusers pipeline class a base folder holds; BackendError for any other."""
    name = json.loads((base / "model_index.json").read_text()).get("_class_name")
    if name not in PIPELINES:
        raise BackendError(f"cogvideox-flow: {base} holds a {name}; this backend runs {' or '.join(PIPELINES)} "
                           f"folders (THUDM/CogVideoX-5b, -2b or -5b-I2V)")
    return name


class CogVideoXFlowBackend(Backend):
    name = "cogvideox-flow"
    controls = ("flow",)
    default_controls = ("flow",)
    default_guidance_scale = 6.0
    """CogVideoX's own default (CogVideoXPipeline.__call__) and GWTF's (cut_and_drag_inference.py line 401)."""
    image_route = (f"{IMAGE_TO_VIDEO}'s `image`, kept as the first frame: an image-to-video base "
                   f"({COGVIDEOX_5B_I2V.repo_id} with GWTF's I2V LoRA); guided and unguided runs alike")

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._pipelines: dict[tuple, PipelineEntry] = {}
        self._lora_files: dict[tuple, Path] = {}
        """The LoRA file each cached pipeline loaded, by the same key."""
        self._hasher = WeightHasher()

    # ------------------------------------------------------------------ what it needs
    def _base(self) -> Path | None:
        return locate_model(self.model_path, "base", BASE_ID, COGVIDEOX_5B.marker)

    def _lora(self) -> Path | None:
        """The LoRA file: the one *.safetensors in DIR/lora, else GWTF's T2V LoRA in the HF cache.
        BackendError if DIR/lora holds several (which one is meant is not guessed)."""
        if self.model_path is not None:
            files = sorted((Path(self.model_path) / "lora").glob("*.safetensors"))
            if len(files) > 1:
                raise BackendError(f"{self.name}: {Path(self.model_path) / 'lora'} holds {len(files)} LoRA files "
                                   f"({', '.join(f.name for f in files)}); keep the one for this base model")
            if files:
                return files[0]
        snapshot = hf_cache_snapshot(LORA_REPO_ID)
        if snapshot is not None and (snapshot / DEFAULT_LORA_FILE).is_file():
            return snapshot / DEFAULT_LORA_FILE
        return None

    def _lora_requirement(self) -> ModelRequirement:
        """The LoRA's requirement: found as `_lora` finds it (any one LoRA file in DIR/lora, not only
        the default one the fetch command names), and what that file is by its folder's records."""
        lora = self._lora()
        target = local_dir(self.model_path, "lora")
        return ModelRequirement(
            role="lora",
            model_id=GWTF_LORA.repo_id,
            found=lora is not None,
            location=None if lora is None else str(lora),
            fetch_command=fetch_command(GWTF_LORA, self.model_path, "lora"),
            local_dir=None if target is None else str(target),
            include=GWTF_LORA.include,
            identity=None if lora is None else file_identity(lora),
        )

    def describe(self) -> BackendInfo:
        return BackendInfo(
            name=self.name,
            description="CogVideoX 1.0 with a Go-with-the-Flow LoRA, guided by noise warped along the simulated flow "
            "(diffusers CogVideoXPipeline; CogVideoXImageToVideoPipeline with generate.image, from a "
            f"{COGVIDEOX_5B_I2V.repo_id} base and GWTF's I2V LoRA); 4k+1 frames, sizes in multiples of 16",
            requirements=(model_requirement("base", COGVIDEOX_5B, self.model_path, "base"), self._lora_requirement()),
            controls=self.controls,
            model_dir_layout="DIR/base = a CogVideoX pipeline's save_pretrained folder; DIR/lora = one "
            f"Go-with-the-Flow LoRA *.safetensors for that base (for generate.image: {COGVIDEOX_5B_I2V.repo_id} "
            f"and {GWTF_I2V_LORA_FILE})",
        )

    def _locate(self) -> tuple[Path, Path]:
        """The base folder and the LoRA file; one ModelNotFoundError naming every missing one."""
        base, lora = self._base(), self._lora()
        missing = [(role, files, role) for role, files, found in (("base", COGVIDEOX_5B, base), ("lora", GWTF_LORA, lora))
                   if found is None]
        if missing:
            raise missing_models_error(self.name, missing, self.model_path)
        pipeline_class(base)  # refuses a folder of another pipeline before anything loads
        if self._transformer_config().get("patch_size_t") is not None:
            raise BackendError(f"{self.name}: {base} is CogVideoX 1.5 (temporal patches); the Go-with-the-Flow LoRAs "
                               f"are for CogVideoX 1.0 (THUDM/CogVideoX-5b, -2b or -5b-I2V)")
        return base, lora

    def check_settings(self, generate: GenerateSpec) -> None:
        """The flow control's window and scale, noise warping, which is this backend's only guidance,
        and a start image exactly when the base folder is image-to-video (`_check_mode`). (A control
        of another kind is refused by `preflight` for guided runs, as other backends do.)"""
        super().check_settings(generate)
        if not generate.noise_warp:
            raise BackendError(f"{self.name} is guided by the warped noise alone: noise_warp: false is not a setting it "
                               f"can honour (remove it; an unguided run already uses independent noise)", "noise_warp")
        flows = [control for control in generate.controls or () if control.kind == "flow"]
        if len(generate.controls or ()) > 1:
            raise BackendError(f"{self.name} takes one flow control, got {len(generate.controls)}", "controls")
        for control in flows:
            if control.scale > 1.0:
                raise BackendError(f"{self.name}: the flow control's scale is 1 - Go-with-the-Flow's degradation, "
                                   f"0..1; got {control.scale}", "controls")
            if control.start != 0.0 or control.end != 1.0:
                raise BackendError(f"{self.name}: the flow acts through the initial noise, before every step; control "
                                   f"'flow' asks for start={control.start}, end={control.end} (set start: 0, end: 1)",
                                   "controls")
        self._check_mode(generate.image is not None)

    def _check_mode(self, has_image: bool) -> None:
        """BackendError unless the base folder is image-to-video exactly when there is a start image:
        about `image` for a picture a text-to-video base cannot start from, about `model` for an
        image-to-video base without one. A base not found is left to `preflight`, which names it
        with its fetch command."""
        base = self._base()
        if base is None:
            return
        image_to_video = pipeline_class(base) == IMAGE_TO_VIDEO
        if has_image and not image_to_video:
            raise BackendError(f"{self.name}: the base model {base} is text-to-video ({pipeline_class(base)}), which "
                               f"cannot start from a picture; {_image_to_video_models()}, or remove "
                               f"the start image", "image")
        if image_to_video and not has_image:
            raise BackendError(f"{self.name}: the base model {base} is image-to-video ({IMAGE_TO_VIDEO}) and needs a "
                               f"start image; set generate.image (a picture beside the scene) or --image, or use a "
                               f"text-to-video base ({BASE_ID} or THUDM/CogVideoX-2b)", "model")

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        for kind in control_kinds:
            if kind not in self.controls:
                raise BackendError(f"{self.name} has no {kind!r} control; it takes flow (as warped noise)", "controls")
        self._locate()

    # ------------------------------------------------------------------ shape
    def _transformer_config(self) -> dict:
        base = self._base()
        path = None if base is None else base / "transformer" / "config.json"
        return json.loads(path.read_text()) if path is not None and path.is_file() else {}

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """The size CogVideoX was trained at (720x480 for CogVideoX 1.0), whatever the shot's aspect:
        the model makes that size well and little else (a note says the controls are stretched)."""
        config = self._transformer_config()
        if "sample_width" in config and "sample_height" in config:
            return config["sample_width"] * SPATIAL_FACTOR, config["sample_height"] * SPATIAL_FACTOR
        return TRAINED_SIZE

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        """The largest 4k+1 frames the shot has, at most the trained count; sizes rounded down to multiples of 16."""
        most = self._transformer_config().get("sample_frames", TRAINED_FRAMES)
        frames = (min(num_frames, most) - 1) // TEMPORAL_FACTOR * TEMPORAL_FACTOR + 1
        new_w, new_h, size_notes = size_rounded_down(self.name, width, height, SIZE_MULTIPLE)
        notes = []
        if frames != num_frames:
            why = f"CogVideoX makes 4k+1 frames, at most the {most} it was trained on"
            notes.append(f"{self.name}: {why}; using the first {frames} of the shot's {num_frames}")
        return ShapePlan(frames, new_w, new_h, (*notes, *size_notes))

    def check_request(self, request: GenerationRequest) -> None:
        super().check_request(request)
        if len(request.controls) > 1:
            raise BackendError(f"{self.name} takes one flow control, got {len(request.controls)}")
        for control in request.controls:
            if control.scale > 1.0 or control.start != 0.0 or control.end != 1.0:
                raise BackendError(f"{self.name}: the flow control takes a scale in 0..1 (1 - degradation) over all "
                                   f"steps; got scale={control.scale}, start={control.start}, end={control.end}")
        if request.controls and request.noise_flow is None:
            raise BackendError(f"{self.name}: a guided run needs the flow as warped noise (request.noise_flow); "
                               f"it has none (noise warping off?)")
        base = self._base()
        if base is not None:  # before loading: a start image exactly when the base is image-to-video
            _check_start_image(pipeline_class(base) == IMAGE_TO_VIDEO, request)

    # ------------------------------------------------------------------ loading
    def load_pipeline(self, device: str, dtype) -> PipelineEntry:
        """The pipeline with the LoRA loaded (as adapter 'gwtf'), from local files only; cached."""
        key = (device, str(dtype))
        if key not in self._pipelines:
            import diffusers

            base, lora = self._locate()
            loader = getattr(diffusers, pipeline_class(base))
            with quiet_loading(), hub_offline(), timed("model load"):
                pipe = loader.from_pretrained(base, variant=weights_variant(base), local_files_only=True, **dtype_kwargs(dtype))
                pipe.load_lora_weights(str(lora.parent), weight_name=lora.name, adapter_name="gwtf", local_files_only=True)
            pipe.to(device)
            files = COGVIDEOX_5B_I2V if pipeline_class(base) == IMAGE_TO_VIDEO else COGVIDEOX_5B
            self._pipelines[key] = PipelineEntry(LoadedPipeline(pipe, {"base": (files, base)}))
            self._lora_files[key] = lora
        return self._pipelines[key]

    # ------------------------------------------------------------------ generation
    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        """The video: text-to-video, or image-to-video from `request.image` (its frame, uint8
        [H, W, 3] at the generation size, is the pipeline's `image`, the video's first frame)."""
        import torch
        from PIL import Image

        # 1. check and resolve
        self.check_request(request)
        device = resolve_device(request.device)
        dtype = resolve_dtype(request.dtype, device)
        # 2. load, set the memory flags and the LoRA (on for guided runs, off for unguided)
        entry = self.load_pipeline(device, dtype)
        pipe = entry.loaded.pipe
        image_to_video = type(pipe).__name__ == IMAGE_TO_VIDEO
        entry.offloaded = apply_memory_flags(pipe, request, device, entry.offloaded)
        pipe.set_progress_bar_config(disable=not progress)
        if request.guided:
            pipe.enable_lora()
        else:
            pipe.disable_lora()
        # 3. initial latents [1, F, C, h, w] in GWTF's layout (image-to-video: half the transformer's
        # input channels are noise, the other half the start frame's latents)
        lora = self._lora_files[(device, str(dtype))]
        channels = pipe.transformer.config.in_channels // (2 if image_to_video else 1)
        latents, noise_meta = initial_latents(request, channels, lora.name)
        # 4. run
        start = {"image": Image.fromarray(request.image.frame)} if image_to_video else {}
        with torch.inference_mode():
            output = pipe(
                **start,
                **request_kwargs(request),
                latents=latents.to(device=device, dtype=dtype),
                max_sequence_length=min(MAX_SEQUENCE_LENGTH, pipe.tokenizer.model_max_length),
            )
        frames = pipeline_frames(output)
        # 5. record
        meta = pipeline_meta(
            self.name, entry.loaded, request,
            resolved={"device": device, "dtype": str(dtype).replace("torch.", ""), "lora_enabled": request.guided,
                      "mode": PIPELINES[type(pipe).__name__]},
            noise=noise_meta, hasher=self._hasher,
        )
        meta["models"]["lora"] = file_record(GWTF_LORA, lora, self._hasher)
        return GeneratedVideo(frames=frames, fps=request.fps, meta=meta)


def _image_to_video_models() -> str:
    """The fix for a start image on a text-to-video base: the models to use, their fetch commands into
    a folder of their own (the HF cache is searched for the text-to-video base only), and the flag."""
    return (f"fetch {COGVIDEOX_5B_I2V.repo_id} and Go-with-the-Flow's I2V LoRA {GWTF_I2V_LORA_FILE} into a folder "
            f"of their own (`{COGVIDEOX_5B_I2V.download_command(I2V_DIR + '/base')}` and "
            f"`{GWTF_I2V_LORA.download_command(I2V_DIR + '/lora')}`) and give it as --model {I2V_DIR} or generate.model")


def _check_start_image(image_to_video: bool, request: GenerationRequest) -> None:
    """A start image exactly when the base model is image-to-video (a request built by hand; a
    scene's settings were checked by `check_settings` before simulating)."""
    if image_to_video and request.image is None:
        raise BackendError(f"cogvideox-flow: the base model is image-to-video ({IMAGE_TO_VIDEO}) and needs a start "
                           f"image (request.image); give one, or use a text-to-video base ({BASE_ID} or -2b)", "image")
    if not image_to_video and request.image is not None:
        raise BackendError(f"cogvideox-flow: the base model is text-to-video and cannot start from a picture; "
                           f"{_image_to_video_models()}", "image")


def initial_latents(request: GenerationRequest, channels: int, lora_file: str):
    """The run's initial latents, float32 CPU [1, F, channels, H/8, W/8], F = (T - 1) / 4 + 1, and
    their meta.json record.

    Guided (request.noise_flow set): `warped_noise` per video frame [T, C, h, w], reduced to F
    latent frames as the LoRA was trained (`reduction_for_lora`), blended with fresh noise by
    degradation = 1 - the flow control's scale. Unguided: independent N(0, 1) noise.
    """
    from ..noise_warp import independent_noise, warped_noise
    from .gwtf_noise import degrade, reduce_to_latent_frames, reduction_for_lora

    num_latent_frames = (request.num_frames - 1) // TEMPORAL_FACTOR + 1
    h, w = request.height // SPATIAL_FACTOR, request.width // SPATIAL_FACTOR
    meta: dict = {"latent_shape": [num_latent_frames, channels, h, w], "latent_frame_to_video_frame": TEMPORAL_FACTOR}
    if request.noise_flow is None:
        noise = independent_noise((num_latent_frames, channels, h, w), request.seed)
    else:
        reduction = reduction_for_lora(lora_file)
        degradation = 1.0 - float(request.controls[0].scale) if request.controls else 0.0
        per_frame = warped_noise(channels, h, w, request.noise_flow, request.seed)
        noise = degrade(reduce_to_latent_frames(per_frame, num_latent_frames, reduction), degradation, request.seed)
        meta.update(temporal_reduction=reduction, degradation=degradation)
    return noise[None], meta

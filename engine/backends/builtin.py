"""The `builtin` backend: physreel's own small control-conditioned diffusion model (engine/builtin/).

Needs nothing but the weights shipped in the package (engine/builtin/weights/), or a directory
written by `physreel train -o DIR` (`--model DIR`: builtin.safetensors + builtin.json), loaded
with safetensors only. It generates at its native size (64 x 64): the request's control frames
and noise flow are resampled to 64 x 64 (controls by engine.resample.resize_frames, flow by
engine.resample.resize_flow), and the generated frames are resized back to the request's size
(bilinear up, area down) when it differs; meta.json records both sizes.

Controls: depth, normal, edges, flow, seg, albedo (any subset; absent kinds are fed as absent, which
the model was trained on; by default all of them). A control's `scale` multiplies its image channels (0 = absent) and its
start/end limit it to that fraction of the denoising steps. guidance_scale > 1 applies
classifier-free guidance on the caption against the negative prompt. Captions are read through a
fixed vocabulary (engine/builtin/text.py); unknown words are ignored and listed in meta.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from physreel.sim.spec.model import GenerateSpec
from physreel.sim.timing import timed

from ..builtin.kinds import CONTROL_KINDS
from ..builtin.kinds import CONTROL_OPTIONS as BUILTIN_CONTROL_OPTIONS
from ..errors import BackendError, ModelNotFoundError
from ..records import GeneratedVideo, GenerationRequest, NoiseFlow
from ..resample import resize_flow, resize_frames
from .base import Backend, BackendInfo, ModelRequirement
from .runtime import WeightHasher, resolve_device, resolve_dtype

NOISE_WARP_METHOD = "cells"
"""The builtin's noise warp (engine/noise_warp.py `method`): the per-cell warp, not the pixel field the
latent backends use. At one pixel per cell the two differ only in sub-pixel motion, and measured on
the builtin (MODEL_CARD.md, "Noise warp method"; docs/compare.md) the per-cell warp flickers less on
the held-out shots and both example scenes compared, with object flow error equal within the spread."""


class BuiltinBackend(Backend):
    name = "builtin"
    controls = CONTROL_KINDS
    default_controls = CONTROL_KINDS
    """Every kind it reads: together they do best on the held-out scenes (model card, "Which control
    kinds"), and albedo is what paints each object in the colour the spec gives it."""
    control_options = BUILTIN_CONTROL_OPTIONS
    """What the model was trained on (engine/builtin/kinds.py)."""
    default_guidance_scale = 1.0
    """No classifier-free guidance: at 7.5 the small caption encoder over-drives the colours
    (frame MSE against the preview 0.39 vs 0.09 at 1.0 on a held-out shot; model card)."""

    def __init__(self, model_path: str | Path | None = None):
        super().__init__(model_path)
        self._model = None
        self._hasher = WeightHasher()

    # ------------------------------------------------------------------ what it needs
    def _directory(self) -> Path:
        from ..builtin.model import WEIGHTS_DIR

        return Path(self.model_path) if self.model_path is not None else WEIGHTS_DIR

    def _found(self) -> bool:
        from ..builtin.model import CONFIG_NAME, WEIGHTS_NAME

        directory = self._directory()
        return (directory / WEIGHTS_NAME).is_file() and (directory / CONFIG_NAME).is_file()

    def describe(self) -> BackendInfo:
        directory = self._directory()
        return BackendInfo(
            name=self.name,
            description="physreel's own 64x64 control-conditioned pixel diffusion model (diffusers UNet2DConditionModel, "
            "trained on physreel renders; runs on a CPU, nothing to download)",
            requirements=(ModelRequirement(role="weights", model_id="physreel builtin", found=self._found(),
                                           location=str(directory) if self._found() else None,
                                           fetch_command="physreel train -o DIR --data DATA (or use the shipped weights)"),),
            controls=self.controls,
            model_dir_layout="DIR/builtin.safetensors + DIR/builtin.json, as `physreel train -o DIR` writes them",
        )

    def check_settings(self, generate: GenerateSpec) -> None:
        super().check_settings(generate)  # no start image: the model was trained on controls and captions alone
        for name in ("cpu_offload", "vae_tiling"):
            if getattr(generate, name):
                raise BackendError(f"the builtin model has no VAE and is 19 MB, so {name} does not apply; turn it off", name)

    def preflight(self, control_kinds: tuple[str, ...]) -> None:
        for kind in control_kinds:
            if kind not in self.controls:
                raise BackendError(f"{self.name} has no {kind!r} control; it takes {', '.join(self.controls)}", "controls")
        if not self._found():
            raise ModelNotFoundError(f"builtin weights not found in {self._directory()}; train them with "
                                     f"`physreel train -o {self._directory()} --data DATA`, or leave the model unset (no --model, no "
                                     "generate.model) for the shipped weights")
        from ..builtin.model import CONFIG_NAME, BuiltinConfig

        kinds = BuiltinConfig.from_json(self._directory() / CONFIG_NAME).control_kinds
        if kinds != CONTROL_KINDS:
            raise BackendError(f"the builtin model in {self._directory()} reads the controls {', '.join(kinds)}; this "
                               f"version feeds {', '.join(CONTROL_KINDS)}: fine-tune it with `physreel train --init "
                               f"{self._directory()}` or use the shipped weights", "model")

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        """The native 64 pixels on the shorter side, the shot's aspect ratio kept (even sizes)."""
        native = self.native_resolution()
        width, height = pass_size
        scale = native / min(width, height)
        return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)

    def native_resolution(self) -> int:
        """The side in pixels of the square frames the model generates (its builtin.json's resolution; 64)."""
        from ..builtin.model import CONFIG_NAME

        path = self._directory() / CONFIG_NAME
        return int(json.loads(path.read_text())["resolution"]) if path.is_file() else 64

    # ------------------------------------------------------------------ loading
    def load_model(self):
        """The model from the weights directory (cached). ModelNotFoundError if absent."""
        if self._model is None:
            from ..builtin.model import load_model

            try:
                with timed("model load"):
                    self._model = load_model(self._directory())
            except FileNotFoundError as exc:
                raise ModelNotFoundError(str(exc)) from None
            except ValueError as exc:  # weights for other control kinds
                raise BackendError(str(exc), "model") from None
        return self._model

    # ------------------------------------------------------------------ generation
    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        from ..builtin.controls import pack_images
        from ..builtin.sample import KindSchedule, sample_frames
        from ..builtin.text import unknown_words
        from ..noise_warp import independent_noise, warped_noise

        # 1. check and resolve
        self.check_request(request)
        if request.cpu_offload or request.vae_tiling:
            raise BackendError("the builtin model has no VAE and is 19 MB: cpu_offload and vae_tiling do not apply; "
                               "turn them off", "cpu_offload")
        device = resolve_device(request.device)
        dtype = resolve_dtype(request.dtype, device)
        model = self.load_model()
        size = model.config.resolution
        # 2. controls at the native size, packed in the model's channel order
        images = {k: np.zeros((request.num_frames, size, size, 3), np.uint8) for k in CONTROL_KINDS}
        schedules = {}
        for control in request.controls:
            images[control.kind] = resize_frames(control.frames, size, size, control.kind)
            schedules[control.kind] = KindSchedule(control.scale, control.start, control.end)
        packed = pack_images(images) if request.controls else None
        # 3. initial noise: [T, 3, S, S], warped along the simulated flow or independent
        if request.noise_flow is not None:
            flow, valid = resize_flow(request.noise_flow.flow_fwd, request.noise_flow.flow_valid, size, size)
            noise = warped_noise(3, size, size, NoiseFlow(flow, valid), request.seed, method=NOISE_WARP_METHOD)
        else:
            noise = independent_noise((request.num_frames, 3, size, size), request.seed)
        # 4. denoise every frame
        model = model.to(device=device, dtype=dtype)
        frames = sample_frames(model, packed, schedules, request.prompt, noise.to(device=device, dtype=dtype),
                               request.steps, request.guidance_scale, request.negative_prompt)
        # 5. back to the request's size
        resized = (request.width, request.height) != (size, size)
        if resized:
            frames = resize_output(frames, request.width, request.height)
        meta: dict[str, Any] = {
            "backend": self.name,
            "models": {"builtin": {"path": str(self._directory()),
                                   "sha256": self._hasher.weights_hash(self._directory())}},
            "scheduler": {"class": "DDIMScheduler", "eta": 0.0, "timestep_spacing": "trailing",
                          "prediction_type": model.config.prediction_type},
            "settings": request.settings(),
            "resolved": {"device": device, "dtype": str(dtype).replace("torch.", ""),
                         "native_size": [size, size], "output_size": [request.width, request.height],
                         "resized_output": resized},
            "prompt_unknown_words": unknown_words(request.prompt),
            "noise": {"method": f"exact-flow warp, {NOISE_WARP_METHOD} (engine/noise_warp.py)" if request.noise_flow is not None
                      else "independent", "seed": request.seed, "shape": list(noise.shape)},
        }
        return GeneratedVideo(frames=frames, fps=request.fps, meta=meta)


def resize_output(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [T, S, S, 3] -> uint8 [T, height, width, 3]: bilinear when enlarging, area when shrinking."""
    import cv2

    _, h, w, _ = frames.shape
    interpolation = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation) for f in frames])

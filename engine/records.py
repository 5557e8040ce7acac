"""The records the generation stage exchanges: plain, frozen numpy data, no torch objects.

At the bottom of physreel.engine: it imports nothing of the engine, so the request builder, the
noise warp, the backends and the builtin model's evaluation all read the same definitions.

`GenerationRequest` is what a backend is asked to make (prompt, settings, control frames, the
simulated flow for noise warping); `GeneratedVideo` is what it made (uint8 frames plus the
`meta` dict that goes into OUT/meta.json's `generate` section); `StartImage` is the user's picture
a video starts from; `ShapePlan` is what a backend
makes for a wished shape, with a note for every change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from physreel.sim.spec.types import ControlKind


@dataclass(frozen=True)
class ControlInput:
    """One control video fed to the model."""

    kind: ControlKind
    frames: np.ndarray
    """uint8 [T, H, W, 3] RGB control images at the generation size (CONVENTIONS.md formats)."""
    scale: float = 1.0
    """Conditioning scale (ControlNet residual multiplier / VACE context scale); 0 turns it off."""
    start: float = 0.0
    """Fraction of the denoising steps at which this control starts acting (0..1)."""
    end: float = 1.0
    """Fraction of the denoising steps at which it stops (start < end <= 1)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The `conditioning.control.control_image` options the frames were drawn with (the convention of
    the backend's model, docs/engine.md "Control conventions"); recorded in meta.json."""


@dataclass(frozen=True)
class NoiseFlow:
    """The simulated motion the initial noise is warped along (see engine/noise_warp.py)."""

    flow_fwd: np.ndarray
    """float32 [T, H, W, 2], (dx, dy) in pixels of the generation size, frame t -> t+1."""
    flow_valid: np.ndarray
    """bool [T, H, W], the point behind flow_fwd is visible in frame t+1."""


@dataclass(frozen=True)
class StartImage:
    """The user's picture the video starts from (`generate.image`), fitted to the generation size."""

    frame: np.ndarray
    """uint8 [H, W, 3] sRGB at the generation size (engine/start_image.py's rule: centre crop to the
    camera's aspect ratio, then resize)."""
    file: str
    """Absolute path of the file it was read from."""
    sha256: str
    """sha256 (hex) of the file's bytes, so a run records exactly which picture it started from."""
    source_size: tuple[int, int]
    """(width, height) of the picture as read, EXIF orientation applied."""
    crop: tuple[int, int, int, int]
    """(x, y, width, height) of the centred region kept, in the picture's pixels."""

    def settings(self) -> dict[str, Any]:
        """JSON-ready record for meta.json (no pixels)."""
        return {"file": self.file, "sha256": self.sha256, "source_size": list(self.source_size), "crop": list(self.crop)}


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend needs to make one video. Pure data; frozen."""

    prompt: str
    num_frames: int
    """T, frames to generate (already adjusted by `Backend.plan_shape`)."""
    fps: int
    width: int
    """Pixels (already adjusted by `Backend.plan_shape`)."""
    height: int
    seed: int
    """Seeds the torch.Generator of the initial noise (and of every fresh sample of the warp)."""
    negative_prompt: str = ""
    steps: int = 20
    guidance_scale: float = 7.5
    """Classifier-free guidance on the text (> 1 turns it on)."""
    controls: tuple[ControlInput, ...] = ()
    """Empty = unguided: the base model on its own."""
    noise_flow: NoiseFlow | None = None
    """None = independent Gaussian noise per frame; else exact-flow warped noise."""
    backend: str = "builtin"
    model_path: str | None = None
    """Local directory of the backend's weights; None = its default (builtin weights / HF cache)."""
    dtype: str = "auto"
    """One of DTYPES; 'auto' = float16 on cuda, float32 elsewhere."""
    device: str = "auto"
    """One of DEVICES; 'auto' = cuda, else mps, else cpu."""
    cpu_offload: bool = False
    """Keep weights on the CPU and move each model to the device only while it runs."""
    vae_tiling: bool = False
    """Decode the latents in tiles (less memory, for small GPUs)."""
    adjustments: tuple[str, ...] = ()
    """Human-readable notes on how the shot was adjusted for the backend (recorded in meta)."""
    image: StartImage | None = None
    """The start image (the video's first frame), for guided and unguided runs alike; None = none."""

    @property
    def guided(self) -> bool:
        return bool(self.controls)

    def settings(self) -> dict[str, Any]:
        """The request's settings as JSON-ready data (no arrays), for meta.json."""
        return {
            "backend": self.backend,
            "model_path": self.model_path,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "num_frames": self.num_frames,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "seed": self.seed,
            "steps": self.steps,
            "guidance_scale": self.guidance_scale,
            "guided": self.guided,
            "controls": [
                {"kind": c.kind, "scale": c.scale, "start": c.start, "end": c.end, "convention": dict(c.options)}
                for c in self.controls
            ],
            "noise_warp": self.noise_flow is not None,
            "dtype": self.dtype,
            "device": self.device,
            "cpu_offload": self.cpu_offload,
            "vae_tiling": self.vae_tiling,
            "adjustments": list(self.adjustments),
            "image": None if self.image is None else self.image.settings(),
        }

    def with_changes(self, **changes: Any) -> "GenerationRequest":
        return replace(self, **changes)


@dataclass(frozen=True)
class GeneratedVideo:
    """A backend's output."""

    frames: np.ndarray
    """uint8 [T, H, W, 3] sRGB."""
    fps: int
    meta: dict[str, Any] = field(default_factory=dict)
    """JSON-ready: backend, model ids/paths and weight hashes, settings, seeds, resolved device
    and dtype, adjustments. Written as OUT/meta.json's `generate` section."""


@dataclass(frozen=True)
class ShapePlan:
    """What a backend will make for a wished shape, and why it differs."""

    num_frames: int
    width: int
    height: int
    notes: tuple[str, ...] = ()

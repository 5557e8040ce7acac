"""Scene spec `generate:` section + CLI overrides + Passes -> one GenerationRequest.

The procedure (`build_request`):
1. resolve the settings: the spec's `generate:` section, with each CLI override that was given
   replacing its field (`resolve_settings`);
2. plan the shape: the backend says what it makes for the shot's frames and the wished size
   (e.g. Wan: 4k+1 frames, multiples of 16), with a note for every change;
3. guided: the control images of each `generate.controls` entry (conditioning.control) and the
   simulated flow for noise warping, both resampled to the planned shape;
   unguided: no controls and independent noise; the same prompt, seed and model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from .backends.base import Backend, BackendError, ControlInput, GenerationRequest, NoiseFlow, ShapePlan

if TYPE_CHECKING:
    from physreel.conditioning.records import Passes
    from physreel.sim.spec import Scene
    from physreel.sim.spec.model import SceneSpec


@dataclass(frozen=True)
class Overrides:
    """CLI flags that override the spec's `generate:` section; None = not given."""

    backend: str | None = None
    model: str | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    seed: int | None = None
    noise_warp: bool | None = None
    resolution: tuple[int, int] | None = None
    dtype: str | None = None
    device: str | None = None
    cpu_offload: bool | None = None
    vae_tiling: bool | None = None
    control_scale: float | None = None
    """Replaces the scale of every control (e.g. 0 to check a control's effect)."""


@dataclass(frozen=True)
class Settings:
    """The resolved generation settings of one run."""

    backend: str
    model: str | None
    steps: int
    guidance_scale: float
    seed: int
    noise_warp: bool
    resolution: tuple[int, int] | None
    dtype: str
    device: str
    cpu_offload: bool
    vae_tiling: bool
    controls: tuple[tuple[str, float, float, float], ...]
    """(kind, scale, start, end) per control."""
    prompt: str
    negative_prompt: str
    fps: int


def spec_model_dir(scene: "Scene") -> str | None:
    """The spec's `generate.model` folder, a relative path read from the scene file's folder.

    A CLI `--model` is a path typed in a shell, so it stays relative to the working directory.
    """
    model = scene.spec.generate.model
    if model is None:
        return None
    path = Path(model).expanduser()
    return str(path if path.is_absolute() else scene.directory / path)


def _default_guidance(gen, backend: str) -> float:
    """The spec's guidance_scale, or the backend's default when the spec leaves it out."""
    if gen.guidance_scale is not None:
        return gen.guidance_scale
    from physreel.engine.backends import backend_class

    return backend_class(backend).default_guidance_scale


def resolve_settings(spec: "SceneSpec", overrides: Overrides | None = None) -> Settings:
    """Merge the spec's generate section with the overrides that were given."""
    gen = spec.generate
    o = overrides or Overrides()
    pick = lambda name, default: default if getattr(o, name) is None else getattr(o, name)  # noqa: E731
    controls = tuple(
        (c.kind, float(c.scale if o.control_scale is None else o.control_scale), float(c.start), float(c.end))
        for c in gen.controls
    )
    resolution = pick("resolution", gen.resolution)
    return Settings(
        backend=pick("backend", gen.backend),
        model=pick("model", gen.model),
        steps=int(pick("steps", gen.steps)),
        guidance_scale=float(pick("guidance_scale", _default_guidance(gen, pick("backend", gen.backend)))),
        seed=int(pick("seed", spec.shot.seed if gen.seed is None else gen.seed)),
        noise_warp=bool(pick("noise_warp", gen.noise_warp)),
        resolution=None if resolution is None else (int(resolution[0]), int(resolution[1])),
        dtype=pick("dtype", gen.dtype),
        device=pick("device", gen.device),
        cpu_offload=bool(pick("cpu_offload", gen.cpu_offload)),
        vae_tiling=bool(pick("vae_tiling", gen.vae_tiling)),
        controls=controls,
        prompt=spec.shot.prompt,
        negative_prompt=spec.shot.negative_prompt,
        fps=spec.shot.fps,
    )


def generation_shape(settings: Settings, backend: Backend, num_frames: int, shot_size: tuple[int, int]) -> ShapePlan:
    """What `backend` will generate for a shot of `num_frames` frames at `shot_size` (width, height):
    `settings.resolution` if given, else the backend's native size at the shot's aspect ratio,
    then adjusted to what the backend can make (with a note per change)."""
    wished_w, wished_h = settings.resolution or backend.default_size(shot_size)
    return backend.plan_shape(num_frames, wished_w, wished_h)


ControlSource = Callable[["Passes", str], np.ndarray]


def default_control_source(passes: "Passes", kind: str) -> np.ndarray:
    """conditioning.control.control_image: uint8 [T, H, W, 3] at the passes' size."""
    from physreel.conditioning.control import control_image

    return control_image(passes, kind)


def build_request(
    spec: "SceneSpec",
    passes: "Passes",
    backend: Backend,
    *,
    guided: bool,
    overrides: Overrides | None = None,
    control_source: ControlSource = default_control_source,
) -> GenerationRequest:
    """The request for a guided (controls + warped noise) or unguided run of `spec`'s shot.

    `control_source(passes, kind)` makes the control images (default conditioning.control);
    `compare` passes a cached one so guided and unguided runs share them.
    """
    # 1. settings
    settings = resolve_settings(spec, overrides)
    if settings.backend != backend.name:
        raise BackendError(f"settings ask for backend {settings.backend!r} but {backend.name!r} was given")
    if guided and not settings.controls:
        raise BackendError("a guided run needs at least one entry in generate.controls (e.g. - kind: depth); "
                           "for no controls use --unguided")
    # 2. shape
    pass_w, pass_h = passes.size
    plan = generation_shape(settings, backend, passes.num_frames, (pass_w, pass_h))
    notes = list(plan.notes)
    # The shot's own aspect ratio (tan of the half field of view across / down): the passes may
    # already have been rendered stretched to the video's size (then fx != fy).
    shot_aspect = pass_w * passes.K[1, 1] / (pass_h * passes.K[0, 0])
    if abs(plan.width / plan.height - shot_aspect) > 0.01 * shot_aspect:
        notes.append(
            f"the shot's aspect ratio is {shot_aspect:.3g} and the video's {plan.width}x{plan.height}: "
            f"the controls and flow are stretched to the video's"
        )
    # 3. controls and noise flow (guided only)
    controls: tuple[ControlInput, ...] = ()
    noise_flow = None
    if guided:
        controls = tuple(
            ControlInput(
                kind=kind,
                frames=resize_frames(_control_frames(control_source, passes, kind)[: plan.num_frames], plan.width, plan.height, kind),
                scale=scale,
                start=start,
                end=end,
            )
            for kind, scale, start, end in settings.controls
        )
        if settings.noise_warp:
            noise_flow = _noise_flow(passes, plan.num_frames, plan.width, plan.height)
    return GenerationRequest(
        prompt=settings.prompt,
        negative_prompt=settings.negative_prompt,
        num_frames=plan.num_frames,
        fps=settings.fps,
        width=plan.width,
        height=plan.height,
        seed=settings.seed,
        steps=settings.steps,
        guidance_scale=settings.guidance_scale,
        controls=controls,
        noise_flow=noise_flow,
        backend=settings.backend,
        model_path=settings.model,
        dtype=settings.dtype,
        device=settings.device,
        cpu_offload=settings.cpu_offload,
        vae_tiling=settings.vae_tiling,
        adjustments=tuple(notes),
    )


def _control_frames(control_source: ControlSource, passes: "Passes", kind: str) -> np.ndarray:
    try:
        return control_source(passes, kind)
    except ValueError as exc:  # a pass the control needs was not rendered, or an unknown kind
        raise BackendError(f"control {kind!r}: {exc}") from None


def _noise_flow(passes: "Passes", num_frames: int, width: int, height: int) -> NoiseFlow:
    if passes.flow_fwd is None or passes.flow_valid is None:
        raise BackendError(
            "noise warping needs the flow_fwd and flow_valid passes; render them, or turn warping off "
            "(--no-noise-warp / generate.noise_warp: false)"
        )
    flow, valid = resize_flow(passes.flow_fwd[:num_frames], passes.flow_valid[:num_frames], width, height)
    return NoiseFlow(flow_fwd=flow, flow_valid=valid)


def _centre_sample_index(src: int, dst: int) -> np.ndarray:
    """Source index of each destination pixel centre: floor((j + 0.5) * src / dst). int64 [dst]."""
    return np.minimum(((np.arange(dst) + 0.5) * (src / dst)).astype(np.int64), src - 1)


def resize_flow(flow_fwd: np.ndarray, flow_valid: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Resample a flow field (float32 [T, H, W, 2], pixels) to width x height.

    Nearest sample at pixel centres (averaging would blend the flow of an object with its
    background across an edge), with dx scaled by width / W and dy by height / H so the
    vectors are in the new pixels. Returns (float32 [T, height, width, 2], bool [T, height, width]).
    """
    _, src_h, src_w, _ = flow_fwd.shape
    if (src_w, src_h) == (width, height):
        return flow_fwd.astype(np.float32, copy=False), flow_valid.astype(bool, copy=False)
    rows = _centre_sample_index(src_h, height)
    cols = _centre_sample_index(src_w, width)
    flow = flow_fwd[:, rows][:, :, cols].astype(np.float32)
    flow *= np.array([width / src_w, height / src_h], dtype=np.float32)
    return flow, flow_valid[:, rows][:, :, cols].astype(bool)


def resize_frames(frames: np.ndarray, width: int, height: int, kind: str = "") -> np.ndarray:
    """Resize uint8 [T, H, W, 3] control frames to width x height.

    Segmentation palettes are resampled nearest (a blended colour would be a different id);
    other kinds by area averaging when shrinking and bilinear when enlarging.
    """
    import cv2

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise BackendError(f"control {kind!r} images must be uint8 [T, H, W, 3], got {frames.dtype} {frames.shape}")
    _, h, w, _ = frames.shape
    if (w, h) == (width, height):
        return frames
    if kind == "seg":
        rows = _centre_sample_index(h, height)
        cols = _centre_sample_index(w, width)
        return np.ascontiguousarray(frames[:, rows][:, :, cols])
    interpolation = cv2.INTER_AREA if width * height < w * h else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (width, height), interpolation=interpolation) for f in frames])


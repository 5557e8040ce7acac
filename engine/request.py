"""A `GenerationPlan` + the shot's Passes -> one `GenerationRequest`.

The settings were resolved once (engine.settings); this module only reads them:
1. guided: the control images of each `generate.controls` entry (`control_source`, default
   conditioning.control) and the simulated flow for noise warping, both resampled to the
   planned shape;
2. unguided: no controls and independent noise; the same prompt, seed and model;
3. both: the start image (`generate.image`), if any, fitted to the planned shape
   (engine.start_image): it is what the video starts from, not physics guidance, so the unguided
   run that a guided one is compared with starts from it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Callable

import numpy as np

from physreel.conditioning.control import control_image
from physreel.conditioning.records import Passes
from physreel.sim.spec.model import ShotSpec

from .errors import BackendError
from .records import ControlInput, GenerationRequest, NoiseFlow
from .resample import resize_flow, resize_frames
from .settings import GenerationPlan
from .start_image import load_start_image

ControlSource = Callable[..., np.ndarray]
"""(passes, kind, **options) -> uint8 [T, H, W, 3] control images at the passes' size, drawn with
`conditioning.control.control_image`'s options (the plan's convention for the backend's model)."""


def build_request(
    plan: GenerationPlan,
    shot: ShotSpec,
    passes: Passes,
    *,
    guided: bool,
    control_source: ControlSource = control_image,
) -> GenerationRequest:
    """The request for a guided (controls + warped noise) or unguided run of the planned shot.

    `shot` gives the prompt and frame rate. `control_source` makes the control images; the
    pipeline passes a cached one so every run of a shot shares them.
    """
    generate, shape = plan.generate, plan.shape
    if guided and not generate.controls:
        raise BackendError("a guided run needs at least one entry in generate.controls (e.g. - kind: depth); "
                           "for no controls use --unguided")
    controls: tuple[ControlInput, ...] = ()
    noise_flow = None
    if guided:
        conventions = plan.control_options or ({},) * len(generate.controls)
        controls = tuple(
            ControlInput(
                kind=c.kind,
                frames=resize_frames(_control_frames(control_source, passes, c.kind, options)[: shape.num_frames],
                                     shape.width, shape.height, c.kind),
                scale=float(c.scale),
                start=float(c.start),
                end=float(c.end),
                options=MappingProxyType(dict(options)),
            )
            for c, options in zip(generate.controls, conventions, strict=True)
        )
        if generate.noise_warp:
            noise_flow = _noise_flow(passes, shape.num_frames, shape.width, shape.height)
    return GenerationRequest(
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        num_frames=shape.num_frames,
        fps=shot.fps,
        width=shape.width,
        height=shape.height,
        seed=generate.seed,
        steps=generate.steps,
        guidance_scale=float(generate.guidance_scale),
        controls=controls,
        noise_flow=noise_flow,
        backend=generate.backend,
        model_path=generate.model,
        dtype=generate.dtype,
        device=generate.device,
        cpu_offload=generate.cpu_offload,
        vae_tiling=generate.vae_tiling,
        adjustments=shape.notes,
        image=None if generate.image is None else load_start_image(generate.image, shape.width, shape.height, plan.camera_size),
    )


def _control_frames(control_source: ControlSource, passes: Passes, kind: str, options: Mapping[str, Any]) -> np.ndarray:
    try:
        return control_source(passes, kind, **options)
    except ValueError as exc:  # a pass the control needs was not rendered, or an unknown kind
        raise BackendError(f"control {kind!r}: {exc}") from None


def _noise_flow(passes: Passes, num_frames: int, width: int, height: int) -> NoiseFlow:
    if passes.flow_fwd is None or passes.flow_valid is None:
        raise BackendError(
            "noise warping needs the flow_fwd and flow_valid passes; render them, or turn warping off "
            "(--no-noise-warp / generate.noise_warp: false)"
        )
    flow, valid = resize_flow(passes.flow_fwd[:num_frames], passes.flow_valid[:num_frames], width, height)
    return NoiseFlow(flow_fwd=flow, flow_valid=valid)

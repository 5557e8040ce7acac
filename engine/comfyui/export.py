"""`physreel export SCENE -o OUT --format comfyui`: the shot's control video in the conventions of
ComfyUI's Wan VACE nodes, and a workflow in ComfyUI's API format that generates from it.

The settings are the scene's `generate:` section resolved for the wan-vace backend (its shape:
4k+1 frames at multiples of 16 px; one control of depth, flow or pose, acting over all steps);
the stages are the pipeline's own (engine.pipeline.Stages: simulate, particles, passes at the
video's size, control images) and the control frames come from the same request builder a
`physreel render --backend wan-vace` run uses, so ComfyUI receives what physreel's own wan-vace
backend would. Everything is computed in memory first; a bad setting writes nothing, and every
file appears complete under its name (sim.files).

Written:
- OUT/trajectory.npz, OUT/meta.json (the shot, as `physreel simulate` writes it), with an `export` section;
- OUT/comfyui/control/<kind>/00000.png ...: the control video as RGB PNG frames, the folder
  VideoHelperSuite's VHS_LoadImagesPath reads into an IMAGE batch (it sorts the names, hence
  zero-padded), and OUT/comfyui/control/<kind>.mp4, the same frames as H.264 (VHS_LoadVideo;
  lossy, for viewing);
- OUT/comfyui/workflow_api.json: the workflow (engine.comfyui.workflow), checked against the
  published node definitions before it is written. It was not run inside ComfyUI here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physreel.conditioning.video import write_mp4, write_png_sequence
from physreel.sim.files import output_folder, update_json, write_json
from physreel.sim.records import Shot
from physreel.sim.spec import Scene

from ..backends import get_backend
from ..errors import BackendError
from ..pipeline import Stages, default_stages
from ..request import build_request
from ..settings import GenerationPlan, Overrides, located_backend_error, plan_generation, resolve_generate
from .workflow import NODE_INPUTS_FILE, WAN_VACE_FILES, VaceJob, wan_vace_workflow, workflow_problems

BACKEND = "wan-vace"
"""The backend whose conventions (shape, controls) ComfyUI's Wan VACE nodes share."""
WORKFLOW_FILE = Path("comfyui") / "workflow_api.json"


@dataclass(frozen=True)
class ComfyExport:
    """What an export made (all of it written under `out`)."""

    out: Path
    plan: GenerationPlan
    kind: str
    """The control kind exported."""
    frames: np.ndarray
    """uint8 [T, H, W, 3] control frames as written (T = 4k+1, H and W multiples of 16)."""
    workflow: dict
    notes: tuple[str, ...]


def plan_export(scene: Scene, overrides: Overrides | None = None) -> GenerationPlan:
    """The wan-vace plan of the scene (no models needed); BackendError (located at the scene's line
    when the setting came from the file) for a control VACE cannot take."""
    overrides = {**(overrides or {}), "backend": BACKEND}
    generate = resolve_generate(scene, overrides)
    backend = get_backend(BACKEND, generate.model)
    try:
        backend.check_settings(generate)
        if not generate.controls:
            raise BackendError("the export needs one control in generate.controls (depth, flow or pose)", "controls")
    except BackendError as exc:
        raise located_backend_error(scene, exc, overrides) from None
    return plan_generation(scene, generate, backend)


def export_comfyui(scene: Scene, out: Path, overrides: Overrides | None = None, stages: Stages | None = None,
                   bars: bool = False) -> ComfyExport:
    """Plan, simulate, render and write the export of `scene` into `out` (see the module docstring)."""
    # 1. settings and shape, before any work
    plan = plan_export(scene, overrides)
    stages = stages or default_stages()
    shape = plan.shape
    # 2. the pipeline's stages: shot, passes at the video's size, the request's control frames
    shot: Shot = stages.particles(stages.simulate(scene, bars))
    passes = stages.render_passes(shot, (shape.width, shape.height), bars)
    request = build_request(plan, scene.spec.shot, passes, guided=True, control_source=stages.control_image)
    get_backend(BACKEND, plan.generate.model).check_request(request)
    control = request.controls[0]
    # 3. the workflow, checked against the node definitions
    out = Path(out)
    control_dir = Path("comfyui") / "control" / control.kind
    job = VaceJob(
        control_dir=(out / control_dir).resolve(),
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        width=request.width,
        height=request.height,
        num_frames=request.num_frames,
        fps=request.fps,
        seed=request.seed,
        steps=request.steps,
        cfg=request.guidance_scale,
        strength=control.scale,
        output_prefix=f"physreel/{scene.source.stem}",
    )
    workflow = wan_vace_workflow(job)
    problems = workflow_problems(workflow)
    if problems:  # physreel's own graph disagrees with the node definitions: a bug here, not the user's
        raise RuntimeError("the exported workflow does not match node_inputs.json: " + "; ".join(problems))
    notes = list(shape.notes)
    if plan.generate.noise_warp:
        notes.append("ComfyUI's KSampler draws its own initial noise: physreel's flow-warped noise is not part of the export")
    # 4. write
    with output_folder(out):
        stages.write_shot(out, shot)
        write_png_sequence(out / control_dir, control.frames)
        write_mp4(out / control_dir.with_suffix(".mp4"), control.frames, request.fps)
        write_json(out / WORKFLOW_FILE, workflow)
        update_json(out / "meta.json", {"export": {
            "format": "comfyui",
            "workflow": WORKFLOW_FILE.as_posix(),
            "control": {"kind": control.kind, "frames": f"{control_dir.as_posix()}/%05d.png",
                        "video": control_dir.with_suffix(".mp4").as_posix(), "num_frames": request.num_frames,
                        "width": request.width, "height": request.height, "fps": request.fps, "strength": control.scale},
            "comfyui_models": WAN_VACE_FILES,
            "validated_against": f"physreel/engine/comfyui/{NODE_INPUTS_FILE.name}",
            "run_in_comfyui": False,
            "notes": notes,
        }})
    return ComfyExport(out, plan, control.kind, control.frames, workflow, tuple(notes))

"""A ComfyUI workflow in its API format that runs Wan 2.1 VACE on physreel's control video, and the
check of a workflow against the published node definitions (node_inputs.json).

ComfyUI's API format (what its `/prompt` endpoint takes, and what "Export (API)" saves) is a JSON
object: node id (a string) -> {"class_type": NAME, "inputs": {NAME: value or [node id, output
index]}, "_meta": {"title": ...}}. The graph here is ComfyUI's native Wan VACE text-to-video
graph: UNETLoader + CLIPLoader (type wan) + VAELoader; the prompt and negative prompt through
CLIPTextEncode; the control video loaded by VideoHelperSuite's VHS_LoadImagesPath from the PNG
folder physreel writes; WanVaceToVideo (width, height, length, strength = the control's scale);
KSampler; TrimVideoLatent (WanVaceToVideo's trim_latent output); VAEDecode; VHS_VideoCombine
(an H.264 MP4 at the shot's frame rate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

NODE_INPUTS_FILE = Path(__file__).with_name("node_inputs.json")
LINK_TYPES = frozenset({"MODEL", "CLIP", "VAE", "CONDITIONING", "LATENT", "IMAGE", "MASK", "AUDIO",
                        "VHS_BatchManager", "VHS_FILENAMES"})
"""Data types that only a link carries (never a literal value)."""

WAN_VACE_FILES = {
    "unet_name": "wan2.1_vace_1.3B_fp16.safetensors",
    "clip_name": "umt5_xxl_fp8_e4m3fn_scaled.safetensors",
    "vae_name": "wan_2.1_vae.safetensors",
}
"""The Wan 2.1 VACE 1.3B files as ComfyUI's repackaging names them (Comfy-Org/Wan_2.1_ComfyUI_repackaged,
split_files/{diffusion_models,text_encoders,vae}/), placed in ComfyUI's models/ folders of those names."""
SAMPLER = ("uni_pc", "simple")
"""KSampler's sampler_name and scheduler: UniPC, the sampler of Wan's own pipelines, with ComfyUI's simple schedule."""


@dataclass(frozen=True)
class VaceJob:
    """What the workflow generates: everything comes from the scene and physreel's plan."""

    control_dir: Path
    """Absolute folder of the control video's PNG frames (00000.png, ...)."""
    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_frames: int
    """4k+1."""
    fps: int
    seed: int
    steps: int
    cfg: float
    strength: float
    """VACE's context scale: the control's scale."""
    output_prefix: str
    """VHS_VideoCombine's filename_prefix (under ComfyUI's output folder)."""


def wan_vace_workflow(job: VaceJob) -> dict[str, dict[str, Any]]:
    """The API-format workflow for `job` (node ids "1".."12", in the order data flows)."""
    nodes = [
        ("UNETLoader", "Load Wan 2.1 VACE 1.3B", {"unet_name": WAN_VACE_FILES["unet_name"], "weight_dtype": "default"}),
        ("CLIPLoader", "Load umt5 xxl", {"clip_name": WAN_VACE_FILES["clip_name"], "type": "wan", "device": "default"}),
        ("VAELoader", "Load Wan VAE", {"vae_name": WAN_VACE_FILES["vae_name"]}),
        ("CLIPTextEncode", "Prompt (the scene's shot.prompt)", {"text": job.prompt, "clip": ["2", 0]}),
        ("CLIPTextEncode", "Negative prompt", {"text": job.negative_prompt, "clip": ["2", 0]}),
        ("VHS_LoadImagesPath", "physreel control video", {"directory": str(job.control_dir), "image_load_cap": 0,
                                                          "skip_first_images": 0, "select_every_nth": 1}),
        ("WanVaceToVideo", "VACE: generate everywhere, guided by the control video", {
            "positive": ["4", 0], "negative": ["5", 0], "vae": ["3", 0], "width": job.width, "height": job.height,
            "length": job.num_frames, "batch_size": 1, "strength": job.strength, "control_video": ["6", 0]}),
        ("KSampler", "Sample", {"model": ["1", 0], "seed": job.seed, "steps": job.steps, "cfg": job.cfg,
                                "sampler_name": SAMPLER[0], "scheduler": SAMPLER[1], "positive": ["7", 0],
                                "negative": ["7", 1], "latent_image": ["7", 2], "denoise": 1.0}),
        ("TrimVideoLatent", "Trim the reference frames (none here)", {"samples": ["8", 0], "trim_amount": ["7", 3]}),
        ("VAEDecode", "Decode", {"samples": ["9", 0], "vae": ["3", 0]}),
        ("VHS_VideoCombine", "Save MP4", {"images": ["10", 0], "frame_rate": job.fps, "loop_count": 0,
                                          "filename_prefix": job.output_prefix, "format": "video/h264-mp4",
                                          "pingpong": False, "save_output": True, "pix_fmt": "yuv420p", "crf": 19,
                                          "save_metadata": True, "trim_to_audio": False}),
    ]
    return {str(i): {"class_type": cls, "inputs": inputs, "_meta": {"title": title}}
            for i, (cls, title, inputs) in enumerate(nodes, start=1)}


@lru_cache(maxsize=1)
def node_definitions() -> dict[str, dict]:
    """class_type -> its definition from node_inputs.json."""
    return json.loads(NODE_INPUTS_FILE.read_text())["nodes"]


def workflow_problems(workflow: dict) -> list[str]:
    """Every way `workflow` departs from the node definitions: unknown node types, missing required
    or unknown inputs, links to absent nodes or outputs or of the wrong type, values of the wrong
    type or out of range. Empty when it conforms."""
    definitions = node_definitions()
    problems = []
    for node_id, node in workflow.items():
        class_type = node.get("class_type")
        if class_type not in definitions:
            problems.append(f"node {node_id}: unknown class_type {class_type!r}")
            continue
        definition = definitions[class_type]
        inputs = node.get("inputs", {})
        specs = {**definition["required"], **definition.get("optional", {}),
                 **definition.get("format_widgets", {}).get(inputs.get("format"), {})}
        for name in definition["required"]:
            if name not in inputs:
                problems.append(f"node {node_id} ({class_type}): required input {name!r} is missing")
        for name, value in inputs.items():
            if name not in specs:
                problems.append(f"node {node_id} ({class_type}): no input named {name!r}")
                continue
            problem = _input_problem(workflow, specs[name], value)
            if problem:
                problems.append(f"node {node_id} ({class_type}) input {name!r}: {problem}")
    return problems


def _input_problem(workflow: dict, spec: dict, value: Any) -> str | None:
    kind = spec["type"]
    if isinstance(value, list):  # a link: [node id, output index]
        if len(value) != 2 or not isinstance(value[0], str) or not isinstance(value[1], int):
            return f"{value!r} is not a link [node id, output index]"
        source = workflow.get(value[0])
        if source is None:
            return f"links to node {value[0]!r}, which is not in the workflow"
        outputs = node_definitions().get(source.get("class_type"), {}).get("outputs", [])
        if not 0 <= value[1] < len(outputs):
            return f"links to output {value[1]} of node {value[0]}, which has {len(outputs)}"
        if outputs[value[1]] != kind:
            return f"links to a {outputs[value[1]]} output; it takes {kind}"
        return None
    if kind in LINK_TYPES:
        return f"takes a {kind} link, not the value {value!r}"
    if kind == "COMBO":
        if "options" in spec:
            return None if value in spec["options"] else f"{value!r} is not one of {spec['options']}"
        return None if isinstance(value, str) and value else f"{value!r} is not a name from {spec['options_from']}"
    if kind == "STRING":
        return None if isinstance(value, str) else f"{value!r} is not a string"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"{value!r} is not a boolean"
    if kind == "INT" and (isinstance(value, bool) or not isinstance(value, int)):
        return f"{value!r} is not an integer"
    if kind == "FLOAT" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"{value!r} is not a number"
    if value < spec.get("min", value) or value > spec.get("max", value):
        return f"{value} is outside [{spec.get('min')}, {spec.get('max')}]"
    step = spec.get("step")
    if kind == "INT" and step and (value - spec.get("min", 0)) % step:  # the widget's values are min + k * step
        return f"{value} is not {spec.get('min', 0)} plus a multiple of {step}"
    return None

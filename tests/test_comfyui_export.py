"""`physreel export --format comfyui`: the control video as ComfyUI's Wan VACE nodes take it and an
API-format workflow checked against the node definitions of engine/comfyui/node_inputs.json.
(Nothing here runs ComfyUI; the workflow is checked against the published definitions only.)"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from physreel.engine.cli import main
from physreel.engine.comfyui.workflow import node_definitions, workflow_problems

BALL = Path(__file__).resolve().parent.parent / "scenes" / "bouncing_ball.yaml"
FRAMES = 17
"""0.75 s at 24 fps is 18 frames; Wan makes 4k+1, so the first 17 = 4*4 + 1."""


def _scene(tmp_path: Path, **generate) -> Path:
    data = yaml.safe_load(BALL.read_text())
    data["shot"]["duration"] = 0.75
    if generate:
        data["generate"] = generate
    path = tmp_path / "ball.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    scene = _scene(tmp, steps=12, seed=5, guidance_scale=6.0, controls=[{"kind": "depth", "scale": 0.8}])
    out = tmp / "out"
    assert main(["--quiet", "export", str(scene), "-o", str(out), "--format", "comfyui", "--resolution", "40x36"]) == 0
    return out


def _nodes_of(workflow: dict, class_type: str) -> list[tuple[str, dict]]:
    return [(i, n) for i, n in workflow.items() if n["class_type"] == class_type]


def test_control_frames_are_a_png_sequence_at_4k_plus_1_frames_and_multiples_of_16(exported):
    folder = exported / "comfyui" / "control" / "depth"
    names = sorted(p.name for p in folder.iterdir())
    # VHS_LoadImagesPath sorts the file names: zero-padded, one per frame, in order
    assert names == [f"{i:05d}.png" for i in range(FRAMES)]
    frames = np.stack([np.asarray(Image.open(folder / n)) for n in names])
    assert frames.shape == (FRAMES, 32, 32, 3) and frames.dtype == np.uint8  # 40x36 rounded down to 16s
    assert frames.std() > 0  # the ball's depth shows: not a blank video
    meta = json.loads((exported / "meta.json").read_text())["export"]
    assert meta["control"] == {"kind": "depth", "frames": "comfyui/control/depth/%05d.png", "video": "comfyui/control/depth.mp4",
                               "num_frames": FRAMES, "width": 32, "height": 32, "fps": 24, "strength": 0.8}
    assert meta["run_in_comfyui"] is False
    assert (exported / "comfyui" / "control" / "depth.mp4").stat().st_size > 0


def test_the_control_frames_are_those_the_wan_vace_backend_would_be_given(exported, tmp_path):
    from physreel.engine.comfyui.export import plan_export
    from physreel.engine.pipeline import default_stages
    from physreel.engine.request import build_request
    from physreel.sim.spec import load_scene

    scene = load_scene(_scene(tmp_path, steps=12, seed=5, guidance_scale=6.0, controls=[{"kind": "depth", "scale": 0.8}]))
    plan = plan_export(scene, {"resolution": (40, 36)})
    stages = default_stages()
    passes = stages.render_passes(stages.particles(stages.simulate(scene, False)), (32, 32), False)
    request = build_request(plan, scene.spec.shot, passes, guided=True)
    folder = exported / "comfyui" / "control" / "depth"
    written = np.stack([np.asarray(Image.open(p)) for p in sorted(folder.iterdir())])
    np.testing.assert_array_equal(written, request.controls[0].frames)  # PNG is lossless: exactly equal


def test_the_workflow_uses_only_defined_nodes_with_their_required_inputs_and_valid_links(exported):
    workflow = json.loads((exported / "comfyui" / "workflow_api.json").read_text())
    assert workflow_problems(workflow) == []
    assert {n["class_type"] for n in workflow.values()} <= set(node_definitions())


def test_the_workflow_wires_the_scene_into_wan_vace(exported):
    workflow = json.loads((exported / "comfyui" / "workflow_api.json").read_text())
    scene = yaml.safe_load(BALL.read_text())
    ((vace_id, vace),) = _nodes_of(workflow, "WanVaceToVideo")
    ((loader_id, loader),) = _nodes_of(workflow, "VHS_LoadImagesPath")
    ((_, sampler),) = _nodes_of(workflow, "KSampler")
    ((_, trim),) = _nodes_of(workflow, "TrimVideoLatent")
    assert vace["inputs"]["control_video"] == [loader_id, 0]
    assert Path(loader["inputs"]["directory"]) == (exported / "comfyui" / "control" / "depth").resolve()
    assert (vace["inputs"]["width"], vace["inputs"]["height"], vace["inputs"]["length"]) == (32, 32, FRAMES)
    assert vace["inputs"]["strength"] == 0.8
    texts = {workflow[vace["inputs"][side][0]]["inputs"]["text"] for side in ("positive", "negative")}
    assert texts == {scene["shot"]["prompt"], scene["shot"]["negative_prompt"]}
    assert workflow[vace["inputs"]["positive"][0]]["inputs"]["text"] == scene["shot"]["prompt"]
    assert (sampler["inputs"]["seed"], sampler["inputs"]["steps"], sampler["inputs"]["cfg"]) == (5, 12, 6.0)
    assert sampler["inputs"]["positive"] == [vace_id, 0] and sampler["inputs"]["negative"] == [vace_id, 1]
    assert sampler["inputs"]["latent_image"] == [vace_id, 2] and trim["inputs"]["trim_amount"] == [vace_id, 3]
    ((_, combine),) = _nodes_of(workflow, "VHS_VideoCombine")
    assert combine["inputs"]["frame_rate"] == 24


@pytest.mark.parametrize("change, problem", [
    (lambda w: w["7"]["inputs"].pop("vae"), "required input 'vae' is missing"),
    (lambda w: w["7"]["inputs"].update(length=12), "12 is not 1 plus a multiple of 4"),
    (lambda w: w["7"]["inputs"].update(width=40), "40 is not 16 plus a multiple of 16"),
    (lambda w: w["7"]["inputs"].update(control_video=["3", 0]), "links to a VAE output; it takes IMAGE"),
    (lambda w: w["8"]["inputs"].update(latent_image=["7", 4]), "links to output 4 of node 7, which has 4"),
    (lambda w: w["8"]["inputs"].update(model=["99", 0]), "links to node '99', which is not in the workflow"),
    (lambda w: w["2"]["inputs"].update(type="umt5"), "'umt5' is not one of"),
    (lambda w: w["8"]["inputs"].update(steps=2.5), "2.5 is not an integer"),
    (lambda w: w["8"]["inputs"].update(vae=["3", 0]), "no input named 'vae'"),
    (lambda w: w["11"].update(class_type="SaveVideoMP4"), "unknown class_type 'SaveVideoMP4'"),
    (lambda w: w["4"]["inputs"].update(clip="umt5"), "takes a CLIP link, not the value 'umt5'"),
])
def test_the_workflow_check_names_each_departure_from_the_node_definitions(exported, change, problem):
    workflow = copy.deepcopy(json.loads((exported / "comfyui" / "workflow_api.json").read_text()))
    change(workflow)
    problems = workflow_problems(workflow)
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize("generate, problem", [
    ({"controls": [{"kind": "edges"}]}, "generate.controls: wan-vace has no 'edges' control (it takes depth, flow, pose)"),
    ({"controls": [{"kind": "depth"}, {"kind": "flow"}]}, "takes one control video, got depth, flow"),
    ({"controls": [{"kind": "depth", "start": 0.2}]}, "applies its control over all steps"),
])
def test_a_control_vace_cannot_take_exits_2_at_its_line_and_writes_nothing(tmp_path, capsys, generate, problem):
    scene = _scene(tmp_path, **generate)
    out = tmp_path / "out"
    assert main(["export", str(scene), "-o", str(out), "--format", "comfyui"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and problem in err and err.startswith(f"{scene}:")
    assert not out.exists()


def test_export_rejects_bad_flags_before_any_work(tmp_path, capsys):
    scene = _scene(tmp_path)
    out = tmp_path / "out"
    assert main(["export", str(scene), "-o", str(out), "--format", "comfyui", "--steps", "0"]) == 2
    assert main(["export", str(scene), "-o", str(out), "--format", "comfyui", "--resolution", "big"]) == 2
    with pytest.raises(SystemExit) as exited:  # argparse's own refusal of an unknown format
        main(["export", str(scene), "-o", str(out), "--format", "a1111"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--steps 0" in err and "WIDTHxHEIGHT" in err and "invalid choice: 'a1111'" in err
    assert not out.exists()

"""sim.spec.overrides: dotted paths into a scene's YAML data (sweeps), before validation."""

from __future__ import annotations

import pytest

from physreel.sim.spec.overrides import OverridePathError, apply_overrides, set_path

SCENE = {
    "shot": {"seed": 1},
    "camera": {"resolution": [64, 48], "fov_deg": 40},
    "objects": [
        {"name": "floor", "shape": "plane"},
        {"name": "ball", "shape": "sphere", "material": {"restitution": 0.5}},
        {"name": "box", "shape": "box"},
    ],
    "events": [{"at": 0.1, "object": "ball", "impulse": [1, 0, 0]}],
    "generate": {"controls": [{"kind": "depth"}, {"kind": "flow", "scale": 0.5}]},
}


def test_objects_are_addressed_by_name_and_the_input_is_left_alone():
    data, written = apply_overrides(SCENE, {"objects.ball.material.restitution": 0.9})
    assert data["objects"][1]["material"]["restitution"] == 0.9
    assert SCENE["objects"][1]["material"]["restitution"] == 0.5
    assert written == {"objects.ball.material.restitution": [("objects", 1, "material", "restitution")]}


def test_an_index_and_a_star_pick_list_items():
    data, written = apply_overrides(SCENE, {"events.0.at": 0.2, "generate.controls.*.scale": 0.0})
    assert data["events"][0]["at"] == 0.2
    assert [c["scale"] for c in data["generate"]["controls"]] == [0.0, 0.0]
    assert written["generate.controls.*.scale"] == [("generate", "controls", 0, "scale"), ("generate", "controls", 1, "scale")]


def test_a_missing_section_is_created_for_the_loader_to_judge():
    data, _ = apply_overrides(SCENE, {"objects.box.material.friction": 0.2, "shot.fps": 12})
    assert data["objects"][2]["material"] == {"friction": 0.2}
    assert data["shot"] == {"seed": 1, "fps": 12}


def test_a_value_replaces_the_old_one_and_deeper_paths_apply_after_shallower_ones():
    data, _ = apply_overrides(SCENE, {"camera.resolution": [32, 32], "camera": {"orbit": {"radius": 2}}})
    assert data["camera"] == {"orbit": {"radius": 2}, "resolution": [32, 32]}


def test_values_are_copied():
    value = {"position": [0, 0, 1]}
    data, _ = apply_overrides(SCENE, {"camera": value})
    data["camera"]["position"][2] = 5
    assert value["position"][2] == 1


@pytest.mark.parametrize("path, problem, hint", [
    ("objects.bal.radius", "objects has no item named 'bal'", "did you mean 'ball'?"),
    ("objects.zebra.radius", "objects has no item named 'zebra'", "objects has floor, ball, box"),
    ("events.3.at", "events has 1 item(s); index 3 is out of range", "use 0 to 0"),
    ("camera.resolution.width", "camera.resolution is a list without names; 'width' picks nothing",
     "pick an item by index (0 to 1) or every item with *"),
    ("camera.fov_deg.min", "camera.fov_deg is a single value (40), it has no field 'min'", "end the path at camera.fov_deg"),
    ("shot..seed", "is not a dotted field path", "write fields joined by dots"),
    ("", "is not a dotted field path", "write fields joined by dots"),
])
def test_a_path_that_names_nothing_says_what_is_there(path, problem, hint):
    with pytest.raises(OverridePathError) as caught:
        set_path({**SCENE}, path, 1)
    assert (caught.value.path, caught.value.problem) == (path, problem)
    assert hint in caught.value.hint

"""The scene spec: defaults written into the resolved spec, the shortcuts (colour names, follow
shorthand, repeat/grid/pyramid names), quaternion normalisation, the spec hash, and the
`validate` and `schema` commands.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import yaml

from physreel.engine.cli import main
from physreel.sim.spec import Scene, SceneSpec, SpecError, load_scene, scene_from_data
from physreel.sim.spec.model import copy_suffixes, expanded_names
from physreel.sim.spec.types import NAMED_COLORS

SCENES = Path(__file__).resolve().parents[1] / "scenes"
SCENE_FILES = sorted(SCENES.glob("*.yaml"))
SOURCE = Path("/virtual/scene.yaml")


def _scene(**sections) -> Scene:
    return scene_from_data(sections, SOURCE)


def _ball(**fields) -> dict:
    return {"name": "ball", "shape": "sphere", **fields}


# ------------------------------------------------------------------------------ defaults
def test_defaults_are_written_into_the_resolved_spec():
    resolved = _scene(objects=[_ball()]).resolved_dict()
    assert resolved["shot"] == {
        "name": "shot",
        "duration": 2.0,
        "fps": 24,
        "physics_hz": 240,
        "seed": 0,
        "gravity": [0.0, 0.0, -9.81],
        "prompt": "",
        "negative_prompt": "",
    }
    camera = resolved["camera"]
    assert camera["resolution"] == [512, 512] and camera["fov_deg"] == 50.0
    assert camera["position"] == [0.0, -6.0, 2.0] and camera["up"] == [0.0, 0.0, 1.0]
    ball = resolved["objects"][0]
    assert ball["radius"] == 0.1 and ball["static"] is False and ball["mass"] is None
    assert ball["material"] == {
        "density": None,
        "friction": 0.5,
        "rolling_friction": 0.0,
        "spinning_friction": 0.0,
        "restitution": 0.2,
        "linear_damping": 0.0,
        "angular_damping": 0.0,
    }
    assert ball["color"] == [0.7, 0.7, 0.7]
    assert resolved["generate"]["backend"] == "builtin"


def test_a_plane_defaults_to_static():
    spec = _scene(objects=[{"name": "floor", "shape": "plane"}]).spec
    assert spec.objects[0].static is True


def test_the_resolved_spec_loads_back_to_the_same_spec():
    """`validate --print-resolved` output is itself a valid scene with the same hash."""
    scene = load_scene(SCENES / "bowling.yaml")
    again = scene_from_data(json.loads(json.dumps(scene.resolved_dict())), scene.source)
    assert again.spec == scene.spec
    assert again.spec_hash() == scene.spec_hash()


def test_the_spec_is_frozen():
    spec = _scene(objects=[_ball()]).spec
    with pytest.raises(Exception):
        spec.shot.fps = 30  # type: ignore[misc]


# ------------------------------------------------------------------------------ colours
@pytest.mark.parametrize(
    "given, rgb",
    [
        ("red", NAMED_COLORS["red"]),
        ("  Wood ", NAMED_COLORS["wood"]),
        ("#ff8000", (1.0, 128 / 255, 0.0)),
        ("#FF8000", (1.0, 128 / 255, 0.0)),
        ([0.1, 0.2, 0.3], (0.1, 0.2, 0.3)),
        ([0, 1, 0], (0.0, 1.0, 0.0)),
    ],
)
def test_colours_by_name_hex_or_list(given, rgb):
    color = _scene(objects=[_ball(color=given)]).spec.objects[0].color
    assert color == pytest.approx(rgb, abs=1e-12)


def test_texture_second_colour_takes_names_too():
    obj = _scene(objects=[_ball(texture={"kind": "checker", "color2": "blue"})]).spec.objects[0]
    assert obj.texture.color2 == NAMED_COLORS["blue"]


@pytest.mark.parametrize("bad", ["#ff80", "#gg8000", "reddish"])
def test_malformed_colours_are_rejected(bad):
    with pytest.raises(SpecError, match="unknown colour"):
        _scene(objects=[_ball(color=bad)])


# ---------------------------------------------------------------------------- rotations
def test_quaternions_are_normalised_on_load():
    q = _scene(objects=[_ball(quaternion=[0, 0, 2, 2])]).spec.objects[0].quaternion
    assert q == pytest.approx((0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)), abs=1e-12)
    assert sum(c * c for c in q) == pytest.approx(1.0, abs=1e-12)


def test_euler_degrees_are_kept_as_written():
    obj = _scene(objects=[_ball(euler_deg=[0, 20, 90])]).spec.objects[0]
    assert obj.euler_deg == (0.0, 20.0, 90.0) and obj.quaternion is None


# ------------------------------------------------------------------------------- camera
@pytest.mark.parametrize(
    "camera, kind",
    [
        ({}, "fixed"),
        ({"orbit": {"radius": 3}}, "orbit"),
        ({"dolly": {"start": [0, -3, 1], "end": [1, -3, 1], "look_at": [0, 0, 0]}}, "dolly"),
        ({"follow": "ball"}, "follow"),
        (
            {"keyframes": [{"t": 0, "position": [0, -3, 1], "look_at": [0, 0, 0]}, {"t": 1, "position": [1, -3, 1], "look_at": [0, 0, 0]}]},
            "keyframes",
        ),
    ],
)
def test_camera_has_one_path_kind(camera, kind):
    assert _scene(camera=camera, objects=[_ball()]).spec.camera.path_kind == kind


def test_camera_paths_are_exclusive():
    with pytest.raises(SpecError) as caught:
        _scene(camera={"orbit": {"radius": 3}, "follow": "ball"}, objects=[_ball()])
    (issue,) = caught.value.issues
    assert issue.field == "camera.follow"
    assert issue.problem == "camera can follow one path, got orbit and follow"


def test_follow_shorthand_equals_the_full_form():
    short = _scene(camera={"follow": "ball"}, objects=[_ball()]).spec.camera.follow
    full = _scene(camera={"follow": {"object": "ball"}}, objects=[_ball()]).spec.camera.follow
    assert short == full
    assert short.object == "ball" and short.offset == (0.0, -4.0, 1.5)


def test_follow_may_name_a_copy_of_a_repeated_object():
    objects = [{"name": "domino", "shape": "box", "repeat": {"count": 3, "step": [0.1, 0, 0]}}]
    assert _scene(camera={"follow": "domino_2"}, objects=objects).spec.camera.follow.object == "domino_2"


# ---------------------------------------------------------------------- YAML features
def test_anchors_and_merge_keys_share_settings(tmp_path):
    """`<<: *name` merges a mapping; keys written beside it win."""
    path = tmp_path / "scene.yaml"
    path.write_text(
        "objects:\n"
        "  - &crate {name: a, shape: box, size: [0.3, 0.3, 0.3], color: wood, material: {friction: 0.9}}\n"
        "  - {<<: *crate, name: b, color: red}\n"
    )
    a, b = load_scene(path).spec.objects
    assert (b.name, b.size, b.material.friction) == ("b", (0.3, 0.3, 0.3), 0.9)
    assert b.color == NAMED_COLORS["red"] and a.color == NAMED_COLORS["wood"]


def test_an_error_in_a_merged_value_points_where_it_is_written(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text("objects:\n  - &ball {name: a, shape: sphere, radius: -1}\n  - {<<: *ball, name: b}\n")
    with pytest.raises(SpecError) as caught:
        load_scene(path)
    assert [(i.field, i.line, i.column) for i in caught.value.issues] == [
        ("objects[0].radius", 2, 44),
        ("objects[1].radius", 2, 44),
    ]


# ------------------------------------------------------------------------ copies, names
def test_repeat_grid_and_pyramid_names():
    spec = _scene(
        objects=[
            {"name": "d", "shape": "box", "repeat": {"count": 3, "step": [0.1, 0, 0]}},
            {"name": "g", "shape": "box", "grid": {"counts": [2, 1, 2], "spacing": [1, 1, 1]}},
            {"name": "p", "shape": "box", "pyramid": {"levels": 3, "spacing": [0.2, 0.2]}},
            _ball(),
        ]
    ).spec
    assert expanded_names(spec) == [
        "d_0", "d_1", "d_2",
        "g_0_0_0", "g_1_0_0", "g_0_0_1", "g_1_0_1",
        "p_0_0", "p_0_1", "p_0_2", "p_1_0", "p_1_1", "p_2_0",
        "ball",
    ]  # fmt: skip
    assert copy_suffixes(spec.objects[3]) == [""]


@pytest.mark.parametrize("scale, expected", [(2, (2.0, 2.0, 2.0)), ([1, 2, 3], (1.0, 2.0, 3.0))])
def test_mesh_scale_takes_a_number_or_three(scale, expected):
    mesh = {"name": "m", "shape": "mesh", "file": "assets/apple.obj", "scale": scale}
    scene = scene_from_data({"objects": [mesh]}, SCENES / "in_code.yaml")
    assert scene.spec.objects[0].scale == expected
    assert scene.assets["m"] == SCENES / "assets" / "apple.obj"


# ------------------------------------------------------------------------------- hashing
def test_spec_hash_is_stable_across_loads():
    first, second = load_scene(SCENES / "domino_chain.yaml"), load_scene(SCENES / "domino_chain.yaml")
    assert first.spec_hash() == second.spec_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", first.spec_hash())


def test_spec_hash_ignores_how_a_default_is_written():
    """Writing a default explicitly gives the same resolved spec, hence the same hash."""
    assert _scene(objects=[_ball()]).spec_hash() == _scene(shot={"fps": 24}, objects=[_ball(radius=0.1)]).spec_hash()


@pytest.mark.parametrize(
    "change",
    [
        {"shot": {"seed": 1}},
        {"shot": {"prompt": "a ball"}},
        {"camera": {"fov_deg": 51}},
        {"objects": [_ball(radius=0.11)]},
        {"objects": [_ball(material={"friction": 0.51})]},
        {"objects": [_ball(color="blue")]},
    ],
)
def test_spec_hash_changes_when_a_field_changes(change):
    base = {"objects": [_ball()]}
    assert _scene(**base).spec_hash() != _scene(**{**base, **change}).spec_hash()


# ------------------------------------------------------------------------- the examples
@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_examples_resolve_their_asset_files_inside_the_repo(path):
    scene = load_scene(path)
    for name, asset in scene.assets.items():
        assert asset.is_file(), name


# ------------------------------------------------------------------------------- the CLI
def test_validate_prints_a_summary(capsys):
    assert main(["validate", str(SCENES / "domino_chain.yaml")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"{SCENES / 'domino_chain.yaml'}: ok: 21 bodies, 72 frames at 24 fps (480 Hz physics), 384x256, camera keyframes"


def test_validate_quiet_prints_nothing(capsys):
    assert main(["--quiet", "validate", str(SCENES / "bouncing_ball.yaml")]) == 0
    assert capsys.readouterr().out == ""


def test_validate_print_resolved_gives_the_filled_in_spec(capsys):
    assert main(["validate", "--print-resolved", str(SCENES / "bouncing_ball.yaml")]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert resolved["shot"]["physics_hz"] == 240
    assert resolved["objects"][1]["material"]["friction"] == 0.5  # a default the YAML leaves out


def _schema(capsys) -> dict:
    assert main(["schema"]) == 0
    return json.loads(capsys.readouterr().out)


def test_schema_is_a_json_schema_of_the_scene(capsys):
    schema = _schema(capsys)
    assert schema["type"] == "object" and schema["title"] == "physreel scene"
    assert set(schema["properties"]) >= {"shot", "camera", "objects", "events", "generate"}
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, f"{name} must forbid unknown keys"
    # Field docstrings become descriptions (editor hover text).
    assert "seconds" in schema["$defs"]["ShotSpec"]["properties"]["duration"]["description"]


@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_schema_accepts_every_example_scene(capsys, path):
    """Round trip: what the loader accepts, the editor's schema accepts (shortcuts included)."""
    schema = _schema(capsys)
    data = yaml.safe_load(path.read_text())
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
    if jsonschema is not None:
        jsonschema.validate(data, schema)
    problems = _schema_problems(data, schema, schema, "")
    assert not problems, problems


def test_schema_checker_rejects_what_the_schema_forbids(capsys):
    """The small checker below is strict enough to catch an unknown key, a wrong type and a range."""
    schema = _schema(capsys)
    bad = {"shot": {"duration": -1, "fsp": 24}, "objects": [{"name": "b", "shape": "sphere", "color": "reddish"}]}
    problems = _schema_problems(bad, schema, schema, "")
    assert any("fsp" in p for p in problems)
    assert any("duration" in p for p in problems)
    assert any("color" in p for p in problems)


def _schema_problems(node, schema: dict, root: dict, where: str) -> list[str]:
    """A small JSON Schema checker (the keywords pydantic emits), used when jsonschema is absent."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _schema_problems(node, target, root, where)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = [_schema_problems(node, s, root, where) for s in schema[key]]
            return [] if any(not b for b in branches) else [f"{where}: no branch of {key} accepts {node!r}: {branches}"]
    if "const" in schema and node != schema["const"]:
        return [f"{where}: {node!r} != {schema['const']!r}"]
    if "enum" in schema and node not in schema["enum"]:
        return [f"{where}: {node!r} not in {schema['enum']}"]
    kind = schema.get("type")
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    if kind in ("number", "integer"):
        if isinstance(node, bool) or not isinstance(node, (int, float)) or (kind == "integer" and not isinstance(node, int)):
            return [f"{where}: {node!r} is not a {kind}"]
        for word, ok in (
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusiveMinimum", lambda v, b: v > b),
            ("exclusiveMaximum", lambda v, b: v < b),
        ):
            if word in schema and not ok(node, schema[word]):
                return [f"{where}: {node!r} violates {word} {schema[word]}"]
        return []
    if kind in kinds and not isinstance(node, kinds[kind]):
        return [f"{where}: {node!r} is not {kind}"]
    if kind == "string" and "pattern" in schema and not re.search(schema["pattern"], node):
        return [f"{where}: {node!r} does not match {schema['pattern']}"]
    problems: list[str] = []
    if kind == "object":
        properties = schema.get("properties", {})
        for key, value in node.items():
            if key in properties:
                problems += _schema_problems(value, properties[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unknown key {key!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _schema_problems(value, schema["additionalProperties"], root, f"{where}.{key}")
        problems += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in node]
    if kind == "array":
        prefix = schema.get("prefixItems", [])
        if "minItems" in schema and len(node) < schema["minItems"] or "maxItems" in schema and len(node) > schema["maxItems"]:
            problems.append(f"{where}: {len(node)} items")
        for index, item in enumerate(node):
            item_schema = prefix[index] if index < len(prefix) else schema.get("items")
            if item_schema:
                problems += _schema_problems(item, item_schema, root, f"{where}[{index}]")
    return problems


# --------------------------------------------------------------------------------- docs
def test_every_scene_field_is_documented_in_the_spec_reference():
    """docs/spec.md names every field of the shot, camera, object, material, copy and event records."""
    from physreel.sim.spec import model

    text = (Path(__file__).resolve().parents[1] / "docs" / "spec.md").read_text()
    records = [
        model.ShotSpec, model.CameraSpec, model.CameraKeyframe, model.OrbitPath, model.DollyPath, model.FollowPath,
        model.PlaneObject, model.BoxObject, model.SphereObject, model.CapsuleObject, model.CylinderObject,
        model.MeshObject, model.UrdfObject, model.MaterialSpec, model.TextureSpec, model.RepeatSpec,
        model.GridSpec, model.PyramidSpec, model.EventSpec, model.GenerateSpec,
    ]  # fmt: skip
    missing = [f"{r.__name__}.{name}" for r in records for name in r.model_fields if f"`{name}" not in text and f"{name}:" not in text]
    assert not missing, f"undocumented in docs/spec.md: {missing}"


def test_every_limit_of_the_spec_is_in_the_limits_table():
    """Each module-level MAX_/MIN_ limit of sim/spec appears, with its value as docs/spec.md writes
    it, in the "Resource limits" table; a new limit fails here until the table has its row."""
    from physreel.sim.spec import assets, image_file, load, model, particles, references, types, yaml_marks

    text = (Path(__file__).resolve().parents[1] / "docs" / "spec.md").read_text()
    table = text.split("## Resource limits", 1)[1].split("\n## ", 1)[0]
    written = {  # the start of its row: the limit's name and its value as the table writes it
        "MAX_MAGNITUDE": "| any number | within +-1e6", "MIN_POSITIVE": "| a positive size, mass, duration, scale | at least 1e-6",
        "MAX_FRAMES": "| frames | `N <= 2400", "MAX_FRAME_PIXELS": "| frames x width x height | `<= 120,000,000",
        "MAX_BODIES": "| bodies (rigid parts) | 2000", "MAX_EVENTS": "| events | 1000",
        "MAX_PARTICLE_SOURCES": "| emitters, fluid blocks | 100 each", "MAX_CONTROLS": "| `generate.controls` | 16",
        "MAX_BALLISTIC_PARTICLES": "| ballistic particles | 1,000,000", "MAX_FLUID_PARTICLES": "| fluid particles | 200,000",
        "MAX_PARTICLE_FRAMES": "| particles x (frames + 1) | 60,000,000", "MAX_SPEC_BYTES": "| scene file | 4 MB",
        "MAX_VALUES": "| values after alias expansion | 200,000", "MAX_DEPTH": "| nesting depth | 64 levels",
        "MAX_REFERENCED_FILES": "| files one asset names, transitively | 1000",
        "MAX_MESH_FACES": "| triangles of one mesh file | 200,000",
        "MAX_ASSET_BYTES": "| any asset file (mesh, URDF, material library, texture) | 100 MB",
        "MAX_IMAGE_BYTES": "| start image (`generate.image`) file | 50 MB", "MAX_IMAGE_SIDE": "| start image side | 8192",
    }  # fmt: skip
    modules = (assets, image_file, load, model, particles, references, types, yaml_marks)
    values = {name: value for module in modules for name, value in vars(module).items()
              if name.startswith(("MAX_", "MIN_")) and isinstance(value, (int, float))}
    assert set(values) == set(written), "a limit without a row in docs/spec.md's limits table (or a row for none)"
    for name, shown in written.items():
        assert shown in table, f"{name} = {values[name]:g}: {shown!r} is not in the limits table"
        value = shown.rsplit(" | ", 1)[1]
        number = re.search(r"\d[\d,.e+-]*", value.replace("+-", "")).group().replace(",", "")
        scale = 1_000_000 if "MB" in shown else 1
        assert float(number) * scale == values[name], f"{name} is {values[name]:g} in code, {shown!r} in the table"

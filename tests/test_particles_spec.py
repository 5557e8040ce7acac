"""The emitters: and fluid_blocks: sections of the scene spec: defaults and every error path.

Each bad spec must fail with one line naming file:line:col, the field and the fix.
"""

from __future__ import annotations

import textwrap

import pytest

from physreel.sim.spec import load_scene
from physreel.sim.spec.errors import SpecError
from physreel.sim.spec.particles import MAX_BALLISTIC_PARTICLES, MAX_FLUID_PARTICLES

HEAD = """\
shot: {duration: 1.0, fps: 24}
objects:
  - {name: floor, shape: plane}
"""


def load(tmp_path, body: str, head: str = HEAD):
    path = tmp_path / "scene.yaml"
    path.write_text(head + textwrap.dedent(body))
    return load_scene(path)


def error_lines(tmp_path, body: str, head: str = HEAD) -> list[str]:
    with pytest.raises(SpecError) as info:
        load(tmp_path, body, head=head)
    return [str(i) for i in info.value.issues]


def test_emitter_defaults_are_written_into_the_resolved_spec(tmp_path):
    scene = load(tmp_path, """\
        emitters:
          - {name: sparks, rate: 100}
        """)
    resolved = scene.resolved_dict()["emitters"][0]
    assert resolved["kind"] == "ballistic" and resolved["shape"] == "point"
    assert resolved["particle_radius"] == 0.005 and resolved["restitution"] == 0.3
    assert resolved["velocity"] == {"direction": [0.0, 0.0, 1.0], "cone_deg": 0.0, "speed": [1.0, 1.0]}
    assert scene.spec.emitters[0].particle_count(1.0) == 100


def test_fluid_block_counts_its_lattice(tmp_path):
    scene = load(tmp_path, """\
        fluid_blocks:
          - {name: water, min: [0, 0, 0], max: [0.1, 0.2, 0.05], particle_radius: 0.01}
        """)
    assert scene.spec.fluid_blocks[0].lattice_counts() == (5, 10, 2)


@pytest.mark.parametrize(
    "body, where, words",
    [
        ("emitters:\n  - {name: e}\n", ":5:5: emitters[0]:", "needs rate"),
        ("emitters:\n  - {name: e, rate: 10, rat: 3}\n", ":5:", "did you mean 'rate'"),
        ("emitters:\n  - {name: e, rate: 10, shape: box}\n", "emitters[0]", "needs size"),
        ("emitters:\n  - {name: e, rate: 10, disc_radius: 0.1}\n", "emitters[0]", "disc_radius applies to shape: disc"),
        ("emitters:\n  - {name: e, rate: 10, shape: surface}\n", "emitters[0]", "exactly one of object"),
        ("emitters:\n  - {name: e, rate: 10, shape: sphere}\n", "emitters[0].shape", "point"),
        ("emitters:\n  - {name: e, rate: 10, start: 0.5, stop: 0.2}\n", "emitters[0]", "must be after start"),
        ("emitters:\n  - {name: e, rate: 10, velocity: {speed: [3, 1]}}\n", "emitters[0].velocity", "swap them"),
        ("emitters:\n  - {name: e, rate: 10, velocity: {direction: [0, 0, 0]}}\n", "emitters[0].velocity", "zero length"),
        ("emitters:\n  - {name: e, rate: 10, velocity: {cone_deg: 200}}\n", "emitters[0].velocity.cone_deg", "180"),
        ("emitters:\n  - {name: e, rate: -1}\n", "emitters[0].rate", "at least 0"),
        ("emitters:\n  - {name: e, rate: 10, particle_radius: 0}\n", "emitters[0].particle_radius", "greater than 0"),
        ("emitters:\n  - {name: e, rate: 10, kind: fluid, drag: 0.1}\n", "emitters[0]", "drag applies to kind: ballistic"),
        ("emitters:\n  - {name: e, rate: 10, fluid: {viscosity: 0.1}}\n", "emitters[0]", "fluid applies to kind: fluid"),
        ("emitters:\n  - {name: e, rate: 10, kind: fluid, fluid: {iterations: 0}}\n", "emitters[0].fluid.iterations", "1"),
        ("emitters:\n  - {name: e, rate: 10, color: mauve}\n", "emitters[0].color", "unknown colour"),
        ("emitters:\n  - {name: e, rate: 10, euler_deg: [0, 0, 1], quaternion: [0, 0, 0, 1]}\n", "emitters[0]", "cannot both"),
        ("emitters:\n  - {name: e, rate: 10, shape: surface, object: floor, scale: 2}\n", "emitters[0]", "scale applies"),
        ("fluid_blocks:\n  - {name: w, min: [0, 0, 0]}\n", "fluid_blocks[0]", "needs both min and max"),
        ("fluid_blocks:\n  - {name: w, min: [0, 0, 0], max: [1, 1, 1], center: [0, 0, 0]}\n", "fluid_blocks[0]", "one form"),
        ("fluid_blocks:\n  - {name: w, min: [0, 0, 0], max: [1, 1, 0.01], particle_radius: 0.01}\n", "fluid_blocks[0]", "thinner than one particle"),
    ],
)
def test_bad_particle_field_is_reported_with_its_line(tmp_path, body, where, words):
    lines = error_lines(tmp_path, body)
    assert any(where in line and words in line for line in lines), lines
    assert all(line.startswith(str(tmp_path / "scene.yaml") + ":") for line in lines)


def test_surface_emitter_must_name_an_object(tmp_path):
    lines = error_lines(tmp_path, "emitters:\n  - name: e\n    rate: 10\n    shape: surface\n    object: flor\n")
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'scene.yaml'}:8:13: emitters[0].object: 'flor' is not an object")
    assert "objects: floor" in lines[0]


def test_surface_emitter_file_must_exist_inside_the_scene_folder(tmp_path):
    lines = error_lines(tmp_path, "emitters:\n  - {name: e, rate: 10, shape: surface, file: ../glass.obj}\n")
    assert len(lines) == 1 and ":5:" in lines[0] and "emitters[0].file" in lines[0] and "escapes the scene's folder" in lines[0]
    lines = error_lines(tmp_path, "emitters:\n  - {name: e, rate: 10, shape: surface, file: nothere.obj}\n")
    assert "does not exist" in lines[0]


def test_surface_emitter_file_resolves_into_scene_assets(tmp_path):
    import trimesh

    trimesh.creation.box(extents=(0.1, 0.1, 0.1)).export(tmp_path / "cube.obj")
    scene = load(tmp_path, "emitters:\n  - {name: e, rate: 10, shape: surface, file: cube.obj}\n")
    assert scene.assets["emitter:e"] == (tmp_path / "cube.obj").resolve()


def test_names_must_be_unique_across_objects_emitters_and_blocks(tmp_path):
    lines = error_lines(tmp_path, """\
        emitters:
          - {name: floor, rate: 10}
          - {name: e, rate: 10}
        fluid_blocks:
          - {name: e, center: [0, 0, 1], size: [0.1, 0.1, 0.1]}
        """)
    assert any(":5:" in l and "emitters[0].name" in l and "also an object's name" in l for l in lines), lines
    assert any(":8:" in l and "fluid_blocks[0].name" in l and "names another emitter" in l for l in lines), lines


def test_emitter_starting_after_the_shot_is_an_error(tmp_path):
    lines = error_lines(tmp_path, "emitters:\n  - {name: e, burst: 5, start: 2.0}\n")
    assert "emitters[0].start" in lines[0] and "not before the shot ends" in lines[0]


def test_too_many_ballistic_particles_is_refused_up_front(tmp_path):
    lines = error_lines(tmp_path, f"emitters:\n  - {{name: e, rate: {MAX_BALLISTIC_PARTICLES}}}\n  - {{name: f, burst: 10}}\n")
    assert len(lines) == 1 and ":5:3: emitters:" in lines[0]
    assert f"{MAX_BALLISTIC_PARTICLES + 10:,} particles" in lines[0] and "lower rate" in lines[0]


def test_too_many_fluid_particles_is_refused_up_front(tmp_path):
    lines = error_lines(tmp_path, "fluid_blocks:\n  - {name: w, min: [0, 0, 0], max: [1, 1, 1], particle_radius: 0.005}\n")
    assert "fluid_blocks" in lines[0] and f"over the limit of {MAX_FLUID_PARTICLES:,}" in lines[0]


def test_particle_frames_are_bounded(tmp_path):
    # 900,000 particles are within the count limit, but not over 121 rows (1 s at 120 fps).
    head = HEAD.replace("fps: 24", "fps: 120")
    lines = error_lines(tmp_path, "emitters:\n  - {name: e, burst: 900000}\n", head=head)
    assert len(lines) == 1 and "108,900,000 particle-frames" in lines[0]


def test_fluid_sources_must_share_one_liquid(tmp_path):
    lines = error_lines(tmp_path, """\
        emitters:
          - {name: pour, kind: fluid, rate: 100, particle_radius: 0.01}
        fluid_blocks:
          - {name: w, center: [0, 0, 1], size: [0.1, 0.1, 0.1], particle_radius: 0.01, fluid: {viscosity: 0.2}}
        """)
    assert len(lines) == 1 and ":7:5: fluid_blocks[0]:" in lines[0] and "shares one liquid" in lines[0]

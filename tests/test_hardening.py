"""Issue 17's failure classes, one regular test each (and the fuzzer's shrunk findings): bad input
of any kind ends in exit status 2 (or 3) with one located line per problem, within its budget,
reading no file outside the scene's folder and writing nothing.

Most run the CLI in this process through tests/fuzz_harness.py, which also watches every file
opened (`Outcome.outside`) and judges the output (`problems`).
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import pytest

from fuzz_harness import case_folder, install_audit_hook, problems, run_command, write_case
from fuzz_scenes import BAIT, BAIT_ABSOLUTE, Case, gltf_text, obj_text, urdf_text
from physreel.engine.cli import main
from physreel.sim.files import output_folder_problem
from physreel.sim.spec import SpecError, load_scene, scene_from_data
from physreel.sim.spec import counts
from physreel.sim.spec.errors import SpecIssue, one_line
from physreel.sim.spec.model import MAX_BODIES
from physreel.sim.spec.yaml_marks import load_yaml_with_marks

REPO = Path(__file__).resolve().parents[1]
BALL = "objects:\n  - {name: floor, shape: plane}\n  - {name: ball, shape: sphere, position: [0, 0, 0.5]}\n"
SHORT = "shot: {duration: 0.25, fps: 8, physics_hz: 80}\ncamera: {resolution: [16, 16]}\n"


def run(text: str, files: dict[str, bytes] | None = None, commands=("validate",), extra=()) -> list:
    """Outcomes of running `commands` on a scene; each is also checked by the fuzzer's rules."""
    install_audit_hook()
    with case_folder() as root:
        folders = write_case(Case({}, files or {}, text), root)
        outcomes = []
        for command in commands:
            outcomes.append(run_command(command, folders, 120.0, extra if command != "validate" else ()))
            if outcomes[-1].code != 0:
                break
    for outcome in outcomes:
        assert not problems(outcome), problems(outcome)
    return outcomes


def rejected(text: str, fragment: str, files=None, commands=("validate",), line: int | None = None) -> str:
    """The one message of a scene rejected with exit 2, which holds `fragment` (and points at `line`)."""
    outcome = run(text, files, commands)[-1]
    assert outcome.code == 2, outcome.output
    assert fragment in outcome.output, outcome.output
    if line is not None:
        assert re.search(rf"scene\.yaml:{line}:\d+: ", outcome.output), outcome.output
    return outcome.output


# ---------------------------------------------------------------- numbers that become counts
def test_count_saturates_instead_of_overflowing():
    assert counts.count(2.4) == 2 and counts.count(2.6) == 3 and counts.count(2.6, math.floor) == 2
    for huge in (math.inf, math.nan, 1e308, 2.0**70):
        assert counts.count(huge) == counts.CEILING
    assert counts.count(-5.0) == 0
    assert counts.product([counts.CEILING, counts.CEILING, 3]) == counts.CEILING
    assert counts.shown(counts.CEILING).startswith("more than")


@pytest.mark.parametrize("text, fragment, line", [
    ("shot: {duration: 1e308}\n", "1e+308 is out of range", 1),  # YAML 1.2 notation reads as a number
    ("shot: {duration: 1.0e+308}\n", "1e+308 is out of range", 1),
    (BALL + "events:\n  - {at: 1.0e+308, object: ball, impulse: [1, 0, 0]}\n", "out of range", 5),
    (BALL + "events:\n  - {at: 0.1, object: ball, force: [1, 0, 0], duration: 1.0e+308}\n", "out of range", 5),
    ("fluid_blocks:\n  - {name: w, center: [0, 0, 0], size: [1.0e+308, 1, 1]}\n", "out of range", 2),
    ("emitters:\n  - {name: e, rate: 1.0e+308}\n", "out of range", 2),
    ("shot: {duration: 1.0e+6, fps: 240, physics_hz: 240}\n", "240,000,000 frames exceed the limit of 2400", 1),
    (BALL + "events:\n  - {at: 1.0e+6, object: ball, impulse: [1, 0, 0]}\n", "after the last physics step", 5),
    ("objects:\n  - {name: b, shape: sphere, radius: 1.0e-300}\n", "too small", 2),
])
def test_huge_and_tiny_numbers_are_located_errors(text, fragment, line):
    rejected(text, fragment, line=line)


def test_a_fluid_block_of_more_cells_than_a_count_holds_is_over_the_limit():
    text = "fluid_blocks:\n  - {name: w, min: [-1.0e+6, -1.0e+6, -1.0e+6], max: [1.0e+6, 1.0e+6, 1.0e+6], particle_radius: 1.0e-6}\n"
    rejected(text, "more than", line=2)


def test_a_force_longer_than_the_shot_acts_until_its_end():
    text = SHORT + BALL + "events:\n  - {at: 0.1, object: ball, force: [0, 0, 1], duration: 1.0e+6}\n"
    outcomes = run(text, commands=("validate", "simulate"))
    assert [o.code for o in outcomes] == [0, 0]
    scene = scene_from_data({"shot": {"duration": 0.25, "fps": 8, "physics_hz": 80},
                             "objects": [{"name": "ball", "shape": "sphere"}],
                             "events": [{"at": 0.1, "object": "ball", "force": [0, 0, 1], "duration": 1e6}]}, Path("/v/s.yaml"))
    assert scene.spec.event_steps(scene.spec.events[0]) == (8, 19)  # 2 frames x 10 substeps: the last step is 19


def test_an_integer_of_thousands_of_digits_is_a_located_error():
    rejected("shot: {fps: " + "9" * 5000 + "}\n", "a whole number of 5,000 characters is too long", line=1)


def test_an_invalid_date_is_a_located_error():
    rejected("shot: {name: 2024-13-45}\n", "cannot read '2024-13-45'", line=1)


@pytest.mark.parametrize("text", ["shot: " + "[" * 30000 + "]" * 30000 + "\n",
                                  "shot:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)),
                                  "a: &a [*a]\n", "a: &a {<<: *a}\n"])
def test_deep_nesting_and_self_reference_are_located_errors(text):
    outcome = run(text)[-1]
    assert outcome.code == 2 and re.match(r"\S+scene\.yaml:\d+:\d+: ", outcome.output), outcome.output


def test_a_urdf_whose_mesh_is_missing_is_refused_when_the_scene_loads():
    text = SHORT + "objects:\n  - {name: arm, shape: urdf, file: arm.urdf}\n"
    rejected(text, "'nowhere.obj' (named in 'arm.urdf') does not exist", {"arm.urdf": urdf_text(mesh="nowhere.obj")}, line=4)


def test_a_urdf_pybullet_cannot_load_is_refused_when_the_scene_loads():
    text = SHORT + "objects:\n  - {name: arm, shape: urdf, file: arm.urdf}\n"
    rejected(text, "pybullet cannot load 'arm.urdf'", {"arm.urdf": urdf_text(child_link="ghost")}, line=4)


# ------------------------------------------------------------------------- resource bombs
def test_a_huge_grid_is_refused_at_once():
    started = time.perf_counter()
    rejected("objects:\n  - {name: b, shape: box, grid: {counts: [100000, 100000, 100000], spacing: [1, 1, 1]}}\n",
             "must be at most 2000", line=2)
    rejected("objects:\n  - {name: b, shape: box, grid: {counts: [2000, 2000, 2000], spacing: [1, 1, 1]}}\n",
             "make 8,000,000,000 bodies, over the limit of 2,000", line=2)
    assert time.perf_counter() - started < 10


def test_many_repeated_objects_are_refused_before_their_copies_are_made():
    text = "objects:\n" + "".join(f"  - {{name: o{i}, shape: sphere, repeat: {{count: 2000}}}}\n" for i in range(40))
    started = time.perf_counter()
    rejected(text, f"make 4,000 bodies, over the limit of {MAX_BODIES:,}", line=3)
    assert time.perf_counter() - started < 10


def test_urdf_links_count_towards_the_body_limit():
    text = "objects:\n  - {name: arm, shape: urdf, file: arm.urdf, fixed_base: true}\n  - {name: b, shape: box, repeat: {count: 1999}}\n"
    rejected(text, "make 2,001 rigid parts, over the limit of 2,000", {"arm.urdf": urdf_text()}, line=3)


def test_long_lists_of_events_and_emitters_are_refused():
    events = "".join("  - {at: 0, object: ball, impulse: [1, 0, 0]}\n" for _ in range(1001))
    rejected(BALL + "events:\n" + events, "1,001 entries, over the limit of 1,000", line=5)
    emitters = "".join(f"  - {{name: e{i}, burst: 1}}\n" for i in range(101))
    rejected("emitters:\n" + emitters, "101 entries, over the limit of 100", line=2)
    rejected("generate:\n  controls: [" + ", ".join(["{kind: depth}"] * 17) + "]\n", "17 entries, over the limit of 16", line=2)


# ------------------------------------------------------------------ files outside the folder
URDF_SCENE = SHORT + "objects:\n  - {name: floor, shape: plane}\n  - {name: arm, shape: urdf, file: arm.urdf, position: [0, 0, 0.1]}\n"
MESH_SCENE = SHORT + "objects:\n  - {name: floor, shape: plane}\n  - {name: m, shape: mesh, file: FILE, position: [0, 0, 0.3]}\n"


@pytest.mark.parametrize("files, scene, fragment", [
    ({"arm.urdf": urdf_text(mesh=BAIT + ".obj")}, URDF_SCENE, "leaves the folder"),
    ({"arm.urdf": urdf_text(mesh=BAIT_ABSOLUTE + ".obj")}, URDF_SCENE, "is an absolute path"),
    ({"arm.urdf": urdf_text(mesh="package://../outside/secret.obj")}, URDF_SCENE, "leaves the folder"),
    ({"m.obj": obj_text(mtllib=BAIT + ".mtl")}, MESH_SCENE.replace("FILE", "m.obj"), "leaves the folder"),
    ({"m.obj": obj_text(mtllib="m.mtl"), "m.mtl": f"newmtl m\nmap_Kd {BAIT}.png\n".encode()},
     MESH_SCENE.replace("FILE", "m.obj"), "'../outside/secret.png' (named in 'm.mtl') leaves the folder"),
    ({"g.gltf": gltf_text(BAIT + ".bin")}, MESH_SCENE.replace("FILE", "g.gltf"), "leaves the folder"),
    ({"g.gltf": gltf_text(BAIT_ABSOLUTE + ".bin")}, MESH_SCENE.replace("FILE", "g.gltf"), "is an absolute path"),
    ({"p.ply": b"ply\nformat ascii 1.0\ncomment TextureFile ../outside/secret.png\nend_header\n"},
     MESH_SCENE.replace("FILE", "p.ply"), "leaves the folder"),
])
def test_every_file_an_asset_names_stays_in_the_scene_folder(files, scene, fragment):
    # run() fails if any file outside the scene's folder was opened (the audit hook's record)
    rejected(scene, fragment, files, commands=("validate", "simulate"), line=5)


def test_a_glb_naming_a_buffer_outside_is_refused():
    import json
    import struct

    chunk = json.dumps({"asset": {"version": "2.0"}, "buffers": [{"uri": BAIT + ".bin", "byteLength": 36}]}).encode()
    chunk += b" " * (-len(chunk) % 4)
    glb = b"glTF" + struct.pack("<II", 2, 20 + len(chunk)) + struct.pack("<II", len(chunk), 0x4E4F534A) + chunk
    rejected(MESH_SCENE.replace("FILE", "g.glb"), "leaves the folder", {"g.glb": glb}, line=5)


def test_assets_inside_the_folder_and_shipped_urdfs_still_load():
    files = {"arm.urdf": urdf_text(mesh="meshes/m.obj"), "meshes/m.obj": obj_text(0.05, mtllib="m.mtl"),
             "meshes/m.mtl": b"newmtl m\nKd 1 0 0\n"}
    text = URDF_SCENE + "  - {name: d, shape: urdf, file: domino/domino.urdf, position: [1, 0, 0.1]}\n"
    assert [o.code for o in run(text, files, commands=("validate", "simulate"))] == [0, 0]


@pytest.mark.parametrize("shipped", [
    "plane.urdf",                     # its plane.mtl names a cube.tga pybullet_data lacks
    "cube_small.urdf",                # its cube.obj names a cube.mtl pybullet_data lacks
    "table/table.urdf",               # table.mtl names a missing table.tga
    "laikago/laikago_toes_zup.urdf",  # <sphere radius='0.0'> contact points on the toes
    "bicycle/bike.urdf",              # <origin xyz='0.07, 0, -0.69'>: commas, for pybullet's lenient parser
    "franka_panda/panda.urdf",        # a fixed joint's <axis xyz='0 0 0'>, a Windows path in link6.mtl
    "biped/biped2d_pybullet.urdf",    # blank lines before <?xml
])
def test_urdfs_pybullet_data_ships_load_as_pybullet_loads_them(shipped):
    """pybullet_data is pybullet's own data, which the user cannot edit: its URDFs load (all but 6 of
    its 1095; those name a mesh that is not there, are empty, or fail in pybullet), and these,
    refused by the first confinement rules, validate and simulate."""
    text = SHORT + f"objects:\n  - {{name: floor, shape: plane}}\n  - {{name: thing, shape: urdf, file: {shipped}, position: [0, 0, 1]}}\n"
    assert [o.code for o in run(text, commands=("validate", "simulate"))] == [0, 0]


def test_a_urdf_pybullet_data_ships_may_still_not_name_a_mesh_it_lacks():
    # racecar_differential.urdf names differential/diff_ring.stl beside it, which is not there:
    # pybullet would look for it in the working directory, then in every parent folder
    rejected(SHORT + "objects:\n  - {name: car, shape: urdf, file: racecar/racecar_differential.urdf}\n",
             "'differential/diff_ring.stl' (named in 'racecar_differential.urdf') does not exist beside it", line=4)


def test_a_scene_obj_naming_a_material_library_it_lacks_is_still_refused():
    # the pybullet_data exception is pybullet_data's alone: the user can add the file or drop the line
    rejected(MESH_SCENE.replace("FILE", "m.obj"), "'m.mtl' (named in 'm.obj') does not exist beside it",
             {"m.obj": obj_text(0.1, mtllib="m.mtl")}, line=5)


def test_a_fixed_joint_may_have_a_zero_axis():
    # URDF: fixed and floating joints do not use their axis; franka_description writes 0 0 0 there
    fixed = urdf_text(axis="0 0 0").replace(b'type="revolute"', b'type="fixed"')
    assert run(URDF_SCENE, {"arm.urdf": fixed})[0].code == 0


def test_a_urdf_mesh_is_read_from_the_urdf_folder_not_from_the_working_directory(tmp_path, monkeypatch):
    """pybullet looks for a URDF's mesh names in the working directory first: a 50 m `m.obj` there
    would become the collision shape of the scene's 0.2 m cube, which then rests 25 m up."""
    import trimesh

    from physreel.sim.simulate import simulate

    scene_dir, decoy = tmp_path / "scene", tmp_path / "cwd"
    scene_dir.mkdir()
    decoy.mkdir()
    trimesh.creation.box(extents=(0.2, 0.2, 0.2)).export(scene_dir / "m.obj")
    trimesh.creation.box(extents=(50.0, 50.0, 50.0)).export(decoy / "m.obj")
    (scene_dir / "cube.urdf").write_text(
        '<robot name="cube"><link name="base"><inertial><mass value="1"/>'
        '<inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>'
        '<visual><geometry><mesh filename="m.obj"/></geometry></visual>'
        '<collision><geometry><mesh filename="m.obj"/></geometry></collision></link></robot>')
    (scene_dir / "scene.yaml").write_text(
        "shot: {duration: 1.0, fps: 8}\ncamera: {resolution: [16, 16]}\n"
        "objects:\n  - {name: floor, shape: plane}\n  - {name: cube, shape: urdf, file: cube.urdf, position: [0, 0, 0.5]}\n")
    monkeypatch.chdir(decoy)
    shot = simulate(load_scene(scene_dir / "scene.yaml"))
    cube = [part.name for part in shot.parts].index("cube")
    # resting on the floor at its own half size; a tolerance of 1 cm (contact margin, settling)
    assert abs(float(shot.trajectory.position[-1, cube, 2]) - 0.1) < 0.01
    assert os.getcwd() == str(decoy)  # the working directory is the caller's again


# ------------------------------------------------------------------------ URDF numbers
@pytest.mark.parametrize("urdf, fragment", [
    (urdf_text(mass="nan"), "<mass value='nan'> is not 1 finite number"),
    (urdf_text(mass="inf"), "<mass value='inf'> is not 1 finite number"),
    (urdf_text(mass="-1"), "<mass value='-1'> is negative"),
    (urdf_text(inertia="-0.01"), "<inertia ixx='-0.01'> is negative"),
    (urdf_text(inertia="1e400"), "is not 1 finite number"),
    (urdf_text(mass="2e9"), "is out of range"),
    (urdf_text(axis="0 0 0"), "has no direction"),
    (urdf_text(axis="0 1"), "<axis xyz='0 1'> is not 3 finite numbers"),
    (urdf_text().replace(b'size="0.2 0.2 0.1"', b'size="0.2 0 0.1"', 1), "is not positive"),
    (urdf_text(mesh="m.dae"), "is not an OBJ or STL file"),
    (b"<robot><link name='a'>", "is not readable URDF XML"),
])
def test_urdf_nonsense_is_refused(urdf, fragment):
    rejected(URDF_SCENE, fragment, {"arm.urdf": urdf}, line=5)


# ------------------------------------------------------------------------- merge keys
def test_a_merged_mapping_that_merges_another_is_merged_whole():
    text = ("objects:\n"
            "  - &crate {<<: {shape: box, size: [0.1, 0.1, 0.1], color: red}, name: crate_1, position: [0, 0, 0.05]}\n"
            "  - {<<: *crate, name: crate_2, position: [0, 0, 0.5]}\n"
            "  - {<<: [{color: blue}, *crate], name: crate_3, position: [0, 0, 1]}\n")
    data, marks, _ = load_yaml_with_marks(text)
    first, second, third = data["objects"]
    assert second == {"shape": "box", "size": [0.1, 0.1, 0.1], "color": "red", "name": "crate_2", "position": [0, 0, 0.5]}
    assert third["color"] == "blue" and third["shape"] == "box"  # an earlier mapping of the list wins
    assert marks[("objects", 1, "size")] == (2, 36)  # a merged value points where it is written
    assert run(text)[-1].code == 0


def test_a_merged_value_that_is_wrong_is_reported_where_it_is_written():
    text = "objects:\n  - &crate {<<: {shape: box, size: [0.1, -1, 0.1]}, name: a}\n  - {<<: *crate, name: b, position: [0, 0, 1]}\n"
    assert "scene.yaml:2:" in rejected(text, "size[1]")


# ----------------------------------------------------------------------- message format
@pytest.mark.parametrize("raw, column", [(b"shot: {name: a\x01b}\n", 15), (b"shot: {name: a\x00b}\n", 15), (b"sh\x07ot: {}\n", 3)])
def test_a_control_character_is_one_line_at_its_place(raw, column):
    outcome = run(raw.decode())[-1]
    assert outcome.code == 2 and len(outcome.output.splitlines()) == 1
    assert f"scene.yaml:1:{column}: YAML syntax: the control character" in outcome.output


def test_a_value_with_a_line_break_is_quoted_on_one_line():
    issue = SpecIssue("s.yaml", 2, 3, "objects[0].name", "'a\nb\u2028' is not allowed\x00", "fix\nit")
    assert "\n" not in str(issue) and "\\n" in str(issue) and "\\u2028" in str(issue) and "\\x00" in str(issue)
    assert one_line("plain é") == "plain é"
    text = 'camera: {follow: "ba\\nll"}\n' + BALL
    assert "'ba\\nll' is not an object" in rejected(text, "is not an object", line=1)


def test_numeric_warnings_are_not_printed_but_debug_shows_them(tmp_path, capsys, monkeypatch):
    import physreel.engine.cli.cmd_validate as cmd_validate

    def noisy(args):
        import numpy as np

        np.float64(1e308) * 10  # numpy: RuntimeWarning: overflow encountered
        return 0

    monkeypatch.setattr(cmd_validate, "run", noisy)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, *rest, **kw: print(f"{category.__name__}: {message}", file=sys.stderr)
        assert main(["validate", "x.yaml"]) == 0
        assert "RuntimeWarning" not in capsys.readouterr().err
        assert main(["--debug", "validate", "x.yaml"]) == 0
        assert "RuntimeWarning" in capsys.readouterr().err


GENERATE = SHORT + BALL + "generate:\n  steps: 1\n"


def test_a_model_folder_without_weights_is_reported_at_its_line_before_simulating():
    started = time.perf_counter()
    output = rejected(GENERATE + "  model: nowhere\n", "builtin weights not found", commands=("render",), line=8)
    assert "generate.model" in output and time.perf_counter() - started < 60


def test_cpu_offload_on_the_builtin_model_is_reported_at_its_line_before_simulating():
    output = rejected(GENERATE + "  cpu_offload: true\n", "cpu_offload does not apply", commands=("render",), line=8)
    assert "generate.cpu_offload" in output


def test_the_docs_agree_where_a_relative_model_folder_starts():
    conventions = (REPO / "docs" / "conventions.md").read_text()
    assert "relative to the scene file's folder" in conventions
    assert "relative to the scene file" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("command", [["schema"], ["validate", "--print-resolved", "scenes/bouncing_ball.yaml"]])
def test_output_into_a_closed_pipe_ends_quietly_with_141(command):
    """`physreel schema | head -1`: the reader is gone before the output is written (its end of the
    pipe is closed before the command starts), so every write fails with EPIPE."""
    import subprocess

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "physreel", *command], stdout=write_end, stderr=subprocess.PIPE,
                              cwd=REPO, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 141  # 128 + SIGPIPE, as a shell reports `cat big | head -1`
    assert done.stderr == b""  # no traceback, no "Exception ignored ... BrokenPipeError" at exit


# ------------------------------------------------------------------------ output folders
def _cli(tmp_path: Path, *argv: str) -> tuple[int, str, float]:
    """(exit status, "", seconds) of `physreel -q ARGV` in this process (capsys holds what it printed)."""
    started = time.perf_counter()
    code = main(["-q", *argv])
    return code, "", time.perf_counter() - started


@pytest.mark.parametrize("command", ["simulate", "passes", "render", "compare"])
def test_an_output_folder_below_a_file_fails_at_once_and_writes_nothing(tmp_path, capsys, command):
    scene = tmp_path / "s.yaml"
    scene.write_text(GENERATE)
    (tmp_path / "file").write_text("x")
    code, _, seconds = _cli(tmp_path, command, str(scene), "-o", str(tmp_path / "file" / "out"))
    err = capsys.readouterr().err
    assert code == 2 and seconds < 30 and "is a file, so no folder can be made below it" in err
    assert len(err.splitlines()) == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["file", "s.yaml"]


def test_a_read_only_output_folder_fails_at_once(tmp_path, capsys, monkeypatch):
    scene = tmp_path / "s.yaml"
    scene.write_text(GENERATE)
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path).name == "ro" else real_access(path, mode, **kw))
    code, _, seconds = _cli(tmp_path, "simulate", str(scene), "-o", str(tmp_path / "ro" / "out"))
    assert code == 2 and seconds < 30 and "cannot write in" in capsys.readouterr().err
    assert list((tmp_path / "ro").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_reported_for_a_user(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    assert "cannot write in" in output_folder_problem(tmp_path / "ro" / "out")


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"generate": []}'])
def test_render_into_a_folder_with_an_unreadable_meta_json_fails_before_generating(tmp_path, capsys, content):
    scene = tmp_path / "s.yaml"
    scene.write_text(GENERATE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "meta.json").write_bytes(content)
    code, _, seconds = _cli(tmp_path, "render", str(scene), "-o", str(out))
    assert code == 2 and seconds < 30 and "meta.json is not a JSON object of sections" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["meta.json"]


def test_a_file_where_a_stage_writes_a_folder_is_reported(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "video").write_text("x")
    assert "is a file where a stage writes a folder" in output_folder_problem(tmp_path / "out")
    assert "is a file; give a folder" in output_folder_problem(tmp_path / "out" / "video")
    assert "NUL" in output_folder_problem("a\x00b")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert "is a link to nothing" in output_folder_problem(tmp_path / "dangling")
    assert "File name too long" in output_folder_problem(tmp_path / ("x" * 5000))
    assert output_folder_problem(tmp_path / "new" / "deeper") is None


# ------------------------------------------------------------- unreadable and oversized files
def test_an_unreadable_scene_file_is_reported(tmp_path, monkeypatch):
    scene = tmp_path / "s.yaml"
    scene.write_text(BALL)
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(PermissionError(13, "Permission denied", str(self)))
                        if self.name == "s.yaml" else real(self))
    with pytest.raises(SpecError, match=r"cannot read the scene file \(Permission denied\)"):
        load_scene(scene)
    with pytest.raises(SpecError, match=r"cannot read the scene file \(File name too long\)"):
        load_scene(tmp_path / ("x" * 5000))
    with pytest.raises(SpecError, match="no such scene file"):
        load_scene("a\x00b.yaml")


def test_an_unreadable_asset_is_reported_at_its_line(tmp_path, monkeypatch):
    import physreel.sim.spec.assets as assets

    (tmp_path / "m.obj").write_bytes(obj_text())
    (tmp_path / "s.yaml").write_text(MESH_SCENE.replace("FILE", "m.obj"))
    monkeypatch.setattr(assets, "check_references", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied", "m.obj")))
    with pytest.raises(SpecError) as caught:
        load_scene(tmp_path / "s.yaml")
    assert [(i.line, i.field, i.problem) for i in caught.value.issues] == [(5, "objects[1].file", "'m.obj' cannot be read (Permission denied)")]


def test_meshes_of_too_many_triangles_and_oversized_files_are_refused(tmp_path, monkeypatch):
    import physreel.sim.spec.assets as assets
    import physreel.sim.spec.references as references

    (tmp_path / "m.obj").write_bytes(obj_text())
    (tmp_path / "s.yaml").write_text(MESH_SCENE.replace("FILE", "m.obj"))
    monkeypatch.setattr(assets, "MAX_MESH_FACES", 3)
    with pytest.raises(SpecError, match="has 4 triangles, over the limit of 3"):
        load_scene(tmp_path / "s.yaml")
    monkeypatch.setattr(references, "MAX_ASSET_BYTES", 10)
    with pytest.raises(SpecError, match="'m.obj' is over 1e-05 MB"):
        load_scene(tmp_path / "s.yaml")


# ------------------------------------------------------------------- shrunk fuzzer findings
FLAT = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3\nf 2 4 3\n"


def test_a_flat_static_mesh_simulates():
    # validate accepted it, then the mass frame of its (absent) volume crashed the simulation
    text = SHORT + "objects:\n  - {name: m, shape: mesh, file: flat.obj, static: true}\n  - {name: b, shape: sphere, position: [0.5, 0.5, 1]}\n"
    assert [o.code for o in run(text, {"flat.obj": FLAT}, commands=("validate", "simulate"))] == [0, 0]


def test_a_flat_mesh_is_not_decomposed():
    # V-HACD never returned on a flat mesh
    text = SHORT + "objects:\n  - {name: m, shape: mesh, file: flat.obj, static: true, collision: convex_decomposition}\n"
    rejected(text, "no volume to decompose", {"flat.obj": FLAT}, commands=("validate", "simulate"), line=4)


def test_a_moving_mesh_whose_vertices_merge_at_its_scale_is_refused():
    # at scale 1e-6 the tetrahedron's vertices merge: no volume, and simulate crashed
    text = SHORT + "objects:\n  - {name: m, shape: mesh, file: m.obj, scale: 1.0e-6, position: [0, 0, 1]}\n"
    rejected(text, "is flat at scale [1e-06, 1e-06, 1e-06]", {"m.obj": obj_text(0.01)}, commands=("validate", "simulate"), line=4)


def test_a_key_that_is_not_a_plain_name_is_quoted_in_the_field_path():
    # an unknown key ' ' printed bare made "scene.yaml:1:1:  : unknown key ' '"
    output = rejected("' ': 1\nshot: {'my key': 1}\n", "unknown key ' '", line=1)
    assert re.search(r"scene\.yaml:1:1: ' ': unknown key ' '", output) and "shot.'my key': unknown key 'my key'" in output


def test_asset_names_too_long_or_holding_nul_are_located_errors():
    text = "objects:\n  - {name: m, shape: mesh, file: " + "x" * 5000 + ".obj}\n  - {name: u, shape: urdf, file: \"a\\0b.urdf\"}\n"
    outcome = run(text)[-1]
    assert outcome.code == 2 and "cannot be looked up (File name too long)" in outcome.output and "holds a NUL character" in outcome.output


def test_a_video_size_too_large_for_the_passes_is_refused_before_any_work(tmp_path, capsys):
    big = "shot: {duration: 2}\ncamera: {resolution: [64, 64]}\nobjects:\n  - {name: b, shape: sphere}\n"
    rejected(big + "generate: {resolution: [8192, 8192]}\n", "3,221,225,472 pixel-frames exceed the limit", line=5)
    scene = tmp_path / "s.yaml"
    scene.write_text(big)
    for command in ("passes", "render"):
        started = time.perf_counter()
        assert main(["-q", command, str(scene), "-o", str(tmp_path / "out"), "--resolution", "8192x8192"]) == 2
        assert "pixel-frames exceed the limit" in capsys.readouterr().err and time.perf_counter() - started < 30
    assert not (tmp_path / "out").exists()

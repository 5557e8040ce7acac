"""Bad scene specs: each is rejected with a SpecError whose issue names the field, the line and
column where the user wrote it, what is wrong, and how to fix it. Plus the CLI contract: exit
status 2, exactly one `file:line:col: field.path: problem (hint)` line per problem, no traceback
unless --debug.
"""

from __future__ import annotations

import re
import subprocess
import sys
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest

from physreel.engine.cli import main
from physreel.sim.spec import SpecError, load_scene

REPO = Path(__file__).resolve().parents[1]
ISSUE_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<field>[\w.\[\]]+): (?P<problem>.+) \((?P<hint>.+)\)$")

BALL = "objects:\n  - name: ball\n    shape: sphere\n"


@dataclass(frozen=True)
class Bad:
    """One bad spec: its YAML, the fragment the message must hold, and where it must point."""

    text: str
    fragment: str
    line: int
    column: int | None
    """None where the column is not meaningful (the file as a whole)."""
    field: str = ""
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    """Extra files written beside the scene (name -> bytes)."""


ARM_URDF = b"""<?xml version="1.0"?>
<robot name="arm">
  <link name="base"/>
  <link name="upper"/>
  <link name="lower"/>
  <joint name="shoulder" type="spherical"><parent link="base"/><child link="upper"/></joint>
  <joint name="elbow" type="revolute"><parent link="upper"/><child link="lower"/><axis xyz="0 1 0"/>
    <limit lower="-1" upper="1" effort="1" velocity="1"/></joint>
</robot>
"""
def _image_bytes(size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG", frames: int = 1, alpha: int = 255) -> bytes:
    """An encoded picture (a start image for generate.image) of `size` (width, height)."""
    import io

    from PIL import Image

    images = [Image.new(mode, size, (40 * i, 90, 200, alpha)[: len(mode)] if mode != "I;16" else 1000) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


START = "generate:\n  image: start.png\n"
"""A scene whose start image is start.png beside it; the value is at line 2, column 10."""
GOOD_PNG = _image_bytes((16, 12))

ARM = "objects:\n  - name: arm\n    shape: urdf\n    file: arm.urdf\n"
ARM_EVENT = ARM + "events:\n  - at: 0.1\n    object: arm\n"

BAD_SPECS = {
    # --- wrong types
    "string_for_number": Bad("shot:\n  duration: fast\n", "expected a number, got 'fast'", 2, 13, "shot.duration"),
    "quoted_number": Bad("shot:\n  duration: '2.0'\n", "remove the quotes", 2, 13, "shot.duration"),
    "bool_for_number": Bad("shot:\n  duration: true\n", "expected a number, got true", 2, 13, "shot.duration"),
    "float_for_integer": Bad("shot:\n  fps: 24.5\n", "expected a whole number, got 24.5", 2, 8, "shot.fps"),
    "vec3_of_two": Bad(BALL + "    position: [0, 1]\n", "expected 3 values [x, y, z], got 2", 4, 15, "objects[0].position"),
    "vec3_of_four": Bad(BALL + "    velocity: [0, 1, 2, 3]\n", "expected 3 values [x, y, z], got 4", 4, 15, "objects[0].velocity"),
    "number_for_vec3": Bad(BALL + "    position: 3\n", "expected a list of 3 numbers [x, y, z], got 3", 4, 15, "objects[0].position"),
    "resolution_of_one": Bad("camera:\n  resolution: [512]\n", "expected 2 values [width, height], got 1", 2, 15, "camera.resolution"),
    "object_not_a_mapping": Bad("objects:\n  - ball\n", "expected a mapping of fields", 2, 5, "objects[0]"),
    "objects_not_a_list": Bad("objects:\n  ball: {shape: sphere}\n", "expected a list, got a mapping", 2, 3, "objects"),
    "empty_section": Bad("shot:\ncamera: {fov_deg: 40}\n", "the section is empty", 1, 6, "shot"),
    "nan_duration": Bad("shot:\n  duration: .nan\n", "must be a finite number, got nan", 2, 13, "shot.duration"),
    "unknown_interpolation": Bad(
        "camera:\n  interpolation: smoth\n", "'smoth' is not allowed here (did you mean 'smooth'?)", 2, 18, "camera.interpolation"
    ),
    # --- unknown keys, with "did you mean"
    "unknown_top_level_key": Bad("shots:\n  duration: 1\n", "unknown key 'shots' (did you mean 'shot'?)", 1, 1, "shots"),
    "unknown_material_key": Bad(
        BALL + "    material:\n      restitusion: 0.5\n",
        "unknown key 'restitusion' (did you mean 'restitution'?)",
        5,
        7,
        "objects[0].material.restitusion",
    ),
    "unknown_camera_key": Bad("camera:\n  fov: 40\n", "unknown key 'fov' (did you mean 'fov_deg'?)", 2, 3, "camera.fov"),
    "unknown_key_of_shape": Bad(BALL + "    raduis: 0.2\n", "unknown key 'raduis' (did you mean 'radius'?)", 4, 5, "objects[0].raduis"),
    "box_key_on_sphere": Bad(BALL + "    size: [1, 1, 1]\n", "unknown key 'size'", 4, 5, "objects[0].size"),
    "unknown_repeat_key": Bad(
        "objects:\n  - name: b\n    shape: box\n    repeat: {count: 3, stp: [1, 0, 0]}\n",
        "unknown key 'stp' (did you mean 'step'?)",
        4,
        24,
        "objects[0].repeat.stp",
    ),
    "unknown_shape": Bad("objects:\n  - name: b\n    shape: sphear\n", "unknown shape 'sphear' (did you mean 'sphere'?)", 3, 12, "objects[0].shape"),
    "missing_shape": Bad("objects:\n  - name: b\n", "object has no shape", 2, 5, "objects[0]"),
    "missing_name": Bad("objects:\n  - shape: sphere\n", "required field 'name' is missing", 2, 5, "objects[0].name"),
    # --- out of range
    "negative_mass": Bad(BALL + "    mass: -1\n", "must be greater than 0.0, got -1", 4, 11, "objects[0].mass"),
    "zero_duration": Bad("shot:\n  duration: 0\n", "must be greater than 0.0, got 0", 2, 13, "shot.duration"),
    "zero_radius": Bad(BALL + "    radius: 0\n", "must be greater than 0.0, got 0", 4, 13, "objects[0].radius"),
    "restitution_above_one": Bad(
        BALL + "    material: {restitution: 1.5}\n", "must be at most 1.0, got 1.5", 4, 29, "objects[0].material.restitution"
    ),
    "negative_friction": Bad(BALL + "    material: {friction: -0.1}\n", "must be at least 0.0, got -0.1", 4, 26, "objects[0].material.friction"),
    "fps_not_dividing_physics_hz": Bad(
        "shot:\n  fps: 25\n  physics_hz: 240\n", "must be an integer multiple of fps (25)", 3, 15, "shot.physics_hz"
    ),
    "duration_below_one_frame": Bad("shot:\n  duration: 0.01\n  fps: 24\n", "gives no frame", 2, 13, "shot.duration"),
    "bad_colour_name": Bad(BALL + "    color: redd\n", "unknown colour 'redd'", 4, 12, "objects[0].color"),
    "colour_channel_above_one": Bad(BALL + "    color: [255, 0, 0]\n", "must be at most 1.0, got 255", 4, 13, "objects[0].color[0]"),
    # --- asset files
    "missing_mesh_file": Bad("objects:\n  - name: m\n    shape: mesh\n    file: nope.obj\n", "'nope.obj' does not exist", 4, 11, "objects[0].file"),
    "mesh_path_escapes_folder": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: ../x.obj\n", "escapes the scene's folder", 4, 11, "objects[0].file"
    ),
    "absolute_mesh_path": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: /etc/x.obj\n", "is an absolute path", 4, 11, "objects[0].file"
    ),
    "text_file_named_obj": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: notes.obj\n",
        "'notes.obj' holds no triangle mesh",
        4,
        11,
        "objects[0].file",
        {"notes.obj": b"these are my notes\nnot a mesh at all\n"},
    ),
    "empty_mesh_file": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: empty.obj\n", "'empty.obj' is an empty file", 4, 11, "objects[0].file", {"empty.obj": b""}
    ),
    "mesh_with_wrong_suffix": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: cube.txt\n", "'cube.txt' is not a mesh file", 4, 11, "objects[0].file", {"cube.txt": b"v 0 0 0\n"}
    ),
    "flat_mesh_that_moves": Bad(
        "objects:\n  - name: m\n    shape: mesh\n    file: quad.obj\n",
        "'quad.obj' is flat",
        4,
        11,
        "objects[0].file",
        {"quad.obj": b"v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n"},
    ),
    "missing_urdf": Bad(
        "objects:\n  - name: r\n    shape: urdf\n    file: robots/nothere.urdf\n",
        "is neither beside the scene nor in pybullet_data",
        4,
        11,
        "objects[0].file",
    ),
    # --- names inside URDFs (read from the file's XML)
    "unknown_joint_position": Bad(
        ARM + "    joint_positions: {elbw: 0.5}\n", "'arm' has no joint 'elbw' (revolute/prismatic joints: elbow)", 5, 23,
        "objects[0].joint_positions.elbw", {"arm.urdf": ARM_URDF},
    ),
    "spherical_joint_position": Bad(
        ARM + "    joint_positions: {shoulder: 0.5}\n", "joint 'shoulder' is spherical (only revolute/prismatic joints take one value here: elbow)", 5, 23,
        "objects[0].joint_positions.shoulder", {"arm.urdf": ARM_URDF},
    ),
    "unknown_event_link": Bad(
        ARM_EVENT + "    link: lowr\n    impulse: [1, 0, 0]\n", "'arm' has no link 'lowr' (links: base, upper, lower)", 8, 11,
        "events[0].link", {"arm.urdf": ARM_URDF},
    ),
    "unknown_joint_target": Bad(
        ARM_EVENT + "    joint_targets: {wrist: 1.0}\n", "'arm' has no joint 'wrist' (revolute/prismatic joints: elbow)", 8, 21,
        "events[0].joint_targets.wrist", {"arm.urdf": ARM_URDF},
    ),
    "link_on_a_sphere": Bad(
        BALL + "events:\n  - at: 0.1\n    object: ball\n    link: top\n    impulse: [1, 0, 0]\n", "'ball' is a sphere with no links (remove link)", 7, 11, "events[0].link"
    ),
    "joint_targets_on_a_sphere": Bad(
        BALL + "events:\n  - at: 0.1\n    object: ball\n    joint_targets: {a: 1}\n", "'ball' is a sphere, which has no joints", 7, 20, "events[0].joint_targets"
    ),
    "push_on_a_static_object": Bad(
        "objects:\n  - name: wall\n    shape: box\n    static: true\nevents:\n  - at: 0.1\n    object: wall\n    impulse: [1, 0, 0]\n",
        "'wall' is static, so a push cannot move it", 7, 13, "events[0].object",
    ),
    "spherical_joint_target": Bad(
        ARM_EVENT + "    joint_targets: {shoulder: 1.0}\n", "joint 'shoulder' is spherical (only revolute/prismatic joints take one value here: elbow)", 8, 21,
        "events[0].joint_targets.shoulder", {"arm.urdf": ARM_URDF},
    ),
    "point_on_joint_targets": Bad(
        ARM_EVENT + "    joint_targets: {elbow: 1.0}\n    point: [0, 0, 1]\n", "point does not apply to joint_targets (remove point; it places an impulse or force)",
        9, 5, "events[0].point", {"arm.urdf": ARM_URDF},
    ),
    "push_on_a_fixed_base": Bad(
        ARM + "    fixed_base: true\nevents:\n  - at: 0.1\n    object: arm\n    impulse: [1, 0, 0]\n",
        "the base of 'arm' is fixed, so a push on it cannot move it (push one of its links: upper, lower)", 7, 5, "events[0].link", {"arm.urdf": ARM_URDF},
    ),
    "push_on_a_fixed_base_link_by_name": Bad(
        ARM + "    fixed_base: true\nevents:\n  - at: 0.1\n    object: arm\n    link: base\n    impulse: [1, 0, 0]\n",
        "the base of 'arm' is fixed, so a push on it cannot move it", 9, 11, "events[0].link", {"arm.urdf": ARM_URDF},
    ),
    "velocity_on_a_fixed_base": Bad(
        ARM + "    fixed_base: true\n    angular_velocity: [0, 0, 1]\n", "'arm' has a fixed base, which cannot move (remove the initial velocity or set fixed_base: false)",
        6, 5, "objects[0].angular_velocity", {"arm.urdf": ARM_URDF},
    ),
    # --- settings that would have no effect
    "density_on_a_static_object": Bad(
        "objects:\n  - name: wall\n    shape: box\n    static: true\n    material:\n      density: 500\n",
        "a static object has no mass, so material.density is unused (remove density or set static: false)", 6, 7, "objects[0].material.density",
    ),
    "density_on_a_plane": Bad(
        "objects:\n  - name: floor\n    shape: plane\n    material: {density: 500}\n",
        "a static object has no mass, so material.density is unused", 4, 16, "objects[0].material.density",
    ),
    "damping_on_a_static_object": Bad(
        "objects:\n  - name: floor\n    shape: plane\n    material: {angular_damping: 0.1}\n",
        "a static object never moves, so material.angular_damping is unused (remove angular_damping or set static: false)", 4, 16,
        "objects[0].material.angular_damping",
    ),
    "spinning_friction_without_rolling_friction": Bad(
        BALL + "    material:\n      spinning_friction: 0.01\n",
        "spinning_friction acts only together with rolling_friction (Bullet solves both or neither) (set rolling_friction > 0 too", 5, 7,
        "objects[0].material.spinning_friction",
    ),
    "camera_position_with_an_orbit": Bad(
        "camera:\n  orbit: {radius: 3}\n  position: [1, 2, 3]\n",
        "a camera with orbit does not use position (remove position; orbit sets the camera pose)", 3, 3, "camera.position",
    ),
    "interpolation_without_keyframes": Bad(
        "camera:\n  position: [0, -5, 1]\n  interpolation: linear\n",
        "a fixed camera does not use interpolation (remove interpolation; interpolation applies to keyframes)", 3, 3, "camera.interpolation",
    ),
    "max_force_on_an_impulse": Bad(
        BALL + "events:\n  - at: 0.1\n    object: ball\n    impulse: [1, 0, 0]\n    max_force: 50\n",
        "max_force limits the motors of joint_targets only (remove it; an impulse or force acts in full)", 8, 5, "events[0].max_force",
    ),
    "urdf_that_is_not_xml": Bad(
        "objects:\n  - name: r\n    shape: urdf\n    file: r.urdf\n", "'r.urdf' is not readable URDF XML", 4, 11, "objects[0].file", {"r.urdf": b"robot: yes\n"}
    ),
    # --- cross-field rules
    "euler_and_quaternion": Bad(
        BALL + "    euler_deg: [0, 0, 0]\n    quaternion: [0, 0, 0, 1]\n", "euler_deg and quaternion cannot both be set", 5, 5, "objects[0].quaternion"
    ),
    "zero_quaternion": Bad(BALL + "    quaternion: [0, 0, 0, 0]\n", "quaternion has zero length", 4, 17, "objects[0].quaternion"),
    "mass_with_density": Bad(
        BALL + "    mass: 1\n    material: {density: 500}\n", "mass and material.density cannot both be set", 4, 5, "objects[0].mass"
    ),
    "mass_on_static_object": Bad(
        "objects:\n  - name: b\n    shape: box\n    static: true\n    mass: 2\n", "a static object has no mass", 5, 5, "objects[0].mass"
    ),
    "velocity_on_static_object": Bad(
        "objects:\n  - name: b\n    shape: box\n    static: true\n    velocity: [1, 0, 0]\n",
        "a static object cannot have an initial velocity",
        5,
        5,
        "objects[0].velocity",
    ),
    "plane_not_static": Bad("objects:\n  - name: f\n    shape: plane\n    static: false\n", "a plane is always static", 4, 13, "objects[0].static"),
    "repeat_and_grid": Bad(
        "objects:\n  - name: b\n    shape: box\n    repeat: {count: 2}\n    grid: {counts: [2, 2, 1], spacing: [1, 1, 1]}\n",
        "use one of repeat, grid, pyramid per object",
        5,
        5,
        "objects[0].grid",
    ),
    "repeat_offsets_count": Bad(
        "objects:\n  - name: b\n    shape: box\n    repeat: {count: 3, offsets: [[0, 0, 0]]}\n",
        "offsets has 1 entries but count is 3",
        4,
        33,
        "objects[0].repeat.offsets",
    ),
    "mass_on_urdf": Bad(
        "objects:\n  - name: r\n    shape: urdf\n    file: duck_vhacd.urdf\n    mass: 2\n", "a URDF's masses come from its file", 5, 5, "objects[0].mass"
    ),
    "duplicate_object_names": Bad(
        "objects:\n  - name: b\n    shape: sphere\n  - name: b\n    shape: box\n", "name 'b' is already used by objects[0]", 4, 11, "objects[1].name"
    ),
    "name_clashing_with_a_copy": Bad(
        "objects:\n  - name: d\n    shape: box\n    repeat: {count: 2}\n  - name: d_1\n    shape: box\n",
        "name 'd_1' is already used by objects[0]",
        5,
        11,
        "objects[1].name",
    ),
    "follow_unknown_object": Bad(
        "camera:\n  follow: bal\n" + BALL, "'bal' is not an object of the scene (did you mean 'ball'?)", 2, 11, "camera.follow"
    ),
    "follow_unknown_object_mapping": Bad(
        "camera:\n  follow: {object: bal}\n" + BALL, "'bal' is not an object", 2, 20, "camera.follow.object"
    ),
    "event_unknown_object": Bad(
        BALL + "events:\n  - at: 0.1\n    object: bal\n    impulse: [1, 0, 0]\n",
        "'bal' is not an object of the scene (did you mean 'ball'?)",
        6,
        13,
        "events[0].object",
    ),
    "event_names_repeated_object": Bad(
        "objects:\n  - name: domino\n    shape: box\n    repeat: {count: 3}\nevents:\n  - at: 0.1\n    object: domino\n    impulse: [1, 0, 0]\n",
        "name one copy, e.g. 'domino_0'",
        7,
        13,
        "events[0].object",
    ),
    "event_after_shot_ends": Bad(
        "shot:\n  duration: 1\n" + BALL + "events:\n  - at: 3\n    object: ball\n    impulse: [1, 0, 0]\n",
        "t=3 s is after the last physics step of the shot (t=0.9958 s) (use at <= 0.9958 or lengthen shot.duration)",
        7,
        9,
        "events[0].at",
    ),
    "event_rounding_past_the_last_step": Bad(
        "shot:\n  duration: 0.5\n" + BALL + "events:\n  - at: 0.499\n    object: ball\n    impulse: [1, 0, 0]\n",
        "t=0.499 s is after the last physics step of the shot (t=0.4958 s)",
        7,
        9,
        "events[0].at",
    ),
    "event_with_two_actions": Bad(
        BALL + "events:\n  - at: 0.1\n    object: ball\n    impulse: [1, 0, 0]\n    force: [1, 0, 0]\n    duration: 0.1\n",
        "an event needs exactly one of impulse, force, joint_targets, got impulse and force",
        8,
        5,
        "events[0].force",
    ),
    "force_without_duration": Bad(
        BALL + "events:\n  - at: 0.1\n    object: ball\n    force: [1, 0, 0]\n", "a force event needs a duration", 7, 5, "events[0].force"
    ),
    "two_camera_paths": Bad(
        "camera:\n  orbit: {radius: 3}\n  dolly: {start: [0, 0, 0], end: [1, 0, 0], look_at: [0, 0, 0]}\n",
        "camera can follow one path, got orbit and dolly",
        3,
        3,
        "camera.dolly",
    ),
    "keyframes_not_increasing": Bad(
        "camera:\n  keyframes:\n    - {t: 1.0, position: [0, 0, 1], look_at: [0, 0, 0]}\n    - {t: 0.5, position: [0, 1, 1], look_at: [0, 0, 0]}\n",
        "keyframe times must increase strictly, but t=0.5 follows t=1.0",
        4,
        11,
        "camera.keyframes[1].t",
    ),
    "single_keyframe": Bad(
        "camera:\n  keyframes:\n    - {t: 0.0, position: [0, 0, 1], look_at: [0, 0, 0]}\n", "needs at least 2 keyframes", 3, 5, "camera.keyframes"
    ),
    "semantic_typo": Bad(BALL + "    semantic: flor\n", "'flor' is not an ADE20K class (did you mean 'floor'?)", 4, 15, "objects[0].semantic"),
    "semantic_unknown": Bad(BALL + "    semantic: qwxz\n", "use one of the 150 ADE20K class names", 4, 15, "objects[0].semantic"),
    "emitter_semantic_typo": Bad("emitters:\n  - name: rain\n    rate: 10\n    semantic: watr\n", "did you mean 'water'?", 4, 15,
                                 "emitters[0].semantic"),
    "scope_on_a_seg_control": Bad("generate:\n  controls:\n    - kind: seg\n      scope: frame\n",
                                  "scope applies to depth and flow controls, not seg (remove scope)", 4, 7, "generate.controls[0].scope"),
    # --- resource limits
    "huge_resolution_times_frames": Bad(
        "shot:\n  duration: 60\n  fps: 30\ncamera:\n  resolution: [4096, 4096]\n", "pixel-frames exceed the limit", 5, 15, "camera.resolution"
    ),
    "too_many_frames": Bad("shot:\n  duration: 200\n  fps: 24\ncamera:\n  resolution: [8, 8]\n", "frames exceed the limit of 2400", 2, 13, "shot.duration"),
    # --- the start image (generate.image)
    "image_missing": Bad(START, "'start.png' does not exist in", 2, 10, "generate.image", files={"other.png": GOOD_PNG}),
    "image_outside_the_folder": Bad("generate:\n  image: ../start.png\n", "escapes the scene's folder", 2, 10, "generate.image"),
    "image_absolute": Bad("generate:\n  image: /tmp/start.png\n", "is an absolute path", 2, 10, "generate.image"),
    "image_not_an_image": Bad(START, "is not an image Pillow can read (save it as PNG or JPEG)", 2, 10, "generate.image",
                              files={"start.png": b"a text file with a .png name"}),
    "image_empty": Bad(START, "is an empty file", 2, 10, "generate.image", files={"start.png": b""}),
    "image_truncated": Bad(START, "could not be decoded", 2, 10, "generate.image", files={"start.png": _image_bytes((64, 64))[:-40]}),
    "image_animated": Bad(START, "is a GIF image", 2, 10, "generate.image", files={"start.png": _image_bytes((8, 8), "P", "GIF", frames=3)}),
    "image_two_frames_of_webp": Bad(START, "holds 2 frames", 2, 10, "generate.image",
                                    files={"start.png": _image_bytes((8, 8), "RGB", "WEBP", frames=2)}),
    "image_too_wide": Bad(START, "is 9000x2 pixels, over the limit of 8192 per side", 2, 10, "generate.image",
                          files={"start.png": _image_bytes((9000, 2))}),
    "image_16_bit": Bad(START, "has I;16 pixels", 2, 10, "generate.image", files={"start.png": _image_bytes((8, 8), "I;16")}),
    "image_transparent": Bad(START, "has transparent pixels", 2, 10, "generate.image",
                             files={"start.png": _image_bytes((8, 8), "RGBA", alpha=128)}),
    "image_empty_name": Bad("generate:\n  image: ''\n", "at least 1 character", 2, 10, "generate.image"),
    # --- the file itself
    "yaml_syntax_error": Bad("shot:\n  duration: [1, 2\n  fps: 24\n", "YAML syntax: expected ',' or ']'", 3, 6),
    "top_level_list": Bad("- shot\n- camera\n", "the scene must be a YAML mapping, got a list", 1, 1),
    "duplicate_key": Bad("shot:\n  fps: 24\n  fps: 30\n", "duplicate key 'fps', first written at line 2", 3, 3),
    "empty_file": Bad("# only a comment\n", "the scene file is empty", 0, None),
    "tab_indentation": Bad("shot:\n\tfps: 24\n", "indent with spaces, not tabs", 2, 1),
    "two_documents": Bad("shot: {fps: 24}\n---\ncamera: {}\n", "a scene is one document", 2, 1),
    "python_tag": Bad("shot: !!python/object/apply:os.system ['echo hi']\n", "unsupported YAML tag '!!python/object/apply:os.system'", 1, 7),
    "custom_tag": Bad("shot: !custom {fps: 24}\n", "unsupported YAML tag '!custom'", 1, 7),
    "key_that_is_not_text": Bad("shot:\n  1: 2\n", "key 1 is not text", 2, 3),
    "date_for_number": Bad("shot:\n  duration: 2001-12-14\n", "got 2001-12-14 (a date)", 2, 13, "shot.duration"),
    "alias_bomb": Bad(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdef", "bcdefg")),
        "the YAML expands to more than 200,000 values",
        1,
        None,
    ),
}


def _write(tmp_path: Path, bad: Bad) -> Path:
    folder = tmp_path / "scene"
    folder.mkdir()
    for name, data in bad.files.items():
        (folder / name).write_bytes(data)
    path = folder / "scene.yaml"
    path.write_text(bad.text)
    return path


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_is_reported_at_its_line_with_a_fix(tmp_path, case):
    bad = BAD_SPECS[case]
    path = _write(tmp_path, bad)
    with pytest.raises(SpecError) as caught:
        load_scene(path)
    issues = caught.value.issues
    matching = [i for i in issues if bad.fragment in f"{i.problem} ({i.hint})"]
    assert matching, f"no issue mentions {bad.fragment!r}: {[str(i) for i in issues]}"
    issue = matching[0]
    assert issue.file == str(path)
    assert issue.line == bad.line, str(issue)
    if bad.column is not None:
        assert issue.column == bad.column, str(issue)
    assert issue.field == bad.field, str(issue)
    assert issue.hint, f"an issue must say how to fix it: {issue}"


def test_there_are_at_least_25_bad_specs():
    assert len(BAD_SPECS) >= 25


def test_all_problems_of_a_file_are_reported_together(tmp_path):
    """Independent mistakes in one file each get their own issue, sorted by line."""
    path = tmp_path / "scene.yaml"
    path.write_text("shot:\n  duration: -1\n  fsp: 24\nobjects:\n  - name: b\n    shape: sphere\n    radius: 0\n")
    with pytest.raises(SpecError) as caught:
        load_scene(path)
    assert [(i.line, i.field) for i in caught.value.issues] == [
        (2, "shot.duration"),
        (3, "shot.fsp"),
        (7, "objects[0].radius"),
    ]


def test_a_non_utf8_file_is_reported_at_the_bad_byte(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_bytes("shot:\n  name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError) as caught:
        load_scene(path)
    (issue,) = caught.value.issues
    assert "not UTF-8 text (byte 0xe9)" in issue.problem
    assert (issue.line, issue.column) == (2, 12)
    assert issue.hint == "save the scene as UTF-8"


def test_a_missing_scene_file_is_reported(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_scene(tmp_path / "nowhere.yaml")
    (issue,) = caught.value.issues
    assert issue.problem == "no such scene file"
    assert str(issue) == f"{tmp_path / 'nowhere.yaml'}: no such scene file (check the path)"


def test_a_folder_is_not_a_scene_file(tmp_path):
    with pytest.raises(SpecError, match="not a file"):
        load_scene(tmp_path)


# ------------------------------------------------------------------------------- CLI
def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path, capsys):
    path = tmp_path / "scene.yaml"
    path.write_text("shot:\n  duration: 0\n  fsp: 24\nobjects:\n  - name: b\n    shape: sphear\n")
    status = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 3, err
    for line in lines:
        assert ISSUE_LINE.match(line), f"not in file:line:col: field: problem (hint) form: {line!r}"
    assert lines[0].startswith(f"{path}:2:13: shot.duration: must be greater than 0.0, got 0 (")
    assert lines[1] == f"{path}:3:3: shot.fsp: unknown key 'fsp' (did you mean 'fps'?)"
    assert lines[2].startswith(f"{path}:6:12: objects[0].shape: unknown shape 'sphear'")


def test_cli_in_a_subprocess_shows_no_traceback(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text(BALL + "    mass: -1\n")
    run = subprocess.run(
        [sys.executable, "-m", "physreel", "validate", str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        f"{path}:4:11: objects[0].mass: must be greater than 0.0, got -1 (kilograms, e.g. 1.0; leave it out to use density x volume)"
    ]


def test_cli_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "scene.yaml"
    path.write_text(BALL + "    mass: -1\n")
    with pytest.raises(SpecError):
        main(["--debug", "validate", str(path)])
    with pytest.raises(SpecError):
        main(["validate", str(path), "--debug"])


def test_problems_found_after_loading_point_at_the_field(tmp_path):
    """Scene.spec_error lets later stages (URDF joint names, ...) report at the YAML line."""
    path = tmp_path / "scene.yaml"
    path.write_text("objects:\n  - name: r\n    shape: urdf\n    file: duck_vhacd.urdf\n    scale: 200\n")
    scene = load_scene(path)
    error = scene.spec_error(("objects", 0, "scale"), "the duck is too big to simulate", "use scale <= 10")
    assert str(error) == f"{path}:5:12: objects[0].scale: the duck is too big to simulate (use scale <= 10)"


def test_a_symlink_leading_out_of_the_scene_folder_is_rejected(tmp_path):
    outside = tmp_path / "outside.obj"
    outside.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n")
    folder = tmp_path / "scene"
    folder.mkdir()
    (folder / "inside.obj").symlink_to(outside)
    path = folder / "scene.yaml"
    path.write_text("objects:\n  - name: m\n    shape: mesh\n    file: inside.obj\n")
    with pytest.raises(SpecError) as caught:
        load_scene(path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.column, issue.field) == (4, 11, "objects[0].file")
    assert "'inside.obj' escapes the scene's folder" in issue.problem


def test_a_file_beside_the_scene_wins_over_pybullet_data(tmp_path):
    """A URDF named like one in pybullet_data but present beside the scene is the one used."""
    (tmp_path / "duck_vhacd.urdf").write_text('<robot name="mine"><link name="base"/></robot>\n')
    path = tmp_path / "scene.yaml"
    path.write_text("objects:\n  - name: duck\n    shape: urdf\n    file: duck_vhacd.urdf\n")
    assert load_scene(path).assets["duck"] == tmp_path / "duck_vhacd.urdf"

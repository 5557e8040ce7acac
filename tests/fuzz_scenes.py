"""Hypothesis strategies for valid scenes and their asset files: the fuzzer's starting points.

A `Case` is a scene as YAML data plus the files beside it (name -> bytes). Every scene drawn here
is valid and cheap (under a second of simulation); `fuzz_mutations.py` then breaks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hypothesis import strategies as st

BAIT = "../outside/secret"
"""Files of this stem lie beside the scene's folder, outside it: nothing may ever open them."""
BAIT_ABSOLUTE = "@BAIT@/secret"
"""The same by absolute path: the harness writes the outside folder's path for @BAIT@."""


@dataclass
class Case:
    data: dict
    files: dict[str, bytes] = field(default_factory=dict)
    text: str | None = None
    """The YAML as written, once serialised (text mutations work on it)."""


# ------------------------------------------------------------------------------ asset files
def obj_text(extent: float = 0.1, mtllib: str | None = None) -> bytes:
    """A closed tetrahedron (it encloses volume, so it may move), optionally naming a material library."""
    e = extent
    lines = [f"mtllib {mtllib}"] if mtllib else []
    lines += [f"v {0:.4f} {0:.4f} {e:.4f}", f"v {e:.4f} {0:.4f} {-e:.4f}", f"v {-e:.4f} {e:.4f} {-e:.4f}",
              f"v {-e:.4f} {-e:.4f} {-e:.4f}", "f 1 2 3", "f 1 3 4", "f 1 4 2", "f 2 4 3"]
    return ("\n".join(lines) + "\n").encode()


def urdf_text(mass: str = "1.0", inertia: str = "0.01", mesh: str | None = None, axis: str = "0 1 0",
              child_link: str = "lower", extra_link: str = "") -> bytes:
    """A two-link arm: a box base and a revolute elbow (joint 'elbow'); `mesh` names a visual mesh file."""
    visual = (f'<visual><geometry><mesh filename="{mesh}"/></geometry></visual>' if mesh else
              '<visual><geometry><cylinder radius="0.03" length="0.3"/></geometry></visual>')
    return f"""<?xml version="1.0"?>
<robot name="arm">
  <link name="base">
    <inertial><mass value="{mass}"/><inertia ixx="{inertia}" iyy="{inertia}" izz="{inertia}" ixy="0" ixz="0" iyz="0"/></inertial>
    <visual><geometry><box size="0.2 0.2 0.1"/></geometry></visual>
    <collision><geometry><box size="0.2 0.2 0.1"/></geometry></collision>
  </link>
  <link name="lower">
    <inertial><origin xyz="0 0 0.15"/><mass value="0.5"/><inertia ixx="0.004" iyy="0.004" izz="0.001" ixy="0" ixz="0" iyz="0"/></inertial>
    {visual}
    <collision><origin xyz="0 0 0.15"/><geometry><cylinder radius="0.03" length="0.3"/></geometry></collision>
  </link>{extra_link}
  <joint name="elbow" type="revolute"><parent link="base"/><child link="{child_link}"/><origin xyz="0 0 0.05"/>
    <axis xyz="{axis}"/><limit lower="-1" upper="1" effort="10" velocity="5"/></joint>
</robot>
""".encode()


def gltf_text(uri: str) -> bytes:
    """A glTF naming one external buffer."""
    return ('{"asset": {"version": "2.0"}, "buffers": [{"uri": "%s", "byteLength": 36}], "meshes": []}' % uri).encode()


BAIT_FILES = {
    "secret.obj": obj_text(0.2),
    "secret.mtl": b"newmtl m\nKd 1 0 0\n",
    "secret.png": b"\x89PNG\r\n\x1a\n",
    "secret.bin": bytes(36),
    "secret.urdf": urdf_text(),
}
"""Valid files of every kind a reference may name, placed where no scene may reach."""


# ---------------------------------------------------------------------------- scene pieces
def _vec(lo: float, hi: float):
    return st.lists(st.floats(lo, hi, allow_nan=False).map(lambda v: round(v, 3)), min_size=3, max_size=3)


@st.composite
def shots(draw):
    fps = draw(st.sampled_from([8, 12, 24]))
    return {
        "name": draw(st.text("abcdefgh_", min_size=1, max_size=8)),
        "duration": draw(st.sampled_from([0.25, 0.5])),
        "fps": fps,
        "physics_hz": fps * draw(st.sampled_from([2, 5, 10])),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "prompt": draw(st.text(max_size=20)),
    }


@st.composite
def cameras(draw, names: list[str]):
    camera = {"resolution": [draw(st.integers(8, 40)), draw(st.integers(8, 40))], "fov_deg": draw(st.floats(20, 90))}
    path = draw(st.sampled_from(["fixed", "orbit", "dolly", "keyframes", "follow"]))
    if path == "fixed":
        camera.update(position=[0.0, -4.0, 1.5], look_at=[0.0, 0.0, 0.3])
    elif path == "orbit":
        camera["orbit"] = {"center": [0, 0, 0.3], "radius": draw(st.floats(1, 6)), "height": 1.0}
    elif path == "dolly":
        camera["dolly"] = {"start": [0, -5, 1], "end": [1, -4, 1], "look_at": [0, 0, 0.3]}
    elif path == "keyframes":
        camera["keyframes"] = [{"t": 0.0, "position": [0, -5, 1], "look_at": [0, 0, 0]},
                               {"t": 0.3, "position": [1, -4, 1.5], "look_at": [0, 0, 0.2]}]
    else:
        camera["follow"] = draw(st.sampled_from(names))
    return camera


SHAPES = ("box", "sphere", "capsule", "cylinder", "mesh", "urdf")


@st.composite
def objects(draw, index: int, files: dict[str, bytes]):
    """A dynamic (or static) object at its own spot, 1 m apart, 0.5 m above the floor."""
    shape = draw(st.sampled_from(SHAPES))
    obj = {"name": f"o{index}", "shape": shape, "position": [1.0 * index - 1.5, 0.0, 0.5]}
    if shape == "box":
        obj["size"] = draw(_vec(0.05, 0.3))
    elif shape in ("sphere", "capsule", "cylinder"):
        obj["radius"] = draw(st.floats(0.03, 0.2))
    if shape == "mesh":
        name = draw(st.sampled_from(["m.obj", "assets/m.obj", "g.gltf"]))
        if name == "g.gltf":  # a glTF with its buffer beside it: trimesh finds no triangles, a located error
            files[name] = gltf_text("g.bin")
            files["g.bin"] = bytes(36)
        else:
            files[name] = obj_text(draw(st.floats(0.03, 0.2)), mtllib="m.mtl" if draw(st.booleans()) else None)
            files[str(PurePosixPath(name).parent / "m.mtl")] = b"newmtl m\nKd 0.5 0.5 0.5\n"
        obj["file"] = name
        obj["collision"] = draw(st.sampled_from(["convex_hull", "convex_decomposition"]))
        if draw(st.booleans()):
            obj["scale"] = draw(st.sampled_from([0.5, 2.0, [1.0, 2.0, 0.5]]))
        if draw(st.integers(0, 3)) == 0:
            obj["static"] = True
    if shape == "urdf":
        use_mesh = draw(st.booleans())
        files["arm.urdf"] = urdf_text(mesh="m.obj" if use_mesh else None)
        if use_mesh:
            files.setdefault("m.obj", obj_text(0.05))
        obj["file"] = draw(st.sampled_from(["arm.urdf", "arm.urdf", "domino/domino.urdf"]))
        if obj["file"] == "arm.urdf" and draw(st.booleans()):
            obj["joint_positions"] = {"elbow": draw(st.floats(-1, 1))}
        obj["fixed_base"] = draw(st.booleans())
    elif shape != "plane" and not obj.get("static") and draw(st.booleans()):
        obj["mass"] = draw(st.floats(0.1, 5))
    if draw(st.integers(0, 5)) == 0 and shape != "urdf":
        obj["repeat"] = {"count": draw(st.integers(1, 3)), "step": [0.0, 0.6, 0.0]}
    if draw(st.booleans()):
        obj["material"] = {"friction": draw(st.floats(0, 1)), "restitution": draw(st.floats(0, 1))}
    if draw(st.booleans()):
        obj["color"] = draw(st.sampled_from(["red", "wood", "#00ff80", [0.2, 0.4, 0.6]]))
    return obj


@st.composite
def events(draw, objs: list[dict]):
    target = draw(st.sampled_from(objs))
    name = target["name"] + ("_0" if "repeat" in target else "")
    kind = draw(st.sampled_from(["impulse", "force"] + (["joint_targets"] if target.get("file") == "arm.urdf" else [])))
    event = {"at": draw(st.sampled_from([0.0, 0.05, 0.1])), "object": name}
    if kind == "impulse":
        event["impulse"] = [0.1, 0.0, 0.0]
    elif kind == "force":
        event.update(force=[0.0, 0.0, 2.0], duration=draw(st.sampled_from([0.01, 0.1, 5.0])))
    else:
        event["joint_targets"] = {"elbow": 0.5}
    return event


@st.composite
def emitters(draw, files: dict[str, bytes]):
    shape = draw(st.sampled_from(["point", "box", "disc", "surface"]))
    emitter = {"name": "sparks", "shape": shape, "position": [0, 0, 1.0], "burst": draw(st.integers(1, 40)),
               "velocity": {"direction": [0, 0, 1], "cone_deg": 30, "speed": [0.5, 1.0]}}
    if shape == "box":
        emitter["size"] = [0.2, 0.2, 0.2]
    elif shape == "disc":
        emitter["disc_radius"] = 0.1
    elif shape == "surface":
        files.setdefault("m.obj", obj_text(0.05))
        emitter["file"] = "m.obj"
    if draw(st.booleans()):
        emitter["rate"] = draw(st.floats(1, 100))
    return emitter


@st.composite
def cases(draw) -> Case:
    """A valid, cheap scene with its files."""
    files: dict[str, bytes] = {}
    objs = [{"name": "floor", "shape": "plane", "color": "grey"}]
    objs += [draw(objects(i, files)) for i in range(draw(st.integers(1, 3)))]
    names = [o["name"] + ("_0" if "repeat" in o else "") for o in objs]
    dynamic = [o for o in objs[1:] if not o.get("fixed_base") and not o.get("static") and "repeat" not in o]
    data = {"shot": draw(shots()), "camera": draw(cameras(names)), "objects": objs}
    if dynamic and draw(st.booleans()):
        data["events"] = [draw(events(dynamic)) for _ in range(draw(st.integers(1, 2)))]
    if draw(st.integers(0, 3)) == 0:
        data["emitters"] = [draw(emitters(files))]
    if draw(st.integers(0, 4)) == 0:
        data["fluid_blocks"] = [{"name": "water", "center": [0, 1.0, 0.3], "size": [0.1, 0.1, 0.1], "particle_radius": 0.02}]
    if draw(st.booleans()):
        data["generate"] = {"steps": draw(st.integers(1, 4)), "controls": [{"kind": draw(st.sampled_from(["depth", "edges"]))}]}
    return Case(data, files)

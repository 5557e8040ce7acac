"""What `load_scene` checks inside a URDF file, so that pybullet only ever reads a sound one.

1. Every file it names stays inside its root and exists (sim/spec/references.py): pybullet would
   otherwise search parent folders and the working directory for a missing mesh, or fail later
   with "Cannot load URDF file".
2. Its meshes are OBJ or STL files trimesh reads as triangles (sim/geometry.py reads the visual
   ones with trimesh, pybullet all of them).
3. Its numbers are finite and physical: masses >= 0, inertia diagonals >= 0, sizes > 0, a joint
   axis of non-zero length. pybullet takes `<mass value="nan"/>` without a word, and the link
   then hovers.
4. pybullet loads it: a private DIRECT client tries, so what is left (a joint naming a link that
   does not exist, two root links) is reported when the scene loads, not when it simulates.

A URDF that pybullet_data ships is pybullet's own data, not the user's: checks 1, 2 and 4 hold
for it (its root is pybullet_data's folder), check 3 does not. Its files are written for
pybullet's lenient parser (`xyz='0.07, 0, -0.69'`, four-value `rpy`, zero-radius contact spheres
on laikago's toes) and simulate as pybullet's authors meant; the user cannot edit them anyway.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from ..quiet import c_output_silenced
from ..urdf_folder import in_urdf_folder
from .assets import check_mesh_file, pybullet_data_dir
from .references import check_references
from .types import MAX_MAGNITUDE

URDF_MESH_SUFFIXES = (".obj", ".stl")
"""Mesh files both pybullet (collision, visuals) and trimesh (the passes' visuals) read."""

# attribute -> (values it holds, the rule its values follow)
_NUMBERS: dict[str, dict[str, tuple[int, str]]] = {
    "origin": {"xyz": (3, "finite"), "rpy": (3, "finite")},
    "mass": {"value": (1, "non-negative")},
    "inertia": {"ixx": (1, "non-negative"), "iyy": (1, "non-negative"), "izz": (1, "non-negative"),
                "ixy": (1, "finite"), "ixz": (1, "finite"), "iyz": (1, "finite")},
    "box": {"size": (3, "positive")},
    "sphere": {"radius": (1, "positive")},
    "cylinder": {"radius": (1, "positive"), "length": (1, "positive")},
    "capsule": {"radius": (1, "positive"), "length": (1, "positive")},
    "mesh": {"scale": (3, "finite")},
    "axis": {"xyz": (3, "finite")},
    "limit": {"lower": (1, "any"), "upper": (1, "any"), "effort": (1, "any"), "velocity": (1, "any")},
    "dynamics": {"damping": (1, "non-negative"), "friction": (1, "non-negative")},
    "color": {"rgba": (4, "finite")},
}


def check_urdf_file(path: Path, root: Path, scale: float = 1.0, self_collision: bool = False) -> None:
    """Raise ValueError (problem; fix) unless the URDF at `path` passes the module's four checks
    (pybullet loads it as sim/urdf.py will: at `scale`, with the file's inertias)."""
    tree = _parse(path)
    shipped = root.resolve() == pybullet_data_dir().resolve()
    meshes = []
    for element, owner, joint_type in _elements(tree):
        if not shipped:
            _check_numbers(element, owner, path, joint_type)
        if element.tag == "mesh":
            meshes.append(_mesh_path(element, owner, path))
    check_references(path, root, shipped=shipped)
    for mesh in dict.fromkeys(meshes):
        check_mesh_file(mesh, root, shipped=shipped)
    _check_pybullet_loads(path, scale, self_collision)


def _parse(path: Path) -> ElementTree.Element:
    try:
        # Some shipped URDFs end in a NUL byte (pybullet_data's humanoid) or start with blank lines
        # before `<?xml` (biped2d_pybullet): pybullet ignores both, ElementTree does not.
        return ElementTree.fromstring(path.read_bytes().strip(b"\x00 \t\r\n"))
    except (ElementTree.ParseError, OSError) as exc:
        raise ValueError(f"{path.name!r} is not readable URDF XML ({str(exc).replace('; ', ', ')}); check the file") from None


def _elements(tree: ElementTree.Element):
    """(element, "link 'name'" or "joint 'name'", the joint's type or None) for every element below a link or joint."""
    for top in tree:
        owner = f"{top.tag} {top.get('name', '')!r}"
        joint_type = top.get("type") if top.tag == "joint" else None
        for element in top.iter():
            yield element, owner, joint_type


def _check_numbers(element: ElementTree.Element, owner: str, path: Path, joint_type: str | None = None) -> None:
    for attribute, (size, rule) in _NUMBERS.get(element.tag, {}).items():
        text = element.get(attribute)
        if text is None:
            continue
        written = f"<{element.tag} {attribute}={text[:40]!r}>"
        try:
            values = [float(word) for word in text.split()]
        except ValueError:
            values = []
        if len(values) != size or not all(math.isfinite(v) for v in values):
            raise ValueError(f"{path.name!r}: {owner}: {written} is not {size} finite number{'s' if size > 1 else ''}; fix the file")
        if rule != "any" and any(abs(v) > MAX_MAGNITUDE for v in values):
            raise ValueError(f"{path.name!r}: {owner}: {written} is out of range; keep values within +-{MAX_MAGNITUDE:g}")
        if rule == "non-negative" and any(v < 0 for v in values):
            raise ValueError(f"{path.name!r}: {owner}: {written} is negative; masses, inertias, damping and friction are >= 0")
        if rule == "positive" and any(v <= 0 for v in values):
            raise ValueError(f"{path.name!r}: {owner}: {written} is not positive; sizes are > 0")
    # URDF: fixed and floating joints do not use their axis (franka_description writes 0 0 0 there)
    if (element.tag == "axis" and joint_type not in ("fixed", "floating") and element.get("xyz") is not None
            and not any(float(v) for v in element.get("xyz", "").split())):
        raise ValueError(f"{path.name!r}: {owner}: <axis xyz='0 0 0'> has no direction; give e.g. xyz='0 0 1'")


def _mesh_path(element: ElementTree.Element, owner: str, path: Path) -> Path:
    """Where a <mesh> element's file is (checked to lie inside the root by check_references)."""
    name = element.get("filename")
    if name is None:
        raise ValueError(f"{path.name!r}: {owner}: a <mesh> has no filename; name an OBJ or STL file")
    if Path(name).suffix.lower() not in URDF_MESH_SUFFIXES:
        raise ValueError(f"{path.name!r}: {owner}: mesh {name!r} is not an OBJ or STL file; export it as one")
    for prefix in ("package://", "model://", "file://"):
        name = name.removeprefix(prefix)
    return (path.parent / name).resolve()


def _check_pybullet_loads(path: Path, scale: float, self_collision: bool) -> None:
    # The URDF importer prints its complaints to the C stdout, and pybullet its build time when
    # first imported: imported here, silenced, so loading a scene without URDFs prints nothing.
    with c_output_silenced():
        import pybullet as p

        flags = p.URDF_USE_INERTIA_FROM_FILE
        if self_collision:
            flags |= p.URDF_USE_SELF_COLLISION | p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT
        client = p.connect(p.DIRECT)
        try:
            with in_urdf_folder(path):
                p.loadURDF(str(path), globalScaling=scale, flags=flags, physicsClientId=client)
        except p.error:
            raise ValueError(f"pybullet cannot load {path.name!r} (a link or joint it names may be missing, or it has two root links); "
                             "check the file") from None
        finally:
            p.disconnect(physicsClientId=client)

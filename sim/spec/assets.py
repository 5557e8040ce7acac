"""Resolving and checking files a scene refers to (meshes, URDFs)."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pybullet_data

MESH_SUFFIXES = (".obj", ".stl", ".glb", ".gltf", ".ply")


def pybullet_data_dir() -> Path:
    return Path(pybullet_data.getDataPath())


def resolve_asset_path(file: str, scene_dir: Path, allow_pybullet_data: bool = False) -> Path:
    """Absolute path of `file`, which must lie inside `scene_dir` (or pybullet_data for URDFs).

    Raises ValueError with the fix in its message.
    """
    if not file.strip():
        raise ValueError("file is empty; give a path relative to the scene's folder")
    scene_dir = scene_dir.resolve()
    relative = Path(file)
    if relative.is_absolute():
        raise ValueError(f"{file!r} is an absolute path; give a path relative to the scene's folder {scene_dir}")
    candidate = (scene_dir / relative).resolve()
    if not candidate.is_relative_to(scene_dir):
        raise ValueError(f"{file!r} escapes the scene's folder {scene_dir}; keep assets inside it")
    if candidate.is_file():
        return candidate
    if allow_pybullet_data:
        data_dir = pybullet_data_dir().resolve()
        shipped = (data_dir / relative).resolve()
        if shipped.is_relative_to(data_dir) and shipped.is_file():
            return shipped
        raise ValueError(
            f"{file!r} is neither beside the scene nor in pybullet_data; "
            "use e.g. humanoid/humanoid.urdf, domino/domino.urdf or duck_vhacd.urdf"
        )
    raise ValueError(f"{file!r} does not exist in {scene_dir}; {_nearby_hint(candidate)}")


def _nearby_hint(missing: Path) -> str:
    """'did you mean' over the files that do exist in the folder the path names."""
    folder = missing.parent
    names = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    close = difflib.get_close_matches(missing.name, names, n=1, cutoff=0.8)
    if close:
        return f"did you mean {close[0]!r} in that folder?"
    return "check the path; it is relative to the scene's folder"


def check_mesh_file(path: Path, dynamic: bool = False) -> None:
    """Raise ValueError unless `path` loads as a triangle mesh; a `dynamic` one must enclose volume.

    A moving mesh gets its mass and inertia from its collision hull, so a flat mesh (a single
    quad, a decal) cannot move; a static one may be flat.
    """
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"{path.name!r} is not a mesh file; use one of {', '.join(MESH_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name!r} is an empty file (0 bytes); export the mesh again")
    mesh = load_triangle_mesh(path)
    if len(mesh.faces) == 0:
        raise ValueError(f"{path.name!r} has no triangles; export the mesh with faces")
    if dynamic and _hull_volume(mesh) <= 1e-12:
        raise ValueError(f"{path.name!r} is flat (its convex hull has no volume), so it has no mass; make the object static or use a closed mesh")


def _hull_volume(mesh) -> float:
    """Volume of the mesh's convex hull, m^3 in file units; 0 for a flat or degenerate mesh."""
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # flat hulls divide by a zero volume
            volume = float(mesh.convex_hull.volume)
    except Exception:  # qhull refuses coplanar points: the mesh is flat
        return 0.0
    return volume if np.isfinite(volume) else 0.0


def load_triangle_mesh(path: Path):
    """Load `path` as one trimesh.Trimesh (scenes are concatenated). Raises ValueError if it fails."""
    import trimesh

    try:
        loaded = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # trimesh raises many types for corrupt files
        raise ValueError(f"{path.name!r} could not be read as a mesh ({type(exc).__name__}: {exc}); check the file") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(getattr(loaded, "vertices", ())) == 0:
        raise ValueError(
            f"{path.name!r} holds no triangle mesh: no vertices could be read; export it again as {path.suffix.lstrip('.').upper()} with faces"
        )
    return loaded


ONE_DOF_URDF_JOINTS = ("revolute", "continuous", "prismatic")
"""URDF joint types that take one value (rad or m): pybullet's revolute and prismatic joints."""


def urdf_names(path: Path) -> tuple[dict[str, str], list[str]]:
    """(joint name -> URDF joint type, link names with the base link first) read from the URDF's XML.

    Raises ValueError when the file is not a URDF.
    """
    try:
        # Some shipped URDFs (pybullet_data's humanoid) end in a NUL byte, which pybullet ignores.
        root = ElementTree.fromstring(path.read_bytes().rstrip(b"\x00 \t\r\n"))
    except (ElementTree.ParseError, OSError) as exc:
        raise ValueError(f"{path.name!r} is not readable URDF XML ({exc}); check the file") from None
    if root.tag != "robot":
        raise ValueError(f"{path.name!r} is not a URDF (its root element is <{root.tag}>, not <robot>); check the file")
    joints = {j.get("name", ""): j.get("type", "") for j in root.findall("joint")}
    links = [link.get("name", "") for link in root.findall("link")]
    children = {c.get("link") for j in root.findall("joint") for c in j.findall("child")}
    bases = [name for name in links if name not in children]
    return joints, bases[:1] + [name for name in links if name in children]

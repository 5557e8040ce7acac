"""Resolving and checking files a scene refers to (meshes, URDFs)."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from .references import check_references
from .types import MAX_MAGNITUDE

MESH_SUFFIXES = (".obj", ".stl", ".glb", ".gltf", ".ply")
MAX_MESH_FACES = 200_000
"""Triangles of one mesh file: V-HACD decomposes 200k in about a minute, and every copy of the
mesh is ray-cast each frame of the passes."""


def pybullet_data_dir() -> Path:
    import pybullet_data  # here, not at the top: the spec types load where pybullet is absent (training machines)

    return Path(pybullet_data.getDataPath())


def resolve_asset_path(file: str, scene_dir: Path, allow_pybullet_data: bool = False) -> Path:
    """Absolute path of `file`, which must lie inside `scene_dir` (or pybullet_data for URDFs).

    Raises ValueError with the fix in its message.
    """
    if "\x00" in file:
        raise ValueError(f"{file!r} holds a NUL character; give a path relative to the scene's folder")
    try:
        return _resolve(file, scene_dir, allow_pybullet_data)
    except OSError as exc:  # a name too long, a loop of links
        raise ValueError(f"{file[:60]!r} cannot be looked up ({exc.strerror or exc}); give a path relative to the scene's folder") from None


def _resolve(file: str, scene_dir: Path, allow_pybullet_data: bool) -> Path:
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


def asset_root(path: Path, scene_dir: Path) -> Path:
    """The folder every file `path` names must stay in: the scene's, or pybullet_data's for a URDF it ships."""
    scene_dir = scene_dir.resolve()
    return scene_dir if path.is_relative_to(scene_dir) else pybullet_data_dir().resolve()


def check_mesh_file(path: Path, root: Path, dynamic: bool = False, scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
                    decomposed: bool = False, shipped: bool = False) -> None:
    """Raise ValueError unless `path` loads as a triangle mesh; a `dynamic` one must enclose volume.

    The files it names (material libraries, textures, glTF buffers) must lie inside `root`; that
    is checked before trimesh opens any of them (sim/spec/references.py; `shipped`: a mesh of a
    pybullet_data URDF, which may name a material library it lacks). A moving mesh gets its
    mass and inertia from its collision hull at `scale` (as sim/geometry.py prepares it), so a
    flat mesh (a single quad, a decal), or one whose vertices merge at a tiny scale, cannot move;
    a static one may be flat, unless it is `decomposed` (V-HACD never finishes on a flat mesh).
    """
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"{path.name!r} is not a mesh file; use one of {', '.join(MESH_SUFFIXES)}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path.name!r} is an empty file (0 bytes); export the mesh again")
    check_references(path, root, shipped=shipped)
    mesh = load_triangle_mesh(path)
    if len(mesh.faces) == 0:
        raise ValueError(f"{path.name!r} has no triangles; export the mesh with faces")
    if len(mesh.faces) > MAX_MESH_FACES:
        raise ValueError(f"{path.name!r} has {len(mesh.faces):,} triangles, over the limit of {MAX_MESH_FACES:,}; simplify the mesh")
    if (dynamic or decomposed) and enclosed_hull(scaled_mesh(mesh, scale)) is None:
        scaled = "" if tuple(scale) == (1.0, 1.0, 1.0) else f" at scale {list(scale)}"
        if dynamic:
            raise ValueError(f"{path.name!r} is flat{scaled} (its convex hull has no volume), so it has no mass; "
                             "make the object static, use a closed mesh or a larger scale")
        raise ValueError(f"{path.name!r} is flat{scaled}, so it has no volume to decompose; use collision: convex_hull")


def scaled_mesh(mesh, scale: tuple[float, float, float]):
    """`mesh` with its vertices scaled per axis, merged again (as pybullet and the renderer get it)."""
    import trimesh

    return trimesh.Trimesh(vertices=np.asarray(mesh.vertices, dtype=float) * np.asarray(scale, dtype=float), faces=mesh.faces, process=True)


def enclosed_hull(mesh):
    """The convex hull of `mesh` if it encloses volume, else None (a flat or degenerate mesh)."""
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # flat hulls divide by a zero volume
            hull = mesh.convex_hull
            volume = float(hull.volume)
    except Exception:  # qhull refuses coplanar points: the mesh is flat
        return None
    extent = float(np.max(mesh.extents)) if len(mesh.vertices) else 0.0
    # relative to the mesh's size: float noise gives a flat mesh a volume of ~1e-17 extent^3
    return hull if np.isfinite(volume) and volume > 1e-9 * extent**3 else None


def load_triangle_mesh(path: Path):
    """Load `path` as one trimesh.Trimesh (scenes are concatenated). Raises ValueError if it fails."""
    import trimesh

    try:
        loaded = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # trimesh raises many types for corrupt files
        reason = str(exc).replace("; ", ", ")[:200]  # "; " would split the message from its hint
        raise ValueError(f"{path.name!r} could not be read as a mesh ({type(exc).__name__}: {reason}); check the file") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(getattr(loaded, "vertices", ())) == 0:
        raise ValueError(
            f"{path.name!r} holds no triangle mesh: no vertices could be read; export it again as {path.suffix.lstrip('.').upper()} with faces"
        )
    vertices = np.asarray(loaded.vertices, dtype=float)
    if not np.all(np.abs(vertices) <= MAX_MAGNITUDE):  # false for nan too
        raise ValueError(f"{path.name!r} has vertex coordinates that are not finite numbers within +-{MAX_MAGNITUDE:g}; export it again")
    return loaded


ONE_DOF_URDF_JOINTS = ("revolute", "continuous", "prismatic")
"""URDF joint types that take one value (rad or m): pybullet's revolute and prismatic joints."""


def urdf_names(path: Path) -> tuple[dict[str, str], list[str]]:
    """(joint name -> URDF joint type, link names with the base link first) read from the URDF's XML.

    Raises ValueError when the file is not a URDF.
    """
    try:
        # Some shipped URDFs end in a NUL byte or start with blank lines, which pybullet ignores.
        root = ElementTree.fromstring(path.read_bytes().strip(b"\x00 \t\r\n"))
    except (ElementTree.ParseError, OSError) as exc:
        raise ValueError(f"{path.name!r} is not readable URDF XML ({exc}); check the file") from None
    if root.tag != "robot":
        raise ValueError(f"{path.name!r} is not a URDF (its root element is <{root.tag}>, not <robot>); check the file")
    joints = {j.get("name", ""): j.get("type", "") for j in root.findall("joint")}
    links = [link.get("name", "") for link in root.findall("link")]
    children = {c.get("link") for j in root.findall("joint") for c in j.findall("child")}
    bases = [name for name in links if name not in children]
    return joints, bases[:1] + [name for name in links if name in children]

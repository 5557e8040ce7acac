"""The files an asset file names, confined to the folder its scene may read.

A URDF names meshes and textures (`<mesh filename=...>`, `<texture filename=...>`), an OBJ its
material libraries (`mtllib`), a material library its texture maps, a glTF or GLB its buffers and
images (`uri`), a PLY a texture (`comment TextureFile`). pybullet and trimesh open them relative
to the file that names them, and pybullet, when a name is not there, goes on to try every parent
folder, the working directory and the name as an absolute path. So the one rule, checked by
`check_references` before either library opens anything: every named file is a relative path
that exists, as a file, inside `root` (the scene's folder, or pybullet_data for a URDF it ships).

One exception, for pybullet_data's own files only (`shipped`): an OBJ there may name a material
library it lacks, and a material library a texture it lacks (cube.obj names cube.mtl, plane.mtl
names cube.tga). trimesh looks for those only beside the file that names them, pybullet also in
the working directory, which sim/urdf_folder.py makes the URDF's folder while pybullet loads it
(strace: failed opens there, nothing else), so the name must still stay inside pybullet_data, but
a missing one is skipped. A missing URDF mesh stays an error everywhere: pybullet searches every
parent folder for it.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

MAX_REFERENCED_FILES = 1000
"""Files one asset may name, transitively: a URDF of a few hundred links names a few hundred meshes."""
MAX_ASSET_BYTES = 100_000_000
"""Size of any asset file: a detailed scanned mesh is tens of MB; trimesh holds several copies in memory."""
_URDF_PREFIXES = ("package://", "model://", "file://")
"""Prefixes pybullet strips from a URDF's file names before searching for them."""
_MTL_MAPS = ("map_", "bump", "disp", "decal", "refl", "norm")
"""Material-library statements that name a texture (its last word)."""
_SEARCHED_BESIDE_ONLY = (".obj", ".mtl")
"""Files whose named files (material libraries, textures) their readers look for only beside them."""


def check_references(path: Path, root: Path, shipped: bool = False) -> list[Path]:
    """Every file `path` names, transitively, in the order found; ValueError naming the first
    name that is absolute, leaves `root`, or is not a file there (`shipped`: pybullet_data's own
    files, whose OBJ and material libraries may name files they lack; see the module's doc)."""
    root = root.resolve()
    found: list[Path] = []
    todo = [path]
    while todo:
        current = todo.pop(0)
        if current.stat().st_size > MAX_ASSET_BYTES:
            raise ValueError(f"{current.name!r} is over {MAX_ASSET_BYTES / 1e6:g} MB; simplify or compress it")
        for name in named_files(current):
            target = _confined(name, current, root, missing_ok=shipped and current.suffix.lower() in _SEARCHED_BESIDE_ONLY)
            if target is None:
                continue
            if target not in found:
                found.append(target)
                todo.append(target)
            if len(found) > MAX_REFERENCED_FILES:
                raise ValueError(f"{path.name!r} names more than {MAX_REFERENCED_FILES} files; simplify the asset")
    return found


def named_files(path: Path) -> list[str]:
    """The file names `path` holds, as written (after a URDF's package:// prefix), by its suffix."""
    reader = _READERS.get(path.suffix.lower())
    return reader(path) if reader else []


def _confined(name: str, named_by: Path, root: Path, missing_ok: bool = False) -> Path | None:
    shown = f"{name!r} (named in {named_by.name!r})"
    if not name.strip() or "\x00" in name:
        raise ValueError(f"{shown} is not a file name; name a file beside it")
    # A Windows path is refused everywhere, so a scene behaves alike on every system; in pybullet_data's
    # own material libraries (franka_panda's link6.mtl names D:\\dev\\...) it is, here, one missing name beside them.
    windows_absolute = name.startswith("\\") or (len(name) > 1 and name[1] == ":")
    if Path(name).is_absolute() or (windows_absolute and not missing_ok):
        raise ValueError(f"{shown} is an absolute path; name files by paths relative to the file that names them")
    try:
        target = (named_by.parent / name).resolve()
        if not target.is_relative_to(root):
            raise ValueError(f"{shown} leaves the folder {root}; keep every file an asset names inside it")
        if not target.is_file():
            if missing_ok and not target.exists():
                return None
            raise ValueError(f"{shown} does not exist beside it; add the file or remove the reference")
    except OSError as exc:  # a name too long, a loop of links
        raise ValueError(f"{shown[:120]} cannot be looked up ({exc.strerror or exc}); name a file beside it") from None
    return target


def _urdf(path: Path) -> list[str]:
    try:
        # Some shipped URDFs end in a NUL byte or start with blank lines, which pybullet ignores.
        root = ElementTree.fromstring(path.read_bytes().strip(b"\x00 \t\r\n"))
    except (ElementTree.ParseError, OSError) as exc:
        raise ValueError(f"{path.name!r} is not readable URDF XML ({exc}); check the file") from None
    names = []
    for element in root.iter():
        if element.tag in ("mesh", "texture") and element.get("filename") is not None:
            name = element.get("filename", "")
            for prefix in _URDF_PREFIXES:
                name = name.removeprefix(prefix)
            names.append(name)
    return names


def _obj(path: Path) -> list[str]:
    # Every `mtllib` in the text, even in a comment: trimesh takes the first one anywhere.
    names = []
    for match in re.finditer(rb"mtllib([^\n]*)", path.read_bytes()):
        name = match.group(1).decode("utf-8", "replace").strip()
        if not name:  # the word alone (in a comment): no reader opens anything for it
            continue
        if any(c.isspace() for c in name):  # pybullet reads one name per word, trimesh the whole rest
            raise ValueError(f"{path.name!r}: 'mtllib {name}' names a file with spaces, which pybullet and trimesh read differently; rename it")
        names.append(name)
    return names


def _mtl(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower().startswith(_MTL_MAPS):
            names.append(words[-1])
    return names


def _gltf_uris(tree: object, path: Path) -> list[str]:
    if not isinstance(tree, dict):
        raise ValueError(f"{path.name!r} is not a glTF file (its JSON is not an object); export it again")
    names = []
    for section in ("buffers", "images"):
        items = tree.get(section) or []
        for item in items if isinstance(items, list) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                names.append(uri)
            elif uri is not None and not isinstance(uri, str):
                raise ValueError(f"{path.name!r}: a uri of its {section} is not text; export it again")
    return names


def _gltf(path: Path) -> list[str]:
    try:
        tree = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise ValueError(f"{path.name!r} is not a glTF file (not JSON); export it again") from None
    return _gltf_uris(tree, path)


def _glb(path: Path) -> list[str]:
    """A GLB's first chunk is its JSON (glTF 2.0 binary container: 12-byte header, then chunks)."""
    with open(path, "rb") as handle:
        head = handle.read(20)
        if len(head) < 20 or head[:4] != b"glTF":
            raise ValueError(f"{path.name!r} is not a GLB file (no glTF header); export it again")
        length, kind = struct.unpack("<II", head[12:20])
        if kind != 0x4E4F534A or length > path.stat().st_size:  # 'JSON'
            raise ValueError(f"{path.name!r} is not a GLB file (its first chunk is not JSON); export it again")
        try:
            tree = json.loads(handle.read(length))
        except (ValueError, RecursionError):
            raise ValueError(f"{path.name!r} is not a GLB file (its JSON chunk does not parse); export it again") from None
    return _gltf_uris(tree, path)


def _ply(path: Path) -> list[str]:
    """trimesh reads a texture named by a `comment TextureFile NAME` line of a PLY header."""
    names = []
    with open(path, "rb") as handle:
        for _ in range(10_000):
            line = handle.readline().decode("ascii", "replace").strip()
            if not line or line == "end_header":
                break
            words = line.split(None, 2)
            if len(words) == 3 and words[0] == "comment" and words[1].lower() == "texturefile":
                names.append(words[2])
    return names


_READERS = {".urdf": _urdf, ".obj": _obj, ".mtl": _mtl, ".gltf": _gltf, ".glb": _glb, ".ply": _ply}

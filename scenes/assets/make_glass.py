"""Generate scenes/assets/glass.obj, the drinking glass of the water_pour scene (committed).

    python scenes/assets/make_glass.py

A closed (watertight) surface of revolution: outer radius 4 cm, height 10 cm, walls 4 mm thick
and an 8 mm base, revolved from its profile about Z in 48 sections. Like make_assets.py's meshes,
its origin is its centre of mass (uniform density); the file's header comment states the height
of the centre of mass above the glass's bottom, which a scene uses to stand it on a surface.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

HERE = Path(__file__).resolve().parent
OUTER_RADIUS = 0.04
HEIGHT = 0.10
WALL = 0.004
BASE = 0.008
SECTIONS = 48


def glass() -> trimesh.Trimesh:
    """The glass with its bottom at z = 0 (before centring on its centre of mass)."""
    inner = OUTER_RADIUS - WALL
    # (radius, z) profile from the axis under the base, round the outside, over the rim, down the
    # inside, to the axis on the inner floor; revolve closes it at the axis.
    profile = np.array([[0.0, 0.0], [OUTER_RADIUS, 0.0], [OUTER_RADIUS, HEIGHT], [inner, HEIGHT], [inner, BASE], [0.0, BASE]])
    return trimesh.creation.revolve(profile, sections=SECTIONS)


def main() -> None:
    mesh = glass()
    assert mesh.is_watertight and mesh.is_volume, "the glass must be a closed solid"
    com = mesh.center_mass.copy()
    mesh.apply_translation(-com)
    header = (
        f"# glass.obj: made by make_glass.py. Outer radius {OUTER_RADIUS} m, height {HEIGHT} m, wall {WALL} m,\n"
        f"# base {BASE} m. Origin at the centre of mass, {com[2]:.4f} m above the glass's bottom.\n"
    )
    text = trimesh.exchange.obj.export_obj(mesh, include_normals=False, include_texture=False, write_texture=False)
    (HERE / "glass.obj").write_text(header + text)
    print(f"glass.obj: {len(mesh.faces)} faces, centre of mass {com[2]:.4f} m above the bottom")


if __name__ == "__main__":
    main()

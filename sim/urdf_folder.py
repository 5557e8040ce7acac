"""Load a URDF with the working directory at its own folder, so pybullet reads only the files it names there.

pybullet looks for each mesh, material library and texture a URDF names relative to the working
directory first, before the URDF's folder: run from a folder holding an `m.obj` of its own, it
loads that file as the collision shape of a scene's URDF (measured: a 0.2 m box became 50 m).
sim/spec/references.py has checked that every name exists inside the URDF's root, so with the
working directory at the URDF's folder that first look finds the checked file and nothing else.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def in_urdf_folder(urdf: Path) -> Iterator[None]:
    """Make the URDF's folder the working directory for the block (loadURDF calls only; restored after)."""
    try:
        previous = os.getcwd()
    except FileNotFoundError:  # a deleted working directory holds nothing pybullet could find
        yield
        return
    os.chdir(Path(urdf).resolve().parent)
    try:
        yield
    finally:
        os.chdir(previous)

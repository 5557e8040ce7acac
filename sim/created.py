"""What creating one placed object in the world returns, for rigid objects (bodies.py) and URDFs (urdf.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .records import Part


@dataclass(frozen=True)
class CreatedBody:
    """The pybullet body of one placed object and its parts (seg ids already given)."""

    body_id: int
    parts: list[Part]
    mass: float
    links: tuple[int, ...] = ()
    link_names: tuple[str, ...] = ()
    base_link_name: str | None = None
    joints: dict[str, tuple[int, int]] | None = None

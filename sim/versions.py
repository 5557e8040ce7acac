"""Versions of physreel and the libraries that shape its output (for meta.json)."""

from __future__ import annotations

from importlib import metadata


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """physreel, pybullet, numpy, trimesh, torch, diffusers versions, read without importing them."""
    return {name: package_version(name) for name in ("physreel", "pybullet", "numpy", "trimesh", "torch", "diffusers")}

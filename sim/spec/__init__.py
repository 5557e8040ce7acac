"""The scene spec: YAML in, one frozen, validated `Scene` out."""

from .errors import SimulationError, SpecError, SpecIssue
from .load import Scene, load_scene, scene_from_data
from .model import SceneSpec

__all__ = ["Scene", "SceneSpec", "SimulationError", "SpecError", "SpecIssue", "load_scene", "scene_from_data"]

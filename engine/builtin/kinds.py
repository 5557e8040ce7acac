"""The control kinds the builtin model reads, in its channel order, and the image channels each
kind fills. Fixed by the trained weights (builtin.json records them); torch-free, so the backend
can name its controls without importing torch."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from physreel.sim.spec.types import ControlKind

CONTROL_KINDS: tuple[ControlKind, ...] = ("depth", "normal", "edges", "flow", "seg", "albedo")
KIND_CHANNELS: dict[ControlKind, int] = {"depth": 1, "normal": 3, "edges": 1, "flow": 3, "seg": 3, "albedo": 3}
V1_CONTROL_KINDS: tuple[ControlKind, ...] = ("depth", "normal", "edges", "flow", "seg")
"""What v1 read: a builtin.json written before it recorded its kinds holds these."""
CONTROL_OPTIONS: Mapping[ControlKind, Mapping[str, Any]] = MappingProxyType({
    "depth": MappingProxyType({"scope": "shot", "far_at_infinity": True, "rounding": "round"}),
    "flow": MappingProxyType({"scope": "shot"}),
    "seg": MappingProxyType({"classes": "instance"}),
    "edges": MappingProxyType({"method": "canny"}),
})
"""The `conditioning.control.control_image` options of the images the model was trained on (its
dataset draws them so, and the backend feeds them so): depth over the shot with the far end at
infinity, flow over the shot, a seg colour per instance, Canny edges on the depth and normal images."""


def num_control_channels(kinds: tuple[str, ...]) -> int:
    """Control channels of a model reading `kinds`: each kind's image channels, then one flag per kind."""
    return sum(KIND_CHANNELS[k] for k in kinds) + len(kinds)


def input_channel_names(kinds: tuple[str, ...]) -> list[str]:
    """The name of every input channel of a model reading `kinds`, before pixel-unshuffling: the noisy
    frame's r, g, b, each kind's image channels ("seg:0".."seg:2"), then each kind's flag ("seg:flag").
    Lets a model for more kinds start from one for fewer (train --init) channel by channel."""
    names = ["noisy:r", "noisy:g", "noisy:b"]
    names += [f"{kind}:{channel}" for kind in kinds for channel in range(KIND_CHANNELS[kind])]
    return names + [f"{kind}:flag" for kind in kinds]

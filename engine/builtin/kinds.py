"""The control kinds the builtin model reads, in its channel order, and the image channels each
kind fills. Fixed by the trained weights; torch-free, so the backend can name its controls
without importing torch."""

from __future__ import annotations

from physreel.sim.spec.types import ControlKind

CONTROL_KINDS: tuple[ControlKind, ...] = ("depth", "normal", "edges", "flow", "seg")
KIND_CHANNELS: dict[ControlKind, int] = {"depth": 1, "normal": 3, "edges": 1, "flow": 3, "seg": 3}

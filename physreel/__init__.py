"""physreel: physics decides the motion, the diffusion model decides the look.

The stages, each a function from one frozen record to the next:

    scene = physreel.load_scene("scenes/bouncing_ball.yaml")   # YAML -> Scene (validated once)
    shot = physreel.simulate(scene)                             # Scene -> Shot (pybullet, particles)
    passes = physreel.render_passes(shot)                       # Shot -> Passes (depth, flow, seg, ...)

and the whole chain as one call, as `physreel render` and `physreel compare` run it:

    result = physreel.Pipeline()(scene, runs=("guided", "unguided"), score=True)
    result.takes[0].frames                                      # uint8 [T, H, W, 3]

The whole chain lives in physreel.sim (spec, simulation), physreel.conditioning (passes,
control images) and physreel.engine (backends, metrics, compare, CLI).

The names below are imported on first use (PEP 562), so `import physreel` is cheap and changes
nothing in the process; pybullet, for one, prints its build time from C when it is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_PUBLIC = {
    "Pipeline": "physreel.engine.pipeline",
    "load_scene": "physreel.sim.spec",
    "simulate": "physreel.sim.simulate",
    "render_passes": "physreel.conditioning.render",
}

__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:
    from physreel.conditioning.render import render_passes
    from physreel.engine.pipeline import Pipeline
    from physreel.sim.simulate import simulate
    from physreel.sim.spec import load_scene


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'physreel' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))

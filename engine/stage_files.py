"""What `physreel simulate`, `passes` and `render` write for one scene, from a Scene to a folder.

The commands and `physreel batch` call these, so a shot of a batch is byte for byte the shot
its command makes alone (compare's procedure is engine.compare.run_compare, called the same way).
Each function computes in memory first, so a bad spec or an unstable simulation writes nothing,
then writes inside `sim.files.output_folder` (every file complete under its name or absent).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physreel.conditioning.output import available_controls, write_passes
from physreel.conditioning.records import Passes
from physreel.conditioning.render import render_passes
from physreel.conditioning.video import write_mp4, write_png_sequence
from physreel.sim.files import output_folder, update_json
from physreel.sim.output import write_shot
from physreel.sim.records import Shot
from physreel.sim.simulate import simulate
from physreel.sim.spec import Scene
from physreel.sim.timing import recording, timed

from .pipeline import PipelineOutput, Take


def simulate_files(scene: Scene, out: Path, *, bars: bool = False) -> tuple[Shot, dict[str, float]]:
    """Simulate `scene` and write OUT/trajectory.npz and OUT/meta.json; (shot, wall seconds of the
    simulation, particles included)."""
    started = time.perf_counter()
    shot = simulate(scene, progress=bars)
    seconds = {"simulate": time.perf_counter() - started}
    with timed("encoding"), output_folder(out):
        write_shot(out, shot)
    return shot, seconds


@dataclass(frozen=True)
class PassesOptions:
    """The passes command's flags; the defaults are its defaults."""

    names: tuple[str, ...] | None = None
    """Passes to render (conditioning.records.PASS_NAMES); None: all."""
    resolution: tuple[int, int] | None = None
    """(width, height); None: the camera's."""
    flow_scope: str = "shot"
    """Normalisation of the flow colour wheel: 'shot' or 'frame'."""
    shadows: bool = True
    previews: bool = True


@dataclass(frozen=True)
class PassesRun:
    shot: Shot
    passes: Passes
    controls: dict[str, dict]
    """Control kind -> the options its images were made with."""
    seconds: dict[str, float]
    """Own wall seconds per stage (sim.timing): simulate, particles, passes, control images, encoding."""


def passes_files(scene: Scene, out: Path, options: PassesOptions = PassesOptions(), *, bars: bool = False) -> PassesRun:
    """Simulate and render the passes of `scene`; write trajectory.npz, meta.json, passes.npz,
    control/<kind>/%05d.png and preview/*.mp4 (conditioning.output.write_passes)."""
    with recording() as times:
        with timed("simulate"):
            shot = simulate(scene, progress=bars)
        with timed("passes"):
            passes = render_passes(shot, passes=None if options.names is None else list(options.names),
                                   resolution=options.resolution, progress=bars, shadows=options.shadows)
        controls = {kind: ({"scope": options.flow_scope} if kind == "flow" else {}) for kind in available_controls(passes)}
        with timed("encoding"), output_folder(out):
            write_shot(out, shot)
            write_passes(out, shot, passes, controls=controls, previews=options.previews)
    return PassesRun(shot, passes, controls, dict(times.wall))


def render_meta(result: PipelineOutput, take: Take) -> dict[str, Any]:
    """The `generate.<label>` section of meta.json for a take: the backend's record, the label and
    the pipeline's seconds per step."""
    return dict(take.meta, label=take.label, seconds={k: round(v, 3) for k, v in result.seconds.items()})


def write_outputs(out: Path, shot: Shot, take: Take, meta: dict) -> None:
    """OUT/trajectory.npz + meta.json (the shot), video/<label>.mp4, video/<label>/%05d.png, meta `generate.<label>`.

    The `generate` section keeps the other label's entry from an earlier run into the same OUT.
    """
    meta_path = out / "meta.json"
    previous = json.loads(meta_path.read_text()).get("generate", {}) if meta_path.is_file() else {}
    with timed("encoding"), output_folder(out):
        write_shot(out, shot)
        write_mp4(out / "video" / f"{take.label}.mp4", take.frames, take.fps)
        write_png_sequence(out / "video" / take.label, take.frames)
        update_json(meta_path, {"generate": {**previous, take.label: meta}})

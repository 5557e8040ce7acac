"""Load-time checks of emitters and fluid blocks that need the whole scene (names, files, counts).

`load_scene` runs `particle_issues` after validation, so a scene that names a missing object,
reuses a name, mixes liquids or would exhaust memory fails with a SpecError naming the emitter,
before any work starts. The per-field rules are the models' own, in sim/spec/particles.py.
"""

from __future__ import annotations

from pathlib import Path

from . import counts
from .assets import asset_root, check_mesh_file, resolve_asset_path
from .errors import SpecIssue
from .messages import field_path, nearest_mark
from .model import SceneSpec, expanded_names
from .particles import MAX_BALLISTIC_PARTICLES, MAX_FLUID_PARTICLES, MAX_PARTICLE_FRAMES
from .yaml_marks import Marks


def particle_issues(spec: SceneSpec, directory: Path, shown: str, marks: Marks) -> tuple[dict[str, Path], list[SpecIssue]]:
    """Cross-field checks of emitters and fluid blocks, run by `load_scene` after validation.

    Returns (assets, issues): assets maps 'emitter:NAME' to the resolved mesh file of a surface
    emitter; issues carry the line and column of the offending emitter or block.
    """
    issues: list[SpecIssue] = []
    assets: dict[str, Path] = {}
    duration = spec.shot.duration
    frames = spec.shot.num_frames

    def issue(path: tuple, problem: str) -> None:
        line, column = nearest_mark(path, marks)
        field = field_path(path)
        issues.append(SpecIssue(shown, line, column, field, problem))

    names = [e.name for e in spec.emitters] + [b.name for b in spec.fluid_blocks]
    objects = set(expanded_names(spec))
    seen: set[str] = set()
    for group, items in (("emitters", spec.emitters), ("fluid_blocks", spec.fluid_blocks)):
        for index, item in enumerate(items):
            if item.name in seen:
                issue((group, index, "name"), f"{item.name!r} names another emitter or fluid block; names must be unique")
            elif item.name in objects:
                issue((group, index, "name"), f"{item.name!r} is also an object's name; give the particles their own name")
            seen.add(item.name)

    fluids: list[tuple[tuple, object]] = []
    ballistic_total = fluid_total = 0
    for index, emitter in enumerate(spec.emitters):
        where = ("emitters", index)
        if emitter.start >= duration:
            issue(where + ("start",), f"start ({emitter.start} s) is not before the shot ends ({duration} s); emit earlier")
        if emitter.shape == "surface" and emitter.object is not None and emitter.object not in objects:
            issue(where + ("object",), f"{emitter.object!r} is not an object; objects: {', '.join(sorted(objects)) or 'none'}")
        if emitter.shape == "surface" and emitter.file is not None:
            try:
                path = resolve_asset_path(emitter.file, directory)
                check_mesh_file(path, asset_root(path, directory))
                assets[f"emitter:{emitter.name}"] = path
            except ValueError as exc:
                issue(where + ("file",), str(exc))
            except OSError as exc:
                issue(where + ("file",), f"{emitter.file!r} cannot be read ({exc.strerror or exc}); check its permissions")
        count = emitter.particle_count(duration)
        if emitter.kind == "fluid":
            fluid_total += count
            fluids.append((where, (emitter.particle_radius, emitter.fluid)))
        else:
            ballistic_total += count
    for index, block in enumerate(spec.fluid_blocks):
        fluid_total += block.particle_count()
        fluids.append((("fluid_blocks", index), (block.particle_radius, block.fluid)))

    if fluids:
        first_where, first = fluids[0]
        for where, material in fluids[1:]:
            if material != first:
                issue(where, "every fluid source of a scene shares one liquid: particle_radius and fluid must equal "
                      f"those of {'.'.join(map(str, first_where))}; make them the same")
    if ballistic_total > MAX_BALLISTIC_PARTICLES:
        issue(("emitters",), f"the ballistic emitters create {counts.shown(ballistic_total)} particles, over the limit of "
              f"{MAX_BALLISTIC_PARTICLES:,}; lower rate, burst or the emitting time")
    if fluid_total > MAX_FLUID_PARTICLES:
        where = ("fluid_blocks",) if spec.fluid_blocks else ("emitters",)
        issue(where, f"the fluid sources create {counts.shown(fluid_total)} particles, over the limit of {MAX_FLUID_PARTICLES:,}; "
              "use a larger particle_radius, smaller blocks or a lower rate")
    total = ballistic_total + fluid_total
    if total * (frames + 1) > MAX_PARTICLE_FRAMES and not issues:
        where = ("emitters",) if spec.emitters else ("fluid_blocks",)
        issue(where, f"{counts.shown(total)} particles x {frames + 1} frames = {counts.shown(total * (frames + 1))} particle-frames exceeds "
              f"the limit of {MAX_PARTICLE_FRAMES:,}; fewer particles or a shorter shot")
    return assets, issues


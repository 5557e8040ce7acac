"""render_passes: a Shot -> every conditioning pass, exact to the simulated geometry.

Procedure:
1. check the request (pass names, resolution) and scale the intrinsics to the resolution;
2. prepare the geometry sources: the rigid parts, and the particles when the shot has them;
3. for every frame (plus the one-past-the-end row when forward flow is wanted): each source
   renders a SurfaceLayer at the pixel centres, `composite` keeps the nearest surface, the sky
   fills the rest, the RGB preview is shaded from the composite, and flow_valid of the previous
   frame is decided against this one;
4. pose keypoints from the part poses, occlusion from the depth and seg passes;
5. return a Passes record holding the passes asked for.
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from physreel.sim.records import Shot
from physreel.sim.spec.ade20k import default_particle_semantic, default_semantic
from physreel.sim.spec.model import copy_suffixes
from physreel.sim.timing import timed

from .layers import LAYER_FIELDS, FrameView, SurfaceLayer, composite
from .particles import ParticleSource
from .pose import figure_keypoints
from .records import PASS_NAMES, Passes, SegEntry
from .rigid import RigidSource
from .shading import shade
from .sky import fill_sky
from .visibility import flow_visibility


def render_passes(
    shot: Shot,
    *,
    passes: Sequence[str] | None = None,
    resolution: tuple[int, int] | None = None,
    progress: bool = False,
    shadows: bool = True,
) -> Passes:
    """Render the passes of `shot` (all of PASS_NAMES by default) at pixel centres.

    passes: a subset of PASS_NAMES ('flow_valid' implies flow_fwd is computed; unrequested passes
    are None in the result). resolution: (width, height) overriding the camera's; K is scaled as
    an image resize would (fx by W'/W, fy by H'/H, principal point at the new centre).
    shadows: cast shadow rays for the RGB preview. Returns Passes with T = N rows.
    """
    # Per-pixel work here is [K, 3] @ [3, 3] products: a multi-threaded BLAS only adds thread
    # hand-off cost to those (measured 16x slower on 2 busy cores), so BLAS runs single-threaded.
    with threadpool_limits(limits=1, user_api="blas"):
        return _render_passes(shot, passes, resolution, progress, shadows)


def _render_passes(shot: Shot, passes, resolution, progress: bool, shadows: bool) -> Passes:
    # 1. check the request
    wanted = check_pass_names(passes)
    width, height, K = scaled_camera(shot, resolution)
    need_flow = bool(wanted & {"flow_fwd", "flow_bwd", "flow_valid"})
    need_shading = bool(wanted & {"normal", "albedo", "rgb"})
    # 2. prepare the sources and the outputs
    sources = geometry_sources(shot)
    rigid = sources[0]
    num_frames = shot.num_frames
    rows = num_frames + 1 if (wanted & {"flow_fwd", "flow_valid"}) else num_frames
    out = _allocate(wanted, num_frames, height, width)
    # 3. render every row; flow_valid of row t needs row t + 1, so keep one composite back. Each
    # row is composited straight into its slices of the outputs; the fields that are not outputs
    # live in two scratch layers used in turn (row t - 1's must survive while row t renders).
    scratch = [SurfaceLayer.empty(height, width), SurfaceLayer.empty(height, width)]
    previous: SurfaceLayer | None = None
    view: FrameView | None = None
    for frame in _progress(range(rows), progress, "passes"):
        # Row N (one past the end) only serves flow_valid of row N - 1: its depth and ids suffice.
        extra_row = frame == num_frames
        view = frame_view(shot, frame, width, height, K, need_flow and not extra_row, need_shading and not extra_row,
                          previous=view if frame else None)
        surface = render_frame(sources, view, into=_row_layer(out, frame, scratch[frame % 2]))
        if previous is not None and "flow_valid" in out:
            with timed("passes: flow_valid"):  # (--profile's sub-stages of the passes, sim.timing)
                out["flow_valid"][frame - 1] = flow_visibility(previous.flow_fwd, previous.depth_fwd, previous.seg,
                                                               surface.depth, surface.seg)
        if frame < num_frames:
            if "rgb" in out:
                occluded = partial(rigid.occluded, rigid.at(frame)) if shadows else None
                with timed("passes: shading"):
                    out["rgb"][frame] = shade(surface, view, occluded)
        previous = surface
    # 4. decode what needs the whole shot
    if "flow_bwd" in out:
        out["flow_bwd"][0] = 0.0  # CONVENTIONS: frame 0 has no previous frame
    if "pose" in wanted:
        out["pose"] = figure_keypoints(shot, K, shot.camera.world_to_camera[:num_frames], width, height, out["_depth"], out["_seg"])
    # 5. the record
    return Passes(
        fps=shot.fps,
        K=K,
        world_to_camera=np.asarray(shot.camera.world_to_camera[:num_frames], np.float64),
        id_table=id_table(shot),
        **{name: array for name, array in out.items() if not name.startswith("_")},
    )


def render_frame(sources: list, view: FrameView, into: SurfaceLayer | None = None) -> SurfaceLayer:
    """The composite of every source's layer for one frame, with the sky filled in where nothing is hit.

    into: optional EMPTY layer (`SurfaceLayer.empty` / `clear`) that receives the composite and is
    returned. It is offered to each source until one returns a layer (a source that covers nothing
    leaves it empty), so the first source that sees something renders straight into it, sparing a
    copy of every field.
    """
    layers = []
    for source in sources:
        with timed("passes: surfaces"):  # each source's layer, less its placing and rays (sim.timing)
            layer = source.layer(view, into=None if layers else into)
        if layer is not None:
            layers.append(layer)
    surface = composite(layers) if layers else (into if into is not None else SurfaceLayer.empty(view.height, view.width))
    if into is not None and surface is not into:
        into.clear()
        for name in LAYER_FIELDS:
            getattr(into, name)[...] = getattr(surface, name)
        into.emissive = surface.emissive
        surface = into
    with timed("passes: sky"):
        return fill_sky(surface, view)


def _row_layer(out: dict[str, np.ndarray], frame: int, scratch: SurfaceLayer) -> SurfaceLayer:
    """The empty layer row `frame` is composited into: views of the output arrays for the passes
    kept (depth and seg always, for pose), `scratch`'s arrays (cleared) for the rest and for row N.
    Output rows are still the zeros they were allocated as, so only their depth needs setting (inf)."""
    def field(name: str, key: str | None = None) -> np.ndarray:
        key = key or name
        return out[key][frame] if key in out and frame < len(out[key]) else getattr(scratch, name)

    layer = SurfaceLayer(depth=field("depth", "_depth"), seg=field("seg", "_seg"), normal=field("normal"),
                         albedo=field("albedo"), flow_fwd=field("flow_fwd"), flow_bwd=field("flow_bwd"),
                         depth_fwd=scratch.depth_fwd, depth_bwd=scratch.depth_bwd)
    layer.depth.fill(np.inf)
    for name in LAYER_FIELDS:
        if name != "depth" and getattr(layer, name) is getattr(scratch, name):
            getattr(layer, name).fill(np.inf if name.startswith("depth") else 0)
    return layer


def _allocate(wanted: set[str], frames: int, height: int, width: int) -> dict[str, np.ndarray]:
    """Output arrays of the wanted passes (T = N rows), plus depth/seg kept for pose (names starting with _)."""
    shapes = {"depth": ((), np.float32), "seg": ((), np.int32), "normal": ((3,), np.float32), "albedo": ((3,), np.float32), "flow_fwd": ((2,), np.float32),
              "flow_bwd": ((2,), np.float32), "flow_valid": ((), bool), "rgb": ((3,), np.uint8)}
    out = {name: np.zeros((frames, height, width) + tail, dtype) for name, (tail, dtype) in shapes.items() if name in wanted}
    out["_depth"] = out["depth"] if "depth" in out else np.zeros((frames, height, width), np.float32)
    out["_seg"] = out["seg"] if "seg" in out else np.zeros((frames, height, width), np.int32)
    return out


def check_pass_names(passes: Sequence[str] | None) -> set[str]:
    """The set of passes to compute; ValueError naming the unknown ones and the known ones."""
    if passes is None:
        return set(PASS_NAMES)
    if isinstance(passes, str):
        passes = [p for p in passes.split(",") if p]
    unknown = [p for p in passes if p not in PASS_NAMES]
    if unknown:
        raise ValueError(f"unknown pass {', '.join(map(repr, unknown))}; choose from {', '.join(PASS_NAMES)}")
    if not passes:
        raise ValueError(f"no pass asked for; choose from {', '.join(PASS_NAMES)}")
    return set(passes)


def scaled_camera(shot: Shot, resolution: tuple[int, int] | None) -> tuple[int, int, np.ndarray]:
    """(width, height, K) of the rendered images: the camera's, or K scaled to `resolution` (W', H')."""
    camera = shot.camera
    K = np.asarray(camera.K, np.float64)
    if resolution is None:
        return int(camera.width), int(camera.height), K.copy()
    new_width, new_height = (int(v) for v in resolution)
    if new_width < 1 or new_height < 1:
        raise ValueError(f"resolution must be positive (width, height), got {resolution}")
    scaled = K.copy()
    scaled[0, 0] *= new_width / camera.width
    scaled[1, 1] *= new_height / camera.height
    scaled[0, 2] = new_width / 2.0
    scaled[1, 2] = new_height / 2.0
    return new_width, new_height, scaled


def geometry_sources(shot: Shot) -> list:
    """The sources rendered into every pass: rigid parts first, then particles if the shot has any."""
    sources: list = [RigidSource(shot)]
    if shot.particles is not None and np.asarray(shot.particles.alive).any():
        sources.append(ParticleSource(shot))
    return sources


def frame_view(shot: Shot, frame: int, width: int, height: int, K: np.ndarray, need_flow: bool,
               need_shading: bool = True, previous: FrameView | None = None) -> FrameView:
    """The FrameView of one row: camera centre and the world directions through every pixel centre.

    previous: the view of an earlier row; when its camera rotation, K and size are the same
    (a camera that did not turn), its direction array is shared rather than recomputed, which
    also lets sources cache what they derive from it (compare with `is`)."""
    world_to_camera = np.asarray(shot.camera.world_to_camera, np.float64)
    rotation = world_to_camera[frame, :3, :3]
    origin = -rotation.T @ world_to_camera[frame, :3, 3]
    if (previous is not None and (previous.width, previous.height) == (width, height) and np.array_equal(previous.K, K)
            and np.array_equal(previous.world_to_camera[previous.frame, :3, :3], rotation)):
        directions = previous.directions
    else:
        xs = (np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]
        ys = (np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]
        camera_dirs = np.empty((height, width, 3))
        camera_dirs[..., 0] = xs[None, :]
        camera_dirs[..., 1] = ys[:, None]
        camera_dirs[..., 2] = 1.0
        directions = camera_dirs @ rotation
        directions.flags.writeable = False  # shared between rows
    return FrameView(frame=frame, width=width, height=height, K=K, world_to_camera=world_to_camera,
                     origin=origin, directions=directions, need_flow=need_flow, need_shading=need_shading)


def id_table(shot: Shot) -> tuple[SegEntry, ...]:
    """What each seg id stands for: parts, then particle emitters, each with its ADE20K class (the spec's
    `semantic` of its object or emitter, else the default by name and shape)."""
    spec = shot.scene.spec
    objects = {obj.name + suffix: obj for obj in spec.objects for suffix in copy_suffixes(obj)}
    sources = {source.name: source for source in (*spec.emitters, *spec.fluid_blocks)}
    entries = []
    for p in shot.parts:
        obj = objects.get(p.object_name)
        semantic = obj.semantic_class if obj is not None else default_semantic(p.object_name, p.shape)
        entries.append(SegEntry(seg_id=int(p.seg_id), name=p.name, object_name=p.object_name, link_name=p.link_name,
                                kind="part", semantic=semantic))
    if shot.particles is not None:
        for name, seg_id, kind in zip(shot.particles.emitter_names, shot.particles.emitter_seg_ids, shot.particles.emitter_kinds):
            source = sources.get(name)
            semantic = source.semantic_class if source is not None else default_particle_semantic(name, kind)
            entries.append(SegEntry(seg_id=int(seg_id), name=name, object_name=name, link_name=None, kind="particles",
                                    semantic=semantic))
    return tuple(entries)


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    return tqdm(iterable, desc=desc, unit="frame")

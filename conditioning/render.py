"""render_passes: a Shot -> every conditioning pass, exact to the simulated geometry.

Procedure:
1. check the request (pass names, resolution) and scale the intrinsics to the resolution;
2. prepare the geometry sources: the sky, the rigid parts, the particles when the shot has them;
3. for every frame (plus the one-past-the-end row when forward flow is wanted): each source
   renders a SurfaceLayer at the pixel centres, `composite` keeps the nearest surface, and the
   RGB preview is shaded from the composite;
4. flow_valid from the composites of consecutive frames, pose keypoints from the part poses;
5. return a Passes record holding the passes asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from sim.records import Shot

from .layers import FrameView, SurfaceLayer, composite
from .records import PASS_NAMES, Passes, SegEntry
from .rigid import RigidSource
from .shading import shade
from .sky import sky_layer
from .visibility import depth_slack, flow_visibility


@dataclass
class FrameSurfaces:
    """The composited layer of each rendered row (the passes' frames, plus row N for forward flow)."""

    layers: list[SurfaceLayer]
    views: list[FrameView]


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
    # 1. check the request
    wanted = check_pass_names(passes)
    width, height, K = scaled_camera(shot, resolution)
    need_flow = bool(wanted & {"flow_fwd", "flow_bwd", "flow_valid"})
    # 2. prepare the sources
    sources = geometry_sources(shot)
    rigid = sources[0]
    num_frames = shot.num_frames
    rows = num_frames + 1 if (wanted & {"flow_fwd", "flow_valid"}) else num_frames
    # 3. render every row
    surfaces = FrameSurfaces(layers=[], views=[])
    rgb = np.zeros((num_frames, height, width, 3), np.uint8) if "rgb" in wanted else None
    for frame in _progress(range(rows), progress, "passes"):
        view = frame_view(shot, frame, width, height, K, need_flow)
        layers = [sky_layer(view)] + [layer for layer in (s.layer(view) for s in sources) if layer is not None]
        surface = composite(layers)
        if rgb is not None and frame < num_frames:
            occluded = (lambda o, d, f=frame: rigid.occluded(f, o, d)) if shadows else None
            rgb[frame] = shade(surface, view, occluded)
        surfaces.layers.append(_trim(surface, wanted))
        surfaces.views.append(view)
    # 4. decode
    result = dict(
        fps=shot.fps,
        K=K,
        world_to_camera=np.asarray(shot.camera.world_to_camera[:num_frames], np.float64),
        id_table=id_table(shot),
    )
    frames = surfaces.layers[:num_frames]
    if "depth" in wanted:
        result["depth"] = np.stack([s.depth for s in frames]).astype(np.float32)
    if "seg" in wanted:
        result["seg"] = np.stack([s.seg for s in frames]).astype(np.int32)
    if "normal" in wanted:
        result["normal"] = np.stack([s.normal for s in frames]).astype(np.float32)
    if "flow_fwd" in wanted:
        result["flow_fwd"] = np.stack([s.flow_fwd for s in frames]).astype(np.float32)
    if "flow_bwd" in wanted:
        flow_bwd = np.stack([s.flow_bwd for s in frames]).astype(np.float32)
        flow_bwd[0] = 0.0  # CONVENTIONS: frame 0 has no previous frame
        result["flow_bwd"] = flow_bwd
    if "flow_valid" in wanted:
        result["flow_valid"] = forward_validity(surfaces.layers, num_frames)
    if "pose" in wanted:
        from .pose import figure_keypoints

        result["pose"] = figure_keypoints(shot, K, shot.camera.world_to_camera[:num_frames], width, height,
                                          np.stack([s.depth for s in frames]), np.stack([s.seg for s in frames]))
    if rgb is not None:
        result["rgb"] = rgb
    return Passes(**result)


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
        from .particles import ParticleSource  # the particle splatter (its own module)

        sources.append(ParticleSource(shot))
    return sources


def frame_view(shot: Shot, frame: int, width: int, height: int, K: np.ndarray, need_flow: bool) -> FrameView:
    """The FrameView of one row: camera centre and the world directions through every pixel centre."""
    world_to_camera = np.asarray(shot.camera.world_to_camera, np.float64)
    rotation = world_to_camera[frame, :3, :3]
    origin = -rotation.T @ world_to_camera[frame, :3, 3]
    xs = (np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]
    ys = (np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]
    camera_dirs = np.empty((height, width, 3))
    camera_dirs[..., 0] = xs[None, :]
    camera_dirs[..., 1] = ys[:, None]
    camera_dirs[..., 2] = 1.0
    return FrameView(frame=frame, width=width, height=height, K=K, world_to_camera=world_to_camera,
                     origin=origin, directions=camera_dirs @ rotation, need_flow=need_flow)


def forward_validity(layers: list[SurfaceLayer], num_frames: int) -> np.ndarray:
    """flow_valid bool [N, H, W] from the composites of rows 0..N (see visibility.py)."""
    valid = np.zeros((num_frames,) + layers[0].depth.shape, bool)
    for frame in range(num_frames):
        target = layers[frame + 1]
        valid[frame] = flow_visibility(layers[frame].flow_fwd, layers[frame].depth_fwd, layers[frame].seg,
                                       target.depth, target.seg, depth_slack(target.depth, target.seg))
    return valid


def backward_validity(layers: list[SurfaceLayer], num_frames: int) -> np.ndarray:
    """bool [N, H, W]: the point behind flow_bwd is visible in frame t - 1 (False at frame 0)."""
    valid = np.zeros((num_frames,) + layers[0].depth.shape, bool)
    for frame in range(1, num_frames):
        target = layers[frame - 1]
        valid[frame] = flow_visibility(layers[frame].flow_bwd, layers[frame].depth_bwd, layers[frame].seg,
                                       target.depth, target.seg)
    return valid


def render_surfaces(shot: Shot, resolution: tuple[int, int] | None = None) -> FrameSurfaces:
    """The composited layers of rows 0..N with flow (for tests and tools that need depth_fwd/bwd)."""
    width, height, K = scaled_camera(shot, resolution)
    sources = geometry_sources(shot)
    surfaces = FrameSurfaces(layers=[], views=[])
    for frame in range(shot.num_frames + 1):
        view = frame_view(shot, frame, width, height, K, True)
        layers = [sky_layer(view)] + [layer for layer in (s.layer(view) for s in sources) if layer is not None]
        surfaces.layers.append(composite(layers))
        surfaces.views.append(view)
    return surfaces


def id_table(shot: Shot) -> tuple[SegEntry, ...]:
    """What each seg id stands for: parts, then particle emitters."""
    entries = [SegEntry(seg_id=int(p.seg_id), name=p.name, object_name=p.object_name, link_name=p.link_name, kind="part")
               for p in shot.parts]
    if shot.particles is not None:
        for name, seg_id in zip(shot.particles.emitter_names, shot.particles.emitter_seg_ids):
            entries.append(SegEntry(seg_id=int(seg_id), name=name, object_name=name, link_name=None, kind="particles"))
    return tuple(entries)


def _trim(surface: SurfaceLayer, wanted: set[str]) -> SurfaceLayer:
    """Drop what no later step reads (albedo, the backward depth) to keep memory at ~40 B/pixel-frame."""
    surface.albedo = np.zeros((0,), np.float32)
    surface.depth_bwd = np.zeros((0,), np.float32)
    surface.emissive = None
    if not wanted & {"normal"}:
        surface.normal = np.zeros((0,), np.float32)
    return surface


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit="frame")

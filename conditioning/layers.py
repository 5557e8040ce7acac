"""Per-pixel surface layers: what one geometry source renders for one frame, and their z-composite.

Every geometry source (rigid meshes in `rigid.py`, particles, ...) renders a `SurfaceLayer` for
a frame from a `FrameView`; `composite` keeps, per pixel, the layer with the smallest planar
depth. Occlusion between sources is therefore exact at pixel centres, and `flow_valid` is
computed only after compositing (see `visibility.py`), so a particle hiding a box (or a box
hiding particles) makes the flow behind it invalid without either source knowing of the other.

The sky is not a layer: `sky.fill_sky` fills the pixels no source covers, after compositing.
A new source implements `layer(view: FrameView, into: SurfaceLayer | None = None) ->
SurfaceLayer | None` (None: it covers no pixel in this frame, and `into` is left untouched) and
fills every field below for the pixels it covers, leaving depth = inf elsewhere; `into`, when
given, is an empty layer to fill and return instead of allocating one. See docs/passes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FrameView:
    """The camera of one frame, as every geometry source sees it.

    Directions are world vectors through each pixel CENTRE (j + 0.5, i + 0.5), scaled so their
    camera-axis z component is 1: the point origin + s * direction has planar depth s.
    """

    frame: int
    """Row index into the shot's trajectory and camera track."""
    width: int
    height: int
    K: np.ndarray
    """float64 [3, 3] intrinsics of the rendered resolution."""
    world_to_camera: np.ndarray
    """float64 [T, 4, 4] of the whole track (OpenCV axes), so sources can project into t - 1 and t + 1."""
    origin: np.ndarray
    """float64 [3] camera centre in the world at this frame, m."""
    directions: np.ndarray
    """float64 [H, W, 3] world ray directions, camera-z = 1."""
    need_flow: bool = True
    """Whether flow_fwd/flow_bwd/depth_fwd/depth_bwd are wanted (sources may leave them zero if not)."""
    need_shading: bool = True
    """Whether normal and albedo are wanted (sources may leave them zero if not)."""

    @property
    def has_next(self) -> bool:
        return self.frame + 1 < self.world_to_camera.shape[0]

    @property
    def has_prev(self) -> bool:
        return self.frame > 0


@dataclass
class SurfaceLayer:
    """What one source sees at every pixel centre of one frame. Pixels it does not cover: depth inf.

    All arrays are [H, W, ...]. Flow follows CONVENTIONS.md: the surface point seen at pixel
    centre p, projected into frame t + 1 (t - 1), minus p; zero where there is no such frame.
    """

    depth: np.ndarray
    """float32 [H, W], planar depth (camera z), m; inf where this source covers nothing."""
    seg: np.ndarray
    """int32 [H, W], instance id (0 where nothing)."""
    normal: np.ndarray
    """float32 [H, W, 3], unit normal in camera axes (OpenCV), facing the camera; zeros where nothing."""
    albedo: np.ndarray
    """float32 [H, W, 3], linear-light reflectance 0..1 (for the RGB preview)."""
    flow_fwd: np.ndarray
    """float32 [H, W, 2], pixels."""
    flow_bwd: np.ndarray
    """float32 [H, W, 2], pixels."""
    depth_fwd: np.ndarray
    """float32 [H, W], planar depth of the same surface point in frame t + 1's camera (inf: a point
    at infinity; <= 0: behind that camera). Used for occlusion tests of flow_fwd."""
    depth_bwd: np.ndarray
    """float32 [H, W], the same in frame t - 1's camera."""
    emissive: np.ndarray | None = None
    """bool [H, W], pixels shown unlit (the sky); None means none."""

    @classmethod
    def empty(cls, height: int, width: int) -> "SurfaceLayer":
        """A layer covering nothing."""
        return cls(
            depth=np.full((height, width), np.inf, np.float32),
            seg=np.zeros((height, width), np.int32),
            normal=np.zeros((height, width, 3), np.float32),
            albedo=np.zeros((height, width, 3), np.float32),
            flow_fwd=np.zeros((height, width, 2), np.float32),
            flow_bwd=np.zeros((height, width, 2), np.float32),
            depth_fwd=np.full((height, width), np.inf, np.float32),
            depth_bwd=np.full((height, width), np.inf, np.float32),
        )

    def clear(self) -> "SurfaceLayer":
        """Reset every field in place to what `empty` holds (covers nothing); returns self.

        Lets a renderer reuse one set of buffers per frame (or write straight into its outputs)
        instead of allocating and copying ~10 MB per 512x512 frame."""
        for name in ("depth", "depth_fwd", "depth_bwd"):
            getattr(self, name).fill(np.inf)
        for name in ("seg", "normal", "albedo", "flow_fwd", "flow_bwd"):
            getattr(self, name).fill(0)
        self.emissive = None
        return self

    @property
    def covered(self) -> np.ndarray:
        """bool [H, W]: the source sees a surface at finite depth here."""
        return np.isfinite(self.depth)


def scatter_rows(target: np.ndarray, index: np.ndarray, values) -> None:
    """target[index] = values for a C-contiguous [N, C] array (or [N]), as one copy of C-element records.

    Same result as numpy's fancy assignment (values are cast to target's dtype first), which for
    rows of 2-3 floats is 5-20x slower than copying each row as one opaque record."""
    if target.ndim == 1:
        target[index] = values
        return
    values = np.asarray(values, target.dtype)
    if values.ndim < 2:
        values = np.broadcast_to(values, (1, target.shape[1]))
    record = np.dtype((np.void, target.shape[1] * target.itemsize))
    rows = np.ascontiguousarray(values).view(record).reshape(-1)
    target.view(record).reshape(-1)[index] = rows if len(rows) != 1 else rows[0]


LAYER_FIELDS = ("depth", "seg", "normal", "albedo", "flow_fwd", "flow_bwd", "depth_fwd", "depth_bwd")


def composite(layers: list[SurfaceLayer]) -> SurfaceLayer:
    """Per-pixel nearest surface over `layers` (smallest depth wins; an earlier layer wins ties).

    The first layer's arrays are reused for the result (callers hand over fresh layers).
    """
    if not layers:
        raise ValueError("composite needs at least one layer")
    result = layers[0]
    for layer in layers[1:]:
        nearer = layer.depth < result.depth
        if not nearer.any():
            continue
        for name in LAYER_FIELDS:
            getattr(result, name)[nearer] = getattr(layer, name)[nearer]
        if layer.emissive is not None or result.emissive is not None:
            emissive = result.emissive if result.emissive is not None else np.zeros(nearer.shape, bool)
            emissive[nearer] = layer.emissive[nearer] if layer.emissive is not None else False
            result.emissive = emissive
    return result

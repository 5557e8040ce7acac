"""Control images: the passes turned into the 8-bit RGB frames pretrained ControlNets were trained on.

`control_image(passes, kind, **options) -> uint8 [T, H, W, 3]` for kind in CONTROL_KINDS. Each
kind's exact convention is in its function's docstring and in docs/passes.md.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from physreel.sim.spec.types import CONTROL_KINDS
from physreel.sim.timing import timed

from .palette import ADE20K_PALETTE
from .shading import linear_to_srgb8

MIN_FLOW_RADIUS_PX = 0.01
"""The flow colour wheel's radius is at least this many pixels: a still shot is white, not noise."""
SKY_ADE_CLASS = 2
"""ADE20K class index of 'sky' (palette colour [6, 230, 230]); seg id 0 (nothing) is drawn as sky."""


def control_image(passes, kind: str, **options) -> np.ndarray:
    """uint8 [T, H, W, 3] control frames of `kind` from a Passes record; options per kind (see below).

    Raises ValueError for an unknown kind, an unknown option, or a pass the Passes lacks.
    """
    if kind not in _MAKERS:
        raise ValueError(f"unknown control kind {kind!r}; choose from {', '.join(CONTROL_KINDS)}")
    maker = _MAKERS[kind]
    allowed = [name for name in inspect.signature(maker).parameters if name != "passes"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"control {kind!r} has no option {', '.join(unknown)}; its options: {', '.join(allowed) or 'none'}")
    with timed("control images"):  # a stage of --profile (sim.timing)
        return maker(passes, **options)


def _need(passes, name: str, kind: str) -> np.ndarray:
    array = getattr(passes, name)
    if array is None:
        raise ValueError(f"control {kind!r} needs the {name!r} pass, which was not rendered; add it to --passes")
    return array


# ----------------------------------------------------------------------------- depth
def depth_control(passes, near: float | None = None, far: float | None = None) -> np.ndarray:
    """Inverse depth normalised over the WHOLE shot, near = white, grey in 3 channels.

    value = clip((1/z - 1/far) / (1/near - 1/far), 0, 1) * 255, rounded. Defaults: `near` = the
    nearest depth anywhere in the shot, `far` = infinity (the sky is black, as in MiDaS maps).
    """
    depth = _need(passes, "depth", "depth").astype(np.float64)
    with np.errstate(divide="ignore"):
        inverse = np.where(np.isfinite(depth) & (depth > 0), 1.0 / depth, 0.0)
    inverse_far = 0.0 if far is None else 1.0 / float(far)
    inverse_near = float(inverse.max()) if near is None else 1.0 / float(near)
    if near is not None and far is not None and not 0 < near < far:
        raise ValueError(f"depth control needs 0 < near < far, got near={near}, far={far}")
    span = inverse_near - inverse_far
    value = np.zeros_like(inverse) if span <= 0 else np.clip((inverse - inverse_far) / span, 0.0, 1.0)
    grey = np.round(value * 255.0).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


# ------------------------------------------------------------------------------ flow
def flow_control(passes, scope: str = "shot", direction: str = "fwd", max_flow: float | None = None) -> np.ndarray:
    """Middlebury colour wheel (Baker et al. 2011, as RAFT's and flow_vis's flow_to_image):
    hue = direction, saturation = speed, white = still.

    The flow is divided by a radius: the largest flow magnitude over the whole shot (scope
    'shot', default: colours comparable across frames), over each frame (scope 'frame': the
    convention of single-image flow visualisations), or `max_flow` pixels if given; never less
    than MIN_FLOW_RADIUS_PX, so rounding-level motion of a still scene stays white.
    direction: 'fwd' (flow_fwd) or 'bwd' (flow_bwd).
    """
    if direction not in ("fwd", "bwd"):
        raise ValueError(f"flow control direction must be 'fwd' or 'bwd', got {direction!r}")
    if scope not in ("shot", "frame"):
        raise ValueError(f"flow control scope must be 'shot' or 'frame', got {scope!r}")
    flow = _need(passes, f"flow_{direction}", "flow").astype(np.float64)
    magnitude = np.hypot(flow[..., 0], flow[..., 1])
    if max_flow is not None:
        if max_flow <= 0:
            raise ValueError(f"flow control max_flow must be positive pixels, got {max_flow}")
        radius = np.full((len(flow), 1, 1), float(max_flow))
    elif scope == "shot":
        radius = np.full((len(flow), 1, 1), magnitude.max() if magnitude.size else 0.0)
    else:
        radius = magnitude.reshape(len(flow), -1).max(axis=1)[:, None, None]
    scale = 1.0 / np.maximum(radius, MIN_FLOW_RADIUS_PX)
    return flow_to_color(flow[..., 0] * scale, flow[..., 1] * scale)


def _color_wheel() -> np.ndarray:
    """The Middlebury colour wheel: 55 hues, float [55, 3] in 0..255 (RY 15, YG 6, GC 4, CB 11, BM 13, MR 6)."""
    segments = [(15, (255, None, 0), 1), (6, (None, 255, 0), 0), (4, (0, 255, None), 2),
                (11, (0, None, 255), 1), (13, (None, 0, 255), 0), (6, (255, 0, None), 2)]
    rows = []
    for index, (count, fixed, ramp_channel) in enumerate(segments):
        block = np.zeros((count, 3))
        ramp = np.floor(255.0 * np.arange(count) / count)
        for channel in range(3):
            block[:, channel] = fixed[channel] if fixed[channel] is not None else 0
        # Even segments ramp a channel up, odd segments ramp the previous colour's channel down.
        block[:, ramp_channel] = ramp if index % 2 == 0 else 255.0 - ramp
        rows.append(block)
    return np.concatenate(rows)


COLOR_WHEEL = _color_wheel()


def flow_to_color(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """uint8 [..., 3] RGB of normalised flow (u, v) (magnitude 1 = full saturation), Middlebury coding."""
    count = len(COLOR_WHEEL)
    radius = np.hypot(u, v)
    angle = np.arctan2(-v, -u) / np.pi
    position = (angle + 1.0) / 2.0 * (count - 1)
    k0 = np.floor(position).astype(np.int64)
    k1 = np.where(k0 + 1 == count, 0, k0 + 1)
    fraction = (position - k0)[..., None]
    color = (1 - fraction) * COLOR_WHEEL[k0] / 255.0 + fraction * COLOR_WHEEL[k1] / 255.0
    inside = (radius <= 1)[..., None]
    color = np.where(inside, 1 - radius[..., None] * (1 - color), color * 0.75)
    return np.round(255.0 * color).astype(np.uint8)  # rounded (RAFT floors): exact still flow stays 255


# ------------------------------------------------------------------------------- seg
def seg_control(passes, ade_classes: dict[int, int] | None = None) -> np.ndarray:
    """ADE20K-palette colours (the palette the seg ControlNet was trained on; conditioning/palette.py).

    seg id 0 (nothing) -> the 'sky' colour [6, 230, 230]. Seg id k >= 1 -> the colour of ADE20K
    class `ade_classes[k]` if given (e.g. {1: 3} draws id 1 as 'floor', {5: 12} id 5 as 'person'),
    else of class SEG_DEFAULT_CLASSES[(k - 1) % len]: the 150 classes in order, skipping sky.
    """
    seg = _need(passes, "seg", "seg")
    palette = np.array(ADE20K_PALETTE, np.uint8)
    default = np.array([c for c in range(len(palette)) if c != SKY_ADE_CLASS])
    top = int(seg.max()) if seg.size else 0
    table = np.zeros((top + 1, 3), np.uint8)
    table[0] = palette[SKY_ADE_CLASS]
    ids = np.arange(1, top + 1)
    table[1:] = palette[default[(ids - 1) % len(default)]]
    for seg_id, ade_class in (ade_classes or {}).items():
        if not 0 <= int(ade_class) < len(palette):
            raise ValueError(f"seg control ade_classes[{seg_id}] = {ade_class} is not an ADE20K class index (0..{len(palette) - 1})")
        if 0 <= int(seg_id) <= top:
            table[int(seg_id)] = palette[int(ade_class)]
    return table[seg]


def _quiet_import():
    """controlnet_aux registers models and warns loudly on import; none of that concerns its drawing helpers."""
    context = warnings.catch_warnings()

    class _Quiet:
        def __enter__(self):
            context.__enter__()
            warnings.simplefilter("ignore")

        def __exit__(self, *exc):
            return context.__exit__(*exc)

    return _Quiet()


# ---------------------------------------------------------------------------- normal
def normal_control(passes) -> np.ndarray:
    """The normalbae ControlNet convention: RGB = round(255 (1 - n) / 2) with n in OpenCV camera axes.

    That is R = left (+X_cv flipped), G = up, B = towards the viewer: a surface facing the camera
    is (128, 128, 255), a floor seen level is green-heavy, as NormalBaeDetector draws. Pixels
    that hit nothing get the facing-the-camera colour.
    """
    normal = _need(passes, "normal", "normal").astype(np.float64)
    empty = ~np.any(normal != 0, axis=-1)
    normal = np.where(empty[..., None], np.array([0.0, 0.0, -1.0]), normal)
    return np.round(255.0 * (1.0 - normal) / 2.0).clip(0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- edges
def edges_control(passes, low_threshold: int = 50, high_threshold: int = 100) -> np.ndarray:
    """White edges on black: OpenCV Canny on the shot-normalised inverse-depth image OR on the normal
    image (each of its 3 channels), thresholds on the 8-bit gradients; also every seg-id boundary
    when seg was rendered. Marks silhouettes (depth steps) and creases (normal steps)."""
    import cv2

    if not 0 <= low_threshold <= high_threshold:
        raise ValueError(f"edges control needs 0 <= low_threshold <= high_threshold, got {low_threshold}, {high_threshold}")
    depth_images = depth_control(passes)[..., 0]
    normal_images = normal_control(passes) if passes.normal is not None else None
    result = np.zeros(depth_images.shape, np.uint8)
    for frame in range(len(depth_images)):
        edges = cv2.Canny(depth_images[frame], low_threshold, high_threshold)
        if normal_images is not None:
            for channel in range(3):
                edges |= cv2.Canny(np.ascontiguousarray(normal_images[frame, ..., channel]), low_threshold, high_threshold)
        result[frame] = edges
    if passes.seg is not None:
        seg = passes.seg
        boundary = np.zeros(seg.shape, bool)
        boundary[:, :, 1:] |= seg[:, :, 1:] != seg[:, :, :-1]
        boundary[:, 1:, :] |= seg[:, 1:, :] != seg[:, :-1, :]
        result[boundary] = 255
    return np.repeat(result[..., None], 3, axis=-1)


# ------------------------------------------------------------------------------ pose
def pose_control(passes) -> np.ndarray:
    """OpenPose bodies drawn by controlnet_aux's own draw_bodypose (COCO-18 limbs and colours, stick
    width 4, black background); a keypoint with visibility 0 is left out with its limbs."""
    with _quiet_import():
        from controlnet_aux.open_pose.body import Keypoint
        from controlnet_aux.open_pose.util import draw_bodypose

    pose = _need(passes, "pose", "pose")
    width, height = passes.size
    frames = np.zeros((passes.num_frames, height, width, 3), np.uint8)
    for frame in range(passes.num_frames):
        canvas = frames[frame]
        for figure in pose[frame]:
            keypoints = [Keypoint(float(x) / width, float(y) / height) if visible > 0 else None for x, y, visible in figure]
            canvas = draw_bodypose(canvas, keypoints)
        frames[frame] = canvas
    return frames


# ---------------------------------------------------------------------------- albedo
def albedo_control(passes) -> np.ndarray:
    """The unlit base colour, sRGB-encoded: every surface in the colour (or texture) the spec gives
    it, with no shading and no shadows; particles in their emitter's colour; the sky in its own.

    Not a pretrained ControlNet's format: it is what a model that should paint each object in its
    named colour reads (the builtin model does); it is also the flat-colour "albedo/base colour"
    layer of render engines, for a user's own colour ControlNet or img2img input.
    """
    return linear_to_srgb8(_need(passes, "albedo", "albedo"))


_MAKERS = {"depth": depth_control, "flow": flow_control, "seg": seg_control, "normal": normal_control,
           "edges": edges_control, "pose": pose_control, "albedo": albedo_control}

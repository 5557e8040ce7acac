"""Control images: the passes turned into the 8-bit RGB frames pretrained ControlNets were trained on.

`control_image(passes, kind, **options) -> uint8 [T, H, W, 3]` for kind in CONTROL_KINDS. Each
kind's exact convention is in its function's docstring and in docs/passes.md.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from physreel.sim.spec.ade20k import ADE20K_INDEX, default_particle_semantic, default_semantic
from physreel.sim.spec.types import CONTROL_KINDS
from physreel.sim.timing import timed

from .geometry import CREASE_DEG
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
def depth_control(passes, scope: str = "frame", near: float | None = None, far: float | None = None,
                  far_at_infinity: bool = False, rounding: str = "floor") -> np.ndarray:
    """Inverse depth min-max normalised over each frame (scope 'frame', default) or the whole shot
    (scope 'shot'), near = white, grey in 3 channels.

    value = clip((1/z - 1/far) / (1/near - 1/far), 0, 1) * 255, floored (rounding 'floor': the uint8
    cast of the MiDaS annotators) or rounded ('round'). Defaults: `near` = the nearest depth, `far` =
    the farthest surface of the scope, the sky counting as infinitely far (1/z = 0); `far_at_infinity`
    fixes the far end at infinity (a far wall stays grey; the builtin model's convention). This is
    what ControlNet's and VACE's MiDaS annotators do to each frame's relative inverse depth
    (`depth -= min; depth /= max`); a scope with a single depth is black (theirs would divide by 0).
    """
    _check_choice("depth", "scope", scope, ("frame", "shot"))
    _check_choice("depth", "rounding", rounding, ("floor", "round"))
    if near is not None and far is not None and not 0 < near < far:
        raise ValueError(f"depth control needs 0 < near < far, got near={near}, far={far}")
    if far_at_infinity and far is not None:
        raise ValueError(f"depth control far={far} and far_at_infinity=True contradict each other; give one")
    depth = _need(passes, "depth", "depth").astype(np.float64)
    with np.errstate(divide="ignore"):
        inverse = np.where(np.isfinite(depth) & (depth > 0), 1.0 / depth, 0.0)
    axes = (1, 2) if scope == "frame" else (0, 1, 2)
    empty = inverse.size == 0
    inverse_near = (inverse.max(axis=axes, keepdims=True) if not empty else 0.0) if near is None else 1.0 / float(near)
    if far_at_infinity:
        inverse_far = 0.0
    else:
        inverse_far = (inverse.min(axis=axes, keepdims=True) if not empty else 0.0) if far is None else 1.0 / float(far)
    span = inverse_near - inverse_far
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(span > 0, np.clip((inverse - inverse_far) / np.where(span > 0, span, 1.0), 0.0, 1.0), 0.0)
    grey = _quantise(value * 255.0, rounding)
    return np.repeat(grey[..., None], 3, axis=-1)


def _quantise(levels: np.ndarray, rounding: str) -> np.ndarray:
    """uint8 of float levels in [0, 255]: floored (numpy's uint8 cast of a non-negative float, as the
    annotators write their maps) or rounded to the nearest level."""
    return (np.floor(levels) if rounding == "floor" else np.round(levels)).clip(0, 255).astype(np.uint8)


def _check_choice(kind: str, option: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{kind} control {option} must be one of {', '.join(map(repr, choices))}, got {value!r}")


# ------------------------------------------------------------------------------ flow
def flow_control(passes, scope: str = "shot", direction: str = "fwd", max_flow: float | None = None,
                 align: str = "source", rounding: str = "round") -> np.ndarray:
    """Middlebury colour wheel (Baker et al. 2011, as RAFT's and flow_vis's flow_to_image):
    hue = direction, saturation = speed, white = still.

    align: which motion frame t shows. 'source' (default): the flow leaving frame t (flow_fwd[t],
    t -> t+1; with direction 'bwd', flow_bwd[t], t -> t-1). 'target': the motion that arrives at
    frame t, t-1 -> t, as RAFT(frame t-1, frame t) gives it on frame t-1's pixels (flow_fwd[t-1]), and
    frame 0 repeats frame 1's image: VACE's FlowVisAnnotator (vace/annotators/flow.py) makes exactly
    that video (forward only).
    The flow is divided by a radius: the largest flow magnitude over the whole shot (scope
    'shot', default: colours comparable across frames), over each shown frame (scope 'frame': the
    convention of single-image flow visualisations, RAFT's flow_to_image), or `max_flow` pixels if
    given; never less than MIN_FLOW_RADIUS_PX, so rounding-level motion of a still scene stays white.
    direction: 'fwd' (flow_fwd) or 'bwd' (flow_bwd). rounding: 'round' (default) or 'floor' (RAFT's).
    """
    _check_choice("flow", "direction", direction, ("fwd", "bwd"))
    _check_choice("flow", "scope", scope, ("shot", "frame"))
    _check_choice("flow", "align", align, ("source", "target"))
    _check_choice("flow", "rounding", rounding, ("round", "floor"))
    if align == "target" and direction != "fwd":
        raise ValueError("flow control align='target' shows the forward motion t-1 -> t; use direction='fwd'")
    flow = _need(passes, f"flow_{direction}", "flow").astype(np.float64)
    if align == "target":
        flow = flow[np.maximum(np.arange(len(flow)) - 1, 0)]  # frame t shows t-1 -> t; frame 0 repeats frame 1
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
    return flow_to_color(flow[..., 0] * scale, flow[..., 1] * scale, rounding)


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


def flow_to_color(u: np.ndarray, v: np.ndarray, rounding: str = "round") -> np.ndarray:
    """uint8 [..., 3] RGB of normalised flow (u, v) (magnitude 1 = full saturation), Middlebury coding;
    levels rounded (exact still flow stays 255) or floored ('floor', as RAFT's flow_viz writes them).

    A stack of frames [T, H, W] is coloured a frame at a time: the same element-wise operations, but
    temporaries of one frame instead of the shot's (a 12-frame 512 x 512 shot's were 75 MB each, and
    faulting them in took most of the time: 112 -> 46 ms a frame at 512 x 512)."""
    u, v = np.asarray(u), np.asarray(v)
    if u.ndim >= 3:
        out = np.empty(u.shape + (3,), np.uint8)
        for frame in range(len(u)):
            out[frame] = _flow_to_color(u[frame], v[frame], rounding)
        return out
    return _flow_to_color(u, v, rounding)


def _flow_to_color(u: np.ndarray, v: np.ndarray, rounding: str) -> np.ndarray:
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
    return _quantise(255.0 * color, rounding)


# ------------------------------------------------------------------------------- seg
def seg_control(passes, classes: str = "semantic", ade_classes: dict[int, int] | None = None) -> np.ndarray:
    """ADE20K-palette colours (the palette the seg ControlNet was trained on; conditioning/palette.py).

    seg id 0 (nothing) -> the 'sky' colour [6, 230, 230]. classes 'semantic' (default): seg id k -> the
    colour of its id-table entry's ADE20K class (the spec's `semantic`, or its default by name and
    shape; sim/spec/ade20k.py), as ControlNet's seg annotator colours a class: the floor (3) is
    [80, 50, 50], a table (15) [255, 6, 82], a ball (119) [255, 0, 163]. classes 'instance': seg id k
    -> class (k - 1) mod 149 of the classes in order, skipping sky (a colour per instance; the builtin
    model was trained on these). `ade_classes` {seg id: class index} overrides single ids either way.
    """
    _check_choice("seg", "classes", classes, ("semantic", "instance"))
    seg = _need(passes, "seg", "seg")
    palette = np.array(ADE20K_PALETTE, np.uint8)
    top = max(int(seg.max()) if seg.size else 0, max((e.seg_id for e in passes.id_table), default=0))
    table = np.zeros((top + 1, 3), np.uint8)
    table[0] = palette[SKY_ADE_CLASS]
    if classes == "instance":
        default = np.array([c for c in range(len(palette)) if c != SKY_ADE_CLASS])
        ids = np.arange(1, top + 1)
        table[1:] = palette[default[(ids - 1) % len(default)]]
    else:
        unknown = sorted(set(np.unique(seg).tolist()) - {0} - {e.seg_id for e in passes.id_table})
        if unknown:
            raise ValueError(f"seg control classes='semantic' needs every seg id in the id table; ids {unknown} are not")
        for entry in passes.id_table:
            table[entry.seg_id] = palette[ADE20K_INDEX[seg_semantic(entry)]]
    for seg_id, ade_class in (ade_classes or {}).items():
        if not 0 <= int(ade_class) < len(palette):
            raise ValueError(f"seg control ade_classes[{seg_id}] = {ade_class} is not an ADE20K class index (0..{len(palette) - 1})")
        if 0 <= int(seg_id) <= top:
            table[int(seg_id)] = palette[int(ade_class)]
    return table[seg]


def seg_semantic(entry) -> str:
    """The ADE20K class name of an id-table entry: its own, else the default for its name (a particle
    entry by its kind's default, fluid -> water, as its spec is unknown here)."""
    if entry.semantic is not None:
        return entry.semantic
    if entry.kind == "particles":
        return default_particle_semantic(entry.object_name, "fluid")
    return default_semantic(entry.object_name, "mesh")


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
def edges_control(passes, method: str = "exact", crease_deg: float | None = None, texture_step: int | None = None,
                  depth_step: float | None = None, low_threshold: int | None = None,
                  high_threshold: int | None = None) -> np.ndarray:
    """White (255) 1-pixel lines on black, the format of the Canny ControlNet (and, inverted back to
    white-on-black as their pipelines feed them, of the lineart and soft-edge models).

    method 'exact' (default): every line the geometry and the textures make, decided between each
    pair of 4-neighbouring pixels from the passes (`exact_edges`): a different seg id (silhouettes and
    contacts), a depth break within one object (it hides part of itself), a crease (normals more than
    `crease_deg` apart, default the renderer's own 40 degrees, where the preview's shading jumps) and
    a texture line (the sRGB albedo jumps by `texture_step` 8-bit levels or more in a channel, default
    25: Canny's low threshold 100 over the Sobel operator's gain of 4 on a step). The line is drawn
    on the nearer pixel of the pair. Shadow edges of the preview are not lines here.
    method 'canny' (the builtin model's training convention): OpenCV Canny on the shot-normalised
    inverse-depth image and on each channel of the normal image, thresholds `low_threshold` /
    `high_threshold` (default 50 / 100), plus every seg-id boundary.
    """
    _check_choice("edges", "method", method, ("exact", "canny"))
    given = {"crease_deg": crease_deg, "texture_step": texture_step, "depth_step": depth_step,
             "low_threshold": low_threshold, "high_threshold": high_threshold}
    own = ("crease_deg", "texture_step", "depth_step") if method == "exact" else ("low_threshold", "high_threshold")
    foreign = [name for name, value in given.items() if value is not None and name not in own]
    if foreign:
        raise ValueError(f"edges control method={method!r} does not use {', '.join(foreign)}; its options: {', '.join(own)}")
    if method == "canny":
        return _canny_edges(passes, 50 if low_threshold is None else low_threshold, 100 if high_threshold is None else high_threshold)
    lines = exact_edges(passes, CREASE_DEG if crease_deg is None else crease_deg,
                        TEXTURE_STEP_LEVELS if texture_step is None else texture_step,
                        DEPTH_BREAK if depth_step is None else depth_step)
    return np.repeat((lines.astype(np.uint8) * 255)[..., None], 3, axis=-1)


TEXTURE_STEP_LEVELS = 25
"""sRGB 8-bit albedo step that makes a texture line: ControlNet's Canny annotator runs at thresholds
100/200 (gradio_canny.py) and OpenCV's 3x3 Sobel answers a straight step of h levels with a gradient
of 4 h (an oblique one with up to ~6 h in Canny's L1 norm), so a step of 25 levels is one Canny keeps
in a line (its low threshold) and from ~34 levels up one that starts lines; the exact edges draw
every step from the low threshold up (a wood floor's brown stripes, 38 levels, are lines in Canny
of the preview)."""
DEPTH_BREAK = 0.05
"""Relative depth mismatch between two neighbours of one object, each predicted from the other's
tangent plane, above which one hides the other (a pixel's footprint is ~1/f of its depth, far below)."""


def exact_edges(passes, crease_deg: float, texture_step: int, depth_step: float) -> np.ndarray:
    """bool [T, H, W]: the pixels that carry a line (see edges_control); vectorised over each frame.

    Needs depth; object outlines come from seg (without it, from depth breaks only), creases need the
    normal pass and texture lines the albedo pass (each family is left out when its pass was not
    rendered)."""
    if not 0 < crease_deg < 180:
        raise ValueError(f"edges control crease_deg must lie in (0, 180) degrees, got {crease_deg}")
    if not 0 < texture_step <= 255:
        raise ValueError(f"edges control texture_step must be 1..255 levels, got {texture_step}")
    if not depth_step > 0:
        raise ValueError(f"edges control depth_step must be positive, got {depth_step}")
    depth = _need(passes, "depth", "edges")
    # Without the seg pass every surface counts as one object (id 1) against the sky (0): outlines
    # between objects then come from their depth breaks.
    seg = passes.seg if passes.seg is not None else np.isfinite(depth).astype(np.int32)
    rays = _pixel_rays(passes) if passes.normal is not None else None
    lines = np.zeros(depth.shape, bool)
    # A frame at a time (as a [1, H, W] stack): the same element-wise steps with one frame's float64
    # temporaries instead of the shot's, which were most of the time (faulting them in).
    for frame in range(len(depth)):
        one = slice(frame, frame + 1)
        normal = passes.normal[one].astype(np.float64) if passes.normal is not None else None
        albedo = linear_to_srgb8(passes.albedo[one]).astype(np.int16) if passes.albedo is not None else None
        lines[one] = _frame_lines(depth[one].astype(np.float64), seg[one], normal, albedo, rays, crease_deg, texture_step,
                                  depth_step)
    return lines


def _frame_lines(depth, seg, normal, albedo, rays, crease_deg: float, texture_step: int, depth_step: float) -> np.ndarray:
    """bool [T, H, W] lines of exact_edges from float64 depth, seg, float64 normal or None, int16 sRGB
    albedo or None (all [T, H, W, ...]) and the pixel rays [H, W, 3] (None without normals)."""
    lines = np.zeros(depth.shape, bool)
    for axis in (2, 1):  # right-hand neighbours, then the ones below
        a = _side(axis, 0)
        b = _side(axis, 1)
        line = seg[a] != seg[b]
        same = ~line & (seg[a] != 0)
        broken = _depth_break(depth[a], depth[b], None if normal is None else normal[a], None if normal is None else normal[b],
                              None if rays is None else rays[a[1:]], None if rays is None else rays[b[1:]], depth_step)
        line |= same & broken
        smooth = same & ~broken
        if normal is not None:
            line |= smooth & (np.einsum("...i,...i->...", normal[a], normal[b]) < np.cos(np.radians(crease_deg)))
        if albedo is not None:
            line |= smooth & (np.abs(albedo[a] - albedo[b]).max(axis=-1) >= texture_step)
        # The line goes on the nearer pixel of the pair (the occluding side; ties on the first).
        nearer_a = depth[a] <= depth[b]
        lines[a] |= line & nearer_a
        lines[b] |= line & ~nearer_a
    return lines


def _side(axis: int, which: int) -> tuple:
    """Index of the first (which 0) or second (1) pixel of each neighbour pair along `axis` of [T, H, W, ...]."""
    index = [slice(None)] * 3
    index[axis] = slice(None, -1) if which == 0 else slice(1, None)
    return tuple(index)


def _pixel_rays(passes) -> np.ndarray:
    """float64 [H, W, 3]: the ray (x_n, y_n, 1) through each pixel centre (camera z 1)."""
    width, height = passes.size
    K = passes.K
    rays = np.ones((height, width, 3))
    rays[..., 0] = ((np.arange(width) + 0.5 - K[0, 2]) / K[0, 0])[None, :]
    rays[..., 1] = ((np.arange(height) + 0.5 - K[1, 2]) / K[1, 1])[:, None]
    return rays


def _depth_break(depth_a, depth_b, normal_a, normal_b, ray_a, ray_b, depth_step: float) -> np.ndarray:
    """bool: neighbours a and b do not lie on one continuous surface. With normals, each depth is
    predicted from the other's tangent plane (the plane through z r with normal n meets ray r' at
    z' = z (n . r) / (n . r')); a break is a mismatch above `depth_step` relative from both sides
    (one smooth side suffices: a crease seen with one face at a grazing angle is no break). Without
    normals, a relative depth step above `depth_step`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if normal_a is None:
            return np.abs(depth_a - depth_b) > depth_step * np.minimum(depth_a, depth_b)
        along_a = np.einsum("...i,...i->...", normal_a, ray_a * depth_a[..., None])
        along_b = np.einsum("...i,...i->...", normal_b, ray_b * depth_b[..., None])
        predicted_b = along_a / np.einsum("...i,...i->...", normal_a, np.broadcast_to(ray_b, normal_a.shape))
        predicted_a = along_b / np.einsum("...i,...i->...", normal_b, np.broadcast_to(ray_a, normal_b.shape))
        error_b = np.abs(predicted_b - depth_b) / depth_b
        error_a = np.abs(predicted_a - depth_a) / depth_a
        return ~(np.minimum(np.nan_to_num(error_a, nan=np.inf), np.nan_to_num(error_b, nan=np.inf)) <= depth_step)


def _canny_edges(passes, low_threshold: int, high_threshold: int) -> np.ndarray:
    """The builtin model's edges: Canny on the depth and normal control images, plus seg boundaries."""
    import cv2

    if not 0 <= low_threshold <= high_threshold:
        raise ValueError(f"edges control needs 0 <= low_threshold <= high_threshold, got {low_threshold}, {high_threshold}")
    depth_images = depth_control(passes, scope="shot", far_at_infinity=True, rounding="round")[..., 0]
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
def pose_control(passes, channel_order: str = "rgb") -> np.ndarray:
    """OpenPose bodies drawn by controlnet_aux's own draw_bodypose (COCO-18 limbs and colours, stick
    width 4, black background); a keypoint with visibility 0 is left out with its limbs.

    channel_order 'rgb' (default): the colours as listed (limb 0 red [255, 0, 0]), what ControlNet's
    OpenPose annotator returns. 'bgr': the same drawing with its channels reversed (limb 0 blue),
    what VACE's pose annotator returns (vace/annotators/pose.py reverses the drawn canvas,
    `detected_map_body[..., ::-1]`), and so what Wan VACE was trained to read.
    """
    _check_choice("pose", "channel_order", channel_order, ("rgb", "bgr"))
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
    return frames if channel_order == "rgb" else np.ascontiguousarray(frames[..., ::-1])


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

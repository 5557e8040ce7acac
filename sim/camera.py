"""The camera of a shot: pinhole intrinsics and per-frame extrinsics from the spec's camera path.

Conventions (CONVENTIONS.md): vertical field of view; pixel centres at (j + 0.5, i + 0.5);
principal point at (width / 2, height / 2); `world_to_camera` in OpenCV camera axes
(+X right, +Y down, +Z forward). World is Z up.

Paths (`CameraSpec.path_kind`):
- fixed: `position`, looking at `look_at`.
- keyframes: position and look_at interpolated in time, linear or smooth (Catmull-Rom through
  the keys with time-scaled tangents), held at the first key before it and the last key after it.
- orbit: azimuth a(t) from start_deg to end_deg linearly over the shot (t = 0 .. duration),
  degrees counter-clockwise from +X about +Z; the camera sits at
  center + (r cos a, r sin a, height) and looks at center.
- dolly: from start to end linearly over the shot, looking at look_at.
- follow: at the followed object's position + offset, looking at the object.
Every path uses the spec's `up` to fix the roll.
"""

from __future__ import annotations

import numpy as np

from .records import CameraTrack
from .spec.errors import SpecError
from .spec.model import CameraSpec

PARALLEL_UP_SINE = 1e-6
"""Below this |sin(angle)| between `up` and the view direction the roll is undefined."""


class CameraPoseError(SpecError):
    """A camera pose the spec makes undefined; `at` is the field's path below `camera` (e.g. ("up",)).

    Raised while the track is computed (a keyframe path can pass through a bad pose between its
    keys); the simulator re-raises it with the field's YAML line (Scene.spec_error).
    """

    def __init__(self, source: str, at: tuple, problem: str, hint: str):
        self.at, self.problem, self.hint = tuple(at), problem, hint
        super().__init__(SpecError.single(source, problem, field=".".join(("camera",) + self.at), hint=hint).issues)


def intrinsics(width: int, height: int, fov_deg: float) -> np.ndarray:
    """Pinhole K (float64 [3, 3], pixels) from the VERTICAL field of view: fy = (h/2) / tan(fov/2), fx = fy."""
    focal = (height / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def look_at_matrix(position: np.ndarray, target: np.ndarray, up: np.ndarray, source: str = "scene") -> np.ndarray:
    """world_to_camera (float64 [..., 4, 4], OpenCV axes) of cameras at `position` looking at `target`.

    position, target: [..., 3] metres; up: [3] or [..., 3]. Rows of the rotation are the camera's
    right (+X), down (+Y) and forward (+Z) axes in world coordinates.
    Raises SpecError when `up` is parallel to the view direction or position == target.
    """
    position, target = np.broadcast_arrays(np.asarray(position, float), np.asarray(target, float))
    up = np.broadcast_to(np.asarray(up, float), position.shape)
    view = target - position
    view_len = np.linalg.norm(view, axis=-1, keepdims=True)
    if np.any(view_len < 1e-12):
        raise CameraPoseError(source, ("look_at",), "the camera position equals the point it looks at", "move look_at away from the camera")
    forward = view / view_len
    right = np.cross(forward, up)
    right_len = np.linalg.norm(right, axis=-1, keepdims=True)
    up_len = np.linalg.norm(up, axis=-1, keepdims=True)
    if np.any(right_len < PARALLEL_UP_SINE * np.maximum(up_len, 1e-300)):
        raise CameraPoseError(
            source,
            ("up",),
            f"camera.up {tuple(float(c) for c in up.reshape(-1, 3)[0])} is parallel to the view direction, so the camera roll is undefined",
            "choose an up vector not along look_at - position (e.g. [0, 1, 0] for a top-down view)",
        )
    right = right / right_len
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward], axis=-2)
    matrix = np.zeros(position.shape[:-1] + (4, 4))
    matrix[..., :3, :3] = rotation
    matrix[..., :3, 3] = -np.einsum("...ij,...j->...i", rotation, position)
    matrix[..., 3, 3] = 1.0
    return matrix


def camera_track(
    camera: CameraSpec,
    t: np.ndarray,
    follow_positions: np.ndarray | None = None,
    *,
    duration: float | None = None,
    source: str = "scene",
) -> CameraTrack:
    """The camera at times `t` (float [T] seconds) as a CameraTrack.

    follow_positions: float [T, 3], world position of the followed object at each t (required for
    a follow path, ignored otherwise). duration: the length of the shot over which orbit and
    dolly paths run (default t[-1], which is the shot's duration when t has the N + 1 rows of a
    Shot). source: the scene file named in errors.
    """
    t = np.asarray(t, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"t must be a non-empty 1-D array of seconds, got shape {t.shape}")
    width, height = camera.resolution
    position, target = _path_positions(camera, t, follow_positions, duration, source)
    world_to_camera = look_at_matrix(position, target, np.asarray(camera.up, float), source)
    return CameraTrack(width=int(width), height=int(height), K=intrinsics(width, height, camera.fov_deg), world_to_camera=world_to_camera)


def _path_positions(camera, t, follow_positions, duration, source) -> tuple[np.ndarray, np.ndarray]:
    """Camera positions and look-at targets, float64 [T, 3] each."""
    kind = camera.path_kind
    count = len(t)
    if kind == "fixed":
        return np.tile(np.asarray(camera.position, float), (count, 1)), np.tile(np.asarray(camera.look_at, float), (count, 1))
    if kind == "keyframes":
        times = np.array([k.t for k in camera.keyframes], float)
        positions = np.array([k.position for k in camera.keyframes], float)
        targets = np.array([k.look_at for k in camera.keyframes], float)
        interpolate = _catmull_rom if camera.interpolation == "smooth" else _linear
        return interpolate(times, positions, t), interpolate(times, targets, t)
    fraction = _shot_fraction(t, duration)
    if kind == "orbit":
        orbit = camera.orbit
        azimuth = np.radians(orbit.start_deg + (orbit.end_deg - orbit.start_deg) * fraction)
        center = np.asarray(orbit.center, float)
        offset = np.stack([orbit.radius * np.cos(azimuth), orbit.radius * np.sin(azimuth), np.full(count, orbit.height)], axis=-1)
        return center + offset, np.tile(center, (count, 1))
    if kind == "dolly":
        dolly = camera.dolly
        start, end = np.asarray(dolly.start, float), np.asarray(dolly.end, float)
        return start + (end - start) * fraction[:, None], np.tile(np.asarray(dolly.look_at, float), (count, 1))
    if kind == "follow":
        if follow_positions is None:
            raise ValueError(f"camera.follow needs the followed object's positions ({camera.follow.object!r}); pass follow_positions [T, 3]")
        follow_positions = np.asarray(follow_positions, float)
        if follow_positions.shape != (count, 3):
            raise ValueError(f"follow_positions must have shape ({count}, 3) to match t, got {follow_positions.shape}")
        return follow_positions + np.asarray(camera.follow.offset, float), follow_positions.copy()
    raise ValueError(f"unknown camera path {kind!r}")


def _shot_fraction(t: np.ndarray, duration: float | None) -> np.ndarray:
    """Progress through the shot, t / duration (0 at the start, 1 at the end), float64 [T]."""
    duration = float(t[-1]) if duration is None else float(duration)
    if duration <= 0:
        return np.zeros_like(t)
    return t / duration


def _segment(times: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index k of the key interval [times[k], times[k+1]] holding each clamped t, and the local u in [0, 1]."""
    clamped = np.clip(t, times[0], times[-1])
    k = np.clip(np.searchsorted(times, clamped, side="right") - 1, 0, len(times) - 2)
    u = (clamped - times[k]) / (times[k + 1] - times[k])
    return k, u


def _linear(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation of values [K, 3] at times [K], clamped; returns [T, 3]."""
    k, u = _segment(times, t)
    return values[k] + (values[k + 1] - values[k]) * u[:, None]


def _catmull_rom(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cubic Hermite through the keys with Catmull-Rom tangents for non-uniform times, clamped.

    Tangent at key i: (v[i+1] - v[i-1]) / (t[i+1] - t[i-1]); one-sided at the ends. The curve
    passes through every key exactly and is C1.
    """
    k, u = _segment(times, t)
    tangents = np.empty_like(values)
    tangents[1:-1] = (values[2:] - values[:-2]) / (times[2:] - times[:-2])[:, None]
    tangents[0] = (values[1] - values[0]) / (times[1] - times[0])
    tangents[-1] = (values[-1] - values[-2]) / (times[-1] - times[-2])
    span = (times[k + 1] - times[k])[:, None]
    u = u[:, None]
    h00 = 2 * u**3 - 3 * u**2 + 1
    h10 = u**3 - 2 * u**2 + u
    h01 = -2 * u**3 + 3 * u**2
    h11 = u**3 - u**2
    return h00 * values[k] + h10 * span * tangents[k] + h01 * values[k + 1] + h11 * span * tangents[k + 1]


def project(points_world: np.ndarray, world_to_camera: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project world points [..., 3] (m) to pixels [..., 2] (x right, y down, OpenCV) and planar depth [...] (m).

    Points behind the camera get negative depth and mirrored pixels; callers mask on depth > 0.
    """
    points_world = np.asarray(points_world, float)
    rotation, translation = world_to_camera[:3, :3], world_to_camera[:3, 3]
    cam = points_world @ rotation.T + translation
    depth = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = K[0, 0] * cam[..., 0] / depth + K[0, 2]
        y = K[1, 1] * cam[..., 1] / depth + K[1, 2]
    return np.stack([x, y], axis=-1), depth


def pixel_rays(track: CameraTrack, frame: int, width: int | None = None, height: int | None = None,
               K: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """World rays through every pixel CENTRE of frame `frame`.

    Returns (origin float64 [3], directions float64 [H, W, 3]) where direction d at pixel (i, j)
    is scaled so that its camera-axis z component is 1: a hit at ray parameter s has planar depth s.
    width/height/K override the track's (for a resolution override).
    """
    width = track.width if width is None else width
    height = track.height if height is None else height
    K = track.K if K is None else K
    world_to_camera = track.world_to_camera[frame]
    rotation = world_to_camera[:3, :3]
    origin = -rotation.T @ world_to_camera[:3, 3]
    xs = (np.arange(width) + 0.5 - K[0, 2]) / K[0, 0]
    ys = (np.arange(height) + 0.5 - K[1, 2]) / K[1, 1]
    cam = np.empty((height, width, 3))
    cam[..., 0] = xs[None, :]
    cam[..., 1] = ys[:, None]
    cam[..., 2] = 1.0
    return origin, cam @ rotation

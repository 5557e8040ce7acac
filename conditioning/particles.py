"""Particles in every pass: each particle is an exact sphere, splatted at the pixel centres.

`ParticleSource(shot).layer(view)` renders one frame as a `SurfaceLayer` (see layers.py), which
the renderer z-composites with the rigid parts. Procedure, vectorised over all particles:
1. take the particles alive at the frame, in the frame's camera; drop those touching the near
   plane (centre depth <= radius + 1 mm);
2. bound each sphere's image by its exact pixel extent (the image of its tangent planes through
   the camera centre) and enumerate every (particle, pixel) pair in the boxes;
3. intersect each pair's pixel-centre ray with the exact sphere; the nearest hit per pixel wins
   (z-test by an unbuffered minimum per pixel, ties to the higher particle index);
4. the winner's hit point gives depth, the sphere normal, seg (its emitter's id) and albedo; it
   moves with its particle (particles translate, never spin), so its flow is the projection of
   hit point + the particle's displacement into frame t +- 1, minus the pixel centre: exact for
   the simulated particle motion;
5. liquids: the fluid depth is smoothed by a separable bilateral filter (spatial sigma two median
   particle radii in pixels, range sigma three particle radii), the smoothed depth replaces the
   sphere depth of fluid pixels (depth_fwd/bwd move with it) and the normals are taken from its
   screen-space gradient, so a liquid reads as one smooth surface rather than beads.
Particles that are not alive in frame t +- 1 (born or dying) get the flow of their velocity and a
moved depth of -1, so flow_valid is false there. Conditioning never touches a simulator: all of
this reads `Shot.particles`.
"""

from __future__ import annotations

import numpy as np

from physreel.sim.records import Shot

from .layers import FrameView, SurfaceLayer
from .rigid import srgb_to_linear

NEAR = 1e-3
"""Metres: a particle whose sphere comes closer than this to the camera plane is not drawn."""
MAX_PAIRS_PER_CHUNK = 4_000_000
"""(particle, pixel) candidates processed at once, bounding memory to a few hundred MB."""
SPATIAL_SIGMA_RADII = 2.0
"""Bilateral spatial sigma of the liquid depth smoothing, in (median on-screen) particle radii:
the bumps of a particle surface have a period of about two radii, which this removes."""
RANGE_SIGMA_RADII = 3.0
"""Bilateral range sigma of the liquid depth smoothing, in particle radii (depth steps much
larger than this, such as a stream in front of a pool, are not blurred together)."""


class ParticleSource:
    """Renders a Shot's particles (every emitter and fluid block) as spheres."""

    def __init__(self, shot: Shot):
        track = shot.particles
        if track is None:
            raise ValueError("the shot has no particles to render")
        self.track = track
        self.dt = 1.0 / shot.fps
        self.radius = np.asarray(track.radius, np.float64)
        self.emitter = np.asarray(track.emitter, np.intp)
        self.seg_of_emitter = np.asarray(track.emitter_seg_ids, np.int32)
        self.albedo_of_emitter = srgb_to_linear(np.asarray(track.emitter_colors, np.float32))
        self.fluid_of_emitter = np.asarray([kind == "fluid" for kind in track.emitter_kinds], bool)

    def layer(self, view: FrameView, into: SurfaceLayer | None = None) -> SurfaceLayer | None:
        """The particles seen at every pixel centre of `view`'s frame; None if none is seen (then
        `into` is left untouched).

        into: an empty layer (`SurfaceLayer.clear`) to write into and return instead of a new one."""
        frame = view.frame
        track = self.track
        alive = np.flatnonzero(track.alive[frame])
        if len(alive) == 0:
            return None
        # 1. Particles in this frame's camera.
        world_to_camera = view.world_to_camera[frame]
        centre_world = track.position[frame, alive].astype(np.float64)
        centre = centre_world @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
        radius = self.radius[alive]
        front = centre[:, 2] > radius + NEAR
        if not front.any():
            return None
        alive, centre, radius = alive[front], centre[front], radius[front]
        # 2-3. Rasterise: nearest exact sphere hit per pixel centre.
        hits = _nearest_hits(centre, radius, view.K, view.width, view.height)
        if hits is None:
            return None
        pixel, which, depth, point = hits
        particle = alive[which]
        # 4. Per-pixel surface attributes.
        layer = into if into is not None else SurfaceLayer.empty(view.height, view.width)
        emitter = self.emitter[particle]
        normal = (point - centre[which]) / radius[which][:, None]
        flat = lambda a: a.reshape((-1,) + a.shape[2:])  # noqa: E731  [H, W, ...] -> [H*W, ...]
        flat(layer.depth)[pixel] = depth
        flat(layer.seg)[pixel] = self.seg_of_emitter[emitter]
        flat(layer.normal)[pixel] = normal
        flat(layer.albedo)[pixel] = self.albedo_of_emitter[emitter]
        if view.need_flow:
            self._flow(layer, view, pixel, particle, point)
        # 5. Liquids as one smooth surface.
        fluid = self.fluid_of_emitter[emitter]
        if fluid.any():
            fluid_radius_px = view.K[0, 0] * radius[which][fluid] / depth[fluid]
            sigma_px = SPATIAL_SIGMA_RADII * float(np.median(fluid_radius_px))
            _smooth_liquid(layer, view, pixel[fluid], sigma_px, float(np.median(radius[which][fluid])))
        return layer

    def _flow(self, layer: SurfaceLayer, view: FrameView, pixel: np.ndarray, particle: np.ndarray, point: np.ndarray) -> None:
        """Forward and backward flow and moved depths of the seen surface points (step 4)."""
        frame = view.frame
        track = self.track
        rotation, translation = view.world_to_camera[frame, :3, :3], view.world_to_camera[frame, :3, 3]
        point_world = (point - translation) @ rotation  # camera -> world: R^T (p - t)
        height, width = layer.depth.shape
        centre_px = np.stack([pixel % width + 0.5, pixel // width + 0.5], axis=1)
        here = track.position[frame, particle].astype(np.float64)
        for other, flow, moved_depth in ((frame + 1, layer.flow_fwd, layer.depth_fwd), (frame - 1, layer.flow_bwd, layer.depth_bwd)):
            if other < 0 or other >= view.world_to_camera.shape[0]:
                continue  # no such frame: zero flow, moved depth inf (SurfaceLayer.empty)
            there_alive = track.alive[other, particle]
            displacement = track.position[other, particle].astype(np.float64) - here
            # A particle born or dying in between: its velocity gives the flow, and it is not visible there.
            sign = 1.0 if other > frame else -1.0
            guess = sign * self.dt * track.velocity[frame, particle].astype(np.float64)
            displacement = np.where(there_alive[:, None], displacement, guess)
            moved = (point_world + displacement) @ view.world_to_camera[other, :3, :3].T + view.world_to_camera[other, :3, 3]
            z = moved[:, 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                projected = np.stack([view.K[0, 0] * moved[:, 0] / z + view.K[0, 2], view.K[1, 1] * moved[:, 1] / z + view.K[1, 2]], axis=1)
            flow.reshape(-1, 2)[pixel] = np.where(np.isfinite(projected), projected - centre_px, 0.0)
            moved_depth.reshape(-1)[pixel] = np.where(there_alive, z, -1.0)


def _nearest_hits(centre: np.ndarray, radius: np.ndarray, K: np.ndarray, width: int, height: int):
    """Nearest ray-sphere hit at each covered pixel centre.

    centre float64 [n, 3] sphere centres in camera axes (z > radius), radius [n] m.
    Returns (pixel [k] flat index i * W + j, which [k] sphere index, depth [k] planar m,
    point [k, 3] hit point in camera axes) or None when no pixel centre is covered.
    """
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u_lo, u_hi = _outline_extent(centre[:, 0], centre[:, 2], radius, fx, cx)
    v_lo, v_hi = _outline_extent(centre[:, 1], centre[:, 2], radius, fy, cy)
    # Pixel boxes whose centres (j + 0.5, i + 0.5) may fall inside the outline (half a pixel of
    # slack for rounding), clipped to the image.
    j0 = np.maximum(np.floor(u_lo - 0.5), 0).astype(np.int64)
    j1 = np.minimum(np.ceil(u_hi - 0.5), width - 1).astype(np.int64)
    i0 = np.maximum(np.floor(v_lo - 0.5), 0).astype(np.int64)
    i1 = np.minimum(np.ceil(v_hi - 0.5), height - 1).astype(np.int64)
    box_w = np.maximum(j1 - j0 + 1, 0)
    box_h = np.maximum(i1 - i0 + 1, 0)
    counts = box_w * box_h
    on_screen = np.flatnonzero(counts > 0)
    if len(on_screen) == 0:
        return None
    best_depth = np.full(width * height, np.inf)
    best_sphere = np.full(width * height, -1, np.int64)
    # Chunks of spheres keep the candidate pairs bounded; each chunk z-tests against the best so far.
    ends = np.cumsum(counts[on_screen])
    start = 0
    while start < len(on_screen):
        stop = int(np.searchsorted(ends, (ends[start - 1] if start else 0) + MAX_PAIRS_PER_CHUNK, side="right"))
        stop = max(stop, start + 1)
        chunk = on_screen[start:stop]
        _hit_chunk(chunk, centre, radius, counts, box_w, i0, j0, fx, fy, cx, cy, width, best_depth, best_sphere)
        start = stop
    pixel = np.flatnonzero(best_sphere >= 0)
    if len(pixel) == 0:
        return None
    which = best_sphere[pixel]
    depth = best_depth[pixel]
    rays = np.stack([((pixel % width) + 0.5 - cx) / fx, ((pixel // width) + 0.5 - cy) / fy, np.ones(len(pixel))], axis=1)
    return pixel, which, depth, rays * depth[:, None]


def _outline_extent(lateral: np.ndarray, z: np.ndarray, radius: np.ndarray, focal: float, principal: float):
    """Exact image extent (lo, hi in pixels) of spheres along one image axis.

    lateral, z: the centres' camera coordinates along that axis and along the optical axis (m);
    the planes through the camera centre tangent to a sphere make angles atan2(lateral, z) +-
    asin(r / |(lateral, z)|) with the optical axis, and project to focal * tan(angle) + principal.
    """
    distance = np.hypot(lateral, z)
    middle = np.arctan2(lateral, z)
    spread = np.arcsin(np.minimum(radius / distance, 1.0))
    return focal * np.tan(middle - spread) + principal, focal * np.tan(middle + spread) + principal


def _hit_chunk(chunk, centre, radius, counts, box_w, i0, j0, fx, fy, cx, cy, width, best_depth, best_sphere) -> None:
    """Z-test the spheres `chunk` (indices) into best_depth/best_sphere ([H*W]) in place."""
    n_pairs = counts[chunk]
    sphere = np.repeat(chunk, n_pairs)
    # Offset of each pair inside its sphere's box: k = 0 .. count - 1, row-major in the box.
    first = np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
    k = np.arange(len(sphere)) - first
    bw = box_w.take(sphere)
    col = j0.take(sphere) + k % bw
    row = i0.take(sphere) + k // bw
    # Ray through the pixel centre, camera-z = 1: the hit at parameter s has planar depth s.
    dx = (col + 0.5 - cx) / fx
    dy = (row + 0.5 - cy) / fy
    c0, c1, c2 = (np.ascontiguousarray(centre[:, axis]).take(sphere) for axis in range(3))
    a = dx * dx + dy * dy + 1.0
    b = dx * c0 + dy * c1 + c2
    cc = c0 * c0 + c1 * c1 + c2 * c2 - radius.take(sphere) ** 2
    disc = b * b - a * cc
    hit = np.flatnonzero(disc >= 0)
    s = (b[hit] - np.sqrt(disc[hit])) / a[hit]
    pix = row[hit] * width + col[hit]
    sph = sphere[hit]
    # Nearest per pixel: the minimum depth per pixel, then among the pairs at that depth the
    # highest sphere index (a deterministic tie-break). Chunks come in increasing sphere order,
    # so a sphere of this chunk that is as near as an earlier chunk's winner replaces it.
    np.minimum.at(best_depth, pix, s)
    winner = s == best_depth[pix]
    np.maximum.at(best_sphere, pix[winner], sph[winner])


def _smooth_liquid(layer: SurfaceLayer, view: FrameView, pixel: np.ndarray, sigma_px: float, radius_m: float) -> None:
    """Replace the liquid pixels' depth by a bilateral-smoothed depth and their normals by its gradient (step 5)."""
    height, width = layer.depth.shape
    full_mask = np.zeros(height * width, bool)
    full_mask[pixel] = True
    full_mask = full_mask.reshape(height, width)
    sigma_px = max(1.0, sigma_px)
    range_sigma = RANGE_SIGMA_RADII * radius_m
    # Work on the liquid's bounding box (plus the filter's reach): the filter and the gradients
    # never look further.
    reach = int(np.ceil(2 * sigma_px)) + 2
    rows, cols = np.divmod(pixel, width)
    top, bottom = max(0, int(rows.min()) - reach), min(height, int(rows.max()) + reach + 1)
    left, right = max(0, int(cols.min()) - reach), min(width, int(cols.max()) + reach + 1)
    box = (slice(top, bottom), slice(left, right))
    mask = full_mask[box]
    raw = np.where(mask, layer.depth[box], 0.0).astype(np.float64)
    smooth = raw
    # Separable passes (rows, columns) twice at sigma / sqrt(2): about the 2-D filter of sigma,
    # without the row and column streaks a single separable bilateral pass leaves.
    for axis in (1, 0, 1, 0):
        smooth = _bilateral_1d(smooth, mask, axis, sigma_px / np.sqrt(2.0), range_sigma)
    delta = np.where(mask, smooth - raw, 0.0)
    depth = layer.depth[box]
    depth[mask] = smooth[mask]
    for moved_full in (layer.depth_fwd, layer.depth_bwd):
        moved = moved_full[box]
        ok = mask & np.isfinite(moved) & (moved > 0)
        moved[ok] += delta[ok]
    # Normals from the smoothed surface: camera points P = depth * (x, y, 1), n = dP/dy x dP/dx.
    K = view.K
    xs = (np.arange(left, right) + 0.5 - K[0, 2]) / K[0, 0]
    ys = (np.arange(top, bottom) + 0.5 - K[1, 2]) / K[1, 1]
    points = np.stack([smooth * xs[None, :], smooth * ys[:, None], smooth], axis=-1)
    d_dx = _masked_difference(points, mask, axis=1)
    d_dy = _masked_difference(points, mask, axis=0)
    normal = np.cross(d_dy, d_dx)
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    good = mask & (norm[..., 0] > 0)
    normal = np.where(norm > 0, normal / np.where(norm > 0, norm, 1.0), 0.0)
    # Face the camera (a normal points against the viewing ray, whose camera-z is +1).
    facing = np.einsum("hwc,hwc->hw", normal, points) > 0
    normal[facing] *= -1.0
    layer.normal[box][good] = normal[good]


def _bilateral_1d(depth: np.ndarray, mask: np.ndarray, axis: int, sigma_px: float, range_sigma: float) -> np.ndarray:
    """One separable pass of a masked bilateral filter of `depth` along `axis` (only mask pixels count)."""
    reach = int(np.ceil(2 * sigma_px))
    total = np.zeros_like(depth)
    weight = np.zeros_like(depth)
    for offset in range(-reach, reach + 1):  # a fixed loop over filter taps, vectorised over pixels
        shifted = np.roll(depth, offset, axis=axis)
        shifted_mask = np.roll(mask, offset, axis=axis)
        # np.roll wraps around: taps that crossed the border do not count.
        valid = shifted_mask.copy()
        index = np.arange(depth.shape[axis])
        inside = (index - offset >= 0) & (index - offset < depth.shape[axis])
        valid &= np.expand_dims(inside, 1 - axis) if axis == 0 else inside[None, :]
        w = np.exp(-0.5 * (offset / sigma_px) ** 2) * np.exp(-0.5 * ((shifted - depth) / range_sigma) ** 2) * valid
        total += w * shifted
        weight += w
    return np.where(mask & (weight > 0), total / np.where(weight > 0, weight, 1.0), depth)


def _masked_difference(points: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """Central difference of points [H, W, 3] along `axis`, one-sided at the liquid's outline."""
    forward = np.roll(points, -1, axis=axis) - points
    backward = points - np.roll(points, 1, axis=axis)
    n = mask.shape[axis]
    index = np.arange(n)
    has_next = np.roll(mask, -1, axis=axis) & np.expand_dims(index < n - 1, 1 - axis)
    has_prev = np.roll(mask, 1, axis=axis) & np.expand_dims(index > 0, 1 - axis)
    both = (has_next & has_prev)[..., None]
    return np.where(both, 0.5 * (forward + backward), np.where(has_next[..., None], forward, np.where(has_prev[..., None], backward, 0.0)))

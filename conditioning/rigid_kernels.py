"""The compiled (numba) loop that turns the camera rays' hits into the rigid parts' per-pixel passes.

`decode_hits` visits every pixel once and, where a triangle was hit, writes the hit's depth, seg
id, interpolated normal, base colour and its exact rigid motion into the neighbouring frames
(flow and the moved depth): the numbers rigid.py's docstring defines. Why compiled: in numpy the
decode of a 512 x 512 frame was ~20 gathers, scatters and per-part products (about 20 ms, a third
of every pass); one loop over the pixels needs no sort by part and no intermediate arrays.

Determinism: serial, in pixel order, no fastmath.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .textures import weight_at


@njit(cache=True)
def decode_hits(hit_face, hit_depth, hit_u, hit_v, normalised_x, normalised_y, face_part, part_seg,
                need_shading, normal_origin, normal_edge1, normal_edge2, part_is_flat, to_camera_r,
                to_camera_t, face_mesh, mesh_linear_color, mesh_texture_code, mesh_inverse_scale,
                mesh_linear_color2, need_flow, has_motion, motion_r, motion_t,
                part_still, K, depth_out, seg_out, normal_out, albedo_out, flow_fwd_out, flow_bwd_out,
                depth_fwd_out, depth_bwd_out) -> int:
    """Decode the hits of one frame; returns the number of pixels hit.

    Inputs, per pixel row-major [N = H * W]: hit_face int32 (-1: none), hit_depth float64 (planar,
    m), hit_u, hit_v float64 barycentrics of corners 1, 2; normalised_x [W], normalised_y [H]
    float64 ray coordinates of the pixel centres. Per triangle: face_part, face_mesh int [F];
    normal_origin/edge1/edge2 float32 [F, 3] (corner-0 normal and corner differences, part-local).
    Per part: part_seg int32 [B], part_is_flat bool [B], to_camera_r float32 [B, 3, 3] (part-local
    -> camera rotation), to_camera_t float64 [B, 3] (its translation, m). Per mesh: mesh_linear_color
    and mesh_linear_color2 float32 [M, 3] (its colour and its texture's second colour, linear light),
    mesh_texture_code int64 [M] (textures.TEXTURE_CODES, 0: none), mesh_inverse_scale float32 [M].
    Motion, for s = 0 (forward, t + 1) and 1 (backward, t - 1): has_motion bool [2] (the frame
    exists), motion_r float64 [2, B, 3, 3] and motion_t [2, B, 3] (camera t -> camera t +- 1 per
    part), part_still bool [2, B] (neither part nor camera moved: flow exactly 0); K float64 [3, 3].

    Outputs, written only where a triangle was hit (others keep their values): depth_out float32 [N],
    seg_out int32 [N], normal_out float32 [N, 3] (unit, camera axes, facing the camera), albedo_out
    float32 [N, 3] (linear light: the mesh colour blended towards color2 by its solid texture's
    weight at the part-local point, so the texture moves with the part),
    flow_fwd_out, flow_bwd_out float32 [N, 2] (pixels) and depth_fwd_out, depth_bwd_out float32 [N]
    (planar depth in the other camera), written where has_motion says.
    """
    width, height = normalised_x.shape[0], normalised_y.shape[0]
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    hits = 0
    for pixel in range(height * width):
        face = hit_face[pixel]
        if face < 0:
            continue
        hits += 1
        part = face_part[face]
        row = pixel // width  # (one integer division per hit pixel; the column follows from it)
        col = pixel - row * width
        depth = hit_depth[pixel]
        # the hit in camera axes: planar depth along the pixel-centre ray (x_n, y_n, 1)
        px, py, pz = normalised_x[col] * depth, normalised_y[row] * depth, depth
        depth_out[pixel] = depth
        seg_out[pixel] = part_seg[part]
        if need_shading:
            # the normal: n0 + u (n1 - n0) + v (n2 - n0) for curved parts; flat-shaded parts (boxes,
            # planes) take the face's normal as it is (already unit). (Written out here: a numba
            # helper taking the arrays, inlined or not, made this loop four to eight times slower.)
            lx, ly, lz = normal_origin[face, 0], normal_origin[face, 1], normal_origin[face, 2]
            flat = part_is_flat[part]
            if not flat:
                u, v = np.float32(hit_u[pixel]), np.float32(hit_v[pixel])
                lx = lx + u * normal_edge1[face, 0] + v * normal_edge2[face, 0]
                ly = ly + u * normal_edge1[face, 1] + v * normal_edge2[face, 1]
                lz = lz + u * normal_edge1[face, 2] + v * normal_edge2[face, 2]
            nx = to_camera_r[part, 0, 0] * lx + to_camera_r[part, 0, 1] * ly + to_camera_r[part, 0, 2] * lz
            ny = to_camera_r[part, 1, 0] * lx + to_camera_r[part, 1, 1] * ly + to_camera_r[part, 1, 2] * lz
            nz = to_camera_r[part, 2, 0] * lx + to_camera_r[part, 2, 1] * ly + to_camera_r[part, 2, 2] * lz
            if not flat:
                length = max(np.float32(math.sqrt(nx * nx + ny * ny + nz * nz)), np.float32(1e-12))
                nx, ny, nz = nx / length, ny / length, nz / length
            # a ray may see a triangle's back (open meshes, planes seen from below): show the side facing us
            if nx * px + ny * py + nz * pz > 0.0:
                nx, ny, nz = -nx, -ny, -nz
            normal_out[pixel, 0] = nx
            normal_out[pixel, 1] = ny
            normal_out[pixel, 2] = nz
            mesh = face_mesh[face]
            code = mesh_texture_code[mesh]
            weight = np.float32(0.0)
            if code != 0:
                # camera -> part-local: R^T (p - t); float32 is ample for texture lookups
                # (micrometres at 10 m against features of centimetres)
                dx = np.float32(px - to_camera_t[part, 0])
                dy = np.float32(py - to_camera_t[part, 1])
                dz = np.float32(pz - to_camera_t[part, 2])
                lx = dx * to_camera_r[part, 0, 0] + dy * to_camera_r[part, 1, 0] + dz * to_camera_r[part, 2, 0]
                ly = dx * to_camera_r[part, 0, 1] + dy * to_camera_r[part, 1, 1] + dz * to_camera_r[part, 2, 1]
                lz = dx * to_camera_r[part, 0, 2] + dy * to_camera_r[part, 1, 2] + dz * to_camera_r[part, 2, 2]
                weight = weight_at(code, mesh_inverse_scale[mesh], lx, ly, lz)
            for axis in range(3):  # (blended in linear light; weight 0 gives the colour's own bits)
                first = mesh_linear_color[mesh, axis]
                albedo_out[pixel, axis] = first + (mesh_linear_color2[mesh, axis] - first) * weight
        if need_flow:
            for s in range(2):
                if not has_motion[s]:
                    continue
                flow_out = flow_fwd_out if s == 0 else flow_bwd_out
                moved_depth_out = depth_fwd_out if s == 0 else depth_bwd_out
                if part_still[s, part]:
                    flow_out[pixel, 0] = 0.0
                    flow_out[pixel, 1] = 0.0
                    moved_depth_out[pixel] = depth
                    continue
                mx = motion_r[s, part, 0, 0] * px + motion_r[s, part, 0, 1] * py + motion_r[s, part, 0, 2] * pz + motion_t[s, part, 0]
                my = motion_r[s, part, 1, 0] * px + motion_r[s, part, 1, 1] * py + motion_r[s, part, 1, 2] * pz + motion_t[s, part, 1]
                mz = motion_r[s, part, 2, 0] * px + motion_r[s, part, 2, 1] * py + motion_r[s, part, 2, 2] * pz + motion_t[s, part, 2]
                # (a point moved onto the camera plane projects to +-inf, as numpy's division would)
                flow_out[pixel, 0] = _divide(fx * mx, mz) + cx - (col + 0.5)
                flow_out[pixel, 1] = _divide(fy * my, mz) + cy - (row + 0.5)
                moved_depth_out[pixel] = mz
    return hits


@njit(cache=True)
def _divide(a: float, b: float) -> float:
    """a / b with IEEE results for b == 0 (+-inf, or NaN for 0 / 0), as numpy gives."""
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b

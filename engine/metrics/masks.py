"""Motion masks: where the simulation moves things, and where a video changes.

Both masks are per frame transition t -> t+1, bool [N - 1, H, W].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from physreel.conditioning.records import Passes

from .base import gray, require_passes
from .camera_motion import bilinear_support, camera_flow, camera_moves, sample_bilinear, sample_nearest

SIM_MOTION_PX = 0.5
"""A pixel moves in the simulation when its exact flow is longer than this (pixels)."""
DIFF_THRESHOLD = 6.0
"""A pixel changes in a video when its blurred luma changes by more than this (0..255)."""
DIFF_BLUR_SIGMA = 1.0
"""Gaussian blur (pixels) before differencing, so single-pixel noise does not count as motion."""


@dataclass(frozen=True)
class SimMotion:
    """What the simulation moves between frame t and t+1 (t = 0 .. N-2): depends on the passes
    only, so it is computed once per shot (`sim_motion`) and read by every metric and video."""

    moving: np.ndarray
    """bool [N - 1, H, W]: S_t, the simulation's motion mask (see sim_motion)."""
    camera_flow: np.ndarray | None = None
    """float64 [N - 1, H, W, 2]: c_t = camera_motion.camera_flow(passes, t, t + 1); None for a
    still camera."""
    support: np.ndarray | None = None
    """bool [N - 1, H, W]: p + c_t lies inside frame t+1 (camera_motion.bilinear_support); None
    for a still camera."""


def sim_motion(passes: Passes) -> SimMotion:
    """The simulation's motion mask S_t, with the camera flow when the camera moves.

    Still camera: S_t = (|flow_fwd_t| > 0.5 px) or (|flow_bwd_{t+1}| > 0.5 px) or
    (seg_t != seg_{t+1}): the footprints of moving surfaces in both frames, plus pixels whose
    instance changes. Without flow_bwd the second term is left out.
    Moving camera (camera_motion.camera_moves): the same three terms relative to the world, on
    frame t's pixels: flow_fwd_t minus the camera flow c_t (camera_motion.camera_flow), and
    frame t+1's seg and backward term read at p + c_t; pixels whose p + c_t leaves frame t+1
    (camera_motion.bilinear_support) are False, here and in video_motion_mask.
    """
    require_passes(passes, ("flow_fwd", "seg"), "motion masks")
    if not camera_moves(passes):
        moving = np.linalg.norm(passes.flow_fwd[:-1], axis=-1) > SIM_MOTION_PX
        if passes.flow_bwd is not None:
            moving |= np.linalg.norm(passes.flow_bwd[1:], axis=-1) > SIM_MOTION_PX
        moving |= passes.seg[:-1] != passes.seg[1:]
        return SimMotion(moving)
    require_passes(passes, ("depth",), "motion masks with a moving camera")
    masks, flows, supports = [], [], []
    for t in range(passes.num_frames - 1):
        forward = camera_flow(passes, t, t + 1)
        support = bilinear_support(forward)
        moving = np.linalg.norm(passes.flow_fwd[t] - forward, axis=-1) > SIM_MOTION_PX
        next_seg, _ = sample_nearest(passes.seg[t + 1], forward)
        moving |= passes.seg[t] != next_seg
        if passes.flow_bwd is not None:
            own_backward = np.linalg.norm(passes.flow_bwd[t + 1] - camera_flow(passes, t + 1, t), axis=-1) > SIM_MOTION_PX
            moving |= sample_nearest(own_backward, forward)[0]
        masks.append(moving & support)
        flows.append(forward)
        supports.append(support)
    return SimMotion(np.stack(masks), np.stack(flows), np.stack(supports))


def sim_motion_mask(passes: Passes) -> np.ndarray:
    """bool [N - 1, H, W]: pixels whose content the simulation changes between frame t and t+1
    (`sim_motion(passes).moving`)."""
    return sim_motion(passes).moving


def video_motion_mask(frames: np.ndarray, motion: SimMotion | None = None) -> np.ndarray:
    """bool [N - 1, H, W]: pixels a video changes between frame t and t+1 (frame differencing).

    Luma blurred with a Gaussian of sigma 1 px, D_t = |g_{t+1} - g_t| > 6 (0..255), closed with
    a 3x3 square and with holes filled per frame: a solid-coloured object that moves shows
    change only at its leading and trailing edges, which enclose the rest of its footprint when
    they meet (diagonal motion, round objects). Where they do not (a flat-coloured box sliding
    straight sideways) its interior stays unmarked, so the attainable IoU on such a scene is
    below 1: compare reports the RGB preview's own score as that reference.
    With the `motion` of a moving camera, g_{t+1} is first read at p + c_t (bilinear; its camera
    flow), so only change relative to the world counts, and pixels outside its support are False.
    frames: uint8 [N, H, W, 3].
    """
    luma = gray(frames)
    blurred = np.stack([cv2.GaussianBlur(g, (0, 0), DIFF_BLUR_SIGMA) for g in luma])
    following = blurred[1:]
    region = None
    if motion is not None and motion.camera_flow is not None:
        following = np.stack([sample_bilinear(blurred[t + 1], motion.camera_flow[t])[0] for t in range(len(blurred) - 1)])
        region = motion.support
    changed = np.abs(following - blurred[:-1]) > DIFF_THRESHOLD
    if region is not None:
        changed &= region
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = True  # 3x3 square within each frame, nothing across time
    changed = ndimage.binary_closing(changed, structure=in_plane, border_value=0)
    cross = np.zeros((3, 3, 3), dtype=bool)
    cross[1] = ndimage.generate_binary_structure(2, 1)
    filled = ndimage.binary_fill_holes(changed, structure=cross)
    return filled if region is None else filled & region


def object_mask(passes: Passes, dynamic_ids: frozenset[int] | None) -> np.ndarray:
    """bool [N - 1, H, W]: pixels of moving objects at frame t (t < N - 1).

    With `dynamic_ids` (seg ids of every non-static part and particle emitter): seg_t in them.
    Without: |flow_fwd_t| > 0.5 px (right for a still camera only).
    """
    if dynamic_ids is None:
        return np.linalg.norm(passes.flow_fwd[:-1], axis=-1) > SIM_MOTION_PX
    ids = np.fromiter(sorted(dynamic_ids), dtype=np.int64)
    return np.isin(passes.seg[:-1], ids)

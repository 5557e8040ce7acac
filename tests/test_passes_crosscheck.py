"""Independent cross-checks of the passes: pybullet's own renderer and OpenCV's estimated flow.

pybullet is used here, in the test only, to render the very world the simulator built; the
passes never touch it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import shots
from scipy.ndimage import binary_erosion

from physreel.conditioning.render import render_passes
from physreel.sim import pybullet_camera
from physreel.sim.simulate import simulate
from physreel.sim.spec.load import scene_from_data
from physreel.sim.world import build_world


def crosscheck_scene():
    data = {
        "shot": {"duration": 1 / 12, "fps": 12},
        "camera": {"resolution": [120, 90], "fov_deg": 50.0, "position": [0.3, -3.2, 1.6], "look_at": [0.0, 0.3, 0.5]},
        "objects": [
            {"name": "floor", "shape": "plane", "size": [6.0, 6.0]},
            {"name": "crate", "shape": "box", "size": [0.5, 0.4, 0.6], "position": [-0.6, 0.0, 0.3], "euler_deg": [0, 0, 25]},
            {"name": "ball", "shape": "sphere", "radius": 0.25, "position": [0.3, -0.3, 0.25]},
            {"name": "can", "shape": "cylinder", "radius": 0.15, "length": 0.5, "position": [0.8, 0.5, 0.25]},
            {"name": "figure", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.2, "position": [0.0, 1.0, 0.75],
             "euler_deg": [90.0, 0.0, 0.0], "static": True},
        ],
    }
    return scene_from_data(data, Path(__file__).resolve())


def test_depth_and_ids_agree_with_pybullet_get_camera_image():
    scene = crosscheck_scene()
    shot = simulate(scene)
    passes = render_passes(shot, passes=["depth", "seg"])
    width, height = shot.camera.width, shot.camera.height
    with build_world(scene) as world:
        _, pb_depth, pb_seg_raw = pybullet_camera.render(world.client, shot.camera.K, shot.camera.world_to_camera[0], width, height)
        # pybullet's id = body unique id + ((link index + 1) << 24); parts are numbered base first, then links.
        lookup = {}
        for handle in world.bodies:
            lookup[handle.body_id] = shot.parts[handle.first_part].seg_id
            for offset, link in enumerate(handle.links):
                lookup[handle.body_id + ((link + 1) << 24)] = shot.parts[handle.first_part + 1 + offset].seg_id
    pb_seg = np.vectorize(lambda raw: lookup.get(int(raw), 0))(pb_seg_raw)
    ours_seg, ours_depth = passes.seg[0], passes.depth[0]
    assert len(np.unique(ours_seg)) >= 8  # floor, three bodies and several humanoid links in view
    # Compare on pixels inside a region of one id in BOTH renders (3x3 erosion): edges differ by
    # rasterisation rules and pybullet's own tessellation of round shapes.
    interior = np.zeros(ours_seg.shape, bool)
    for seg_id in np.unique(ours_seg[ours_seg > 0]):
        interior |= binary_erosion(ours_seg == seg_id, np.ones((3, 3), bool)) & binary_erosion(pb_seg == seg_id, np.ones((3, 3), bool))
    covered = binary_erosion(ours_seg > 0, np.ones((3, 3), bool))
    agree = (ours_seg == pb_seg)[covered].mean()
    assert agree > 0.97, f"seg ids agree on {agree:.3f} of covered pixels"
    assert interior.sum() > 0.3 * ours_seg.size
    # Depth: TinyRenderer samples row i half a pixel lower than its centre (measured: shifting our
    # depth by +0.5 px in y takes the floor's median error from 1 % to 1e-4), so compare its row i
    # with the mean of our rows i and i + 1, the depth at y = i + 1 on a planar surface.
    shifted = np.full(ours_depth.shape, np.nan)
    shifted[:-1] = 0.5 * (ours_depth[:-1].astype(np.float64) + ours_depth[1:])
    interior[-1] = False
    relative = np.abs(shifted[interior] - pb_depth[interior]) / shifted[interior]
    assert np.median(relative) < 1e-3
    # pybullet's own tessellation of spheres and cylinders differs from ours by up to ~1 % of depth.
    assert np.percentile(relative, 99) < 0.02


def test_dis_optical_flow_on_the_textured_preview_matches_the_exact_flow():
    # A checkered crate slides right and turns a little in front of a noise-textured wall.
    from physreel.sim.spec.model import TextureSpec

    wall = shots.part("wall", 1, shots.box((8.0, 0.2, 6.0)), color=(0.8, 0.75, 0.7),
                      texture=TextureSpec(kind="noise", scale=0.15, color2=(0.15, 0.2, 0.3)))
    crate = shots.part("crate", 2, shots.box((1.2, 1.2, 1.2)), color=(0.9, 0.6, 0.2),
                       texture=TextureSpec(kind="checker", scale=0.2, color2=(0.1, 0.1, 0.3)))
    angle = np.radians(3.0)
    positions = np.array([[[0, 2.0, 0], [-0.5, 0.0, 0.0]], [[0, 2.0, 0], [-0.44, 0.0, 0.02]]])
    orientations = np.array([[[0, 0, 0, 1], [0, 0, 0, 1]], [[0, 0, 0, 1], [0, 0, np.sin(angle / 2), np.cos(angle / 2)]]])
    shot = shots.shot([wall, crate], positions, orientations, width=192, height=144)
    passes = render_passes(shot, passes=["rgb", "seg", "flow_fwd", "flow_valid"], shadows=False)
    next_rgb = render_passes(shots.shot([wall, crate], positions[[1, 1]], orientations[[1, 1]], width=192, height=144),
                             passes=["rgb"], shadows=False).rgb[0]
    grey0 = cv2.cvtColor(passes.rgb[0], cv2.COLOR_RGB2GRAY)
    grey1 = cv2.cvtColor(next_rgb, cv2.COLOR_RGB2GRAY)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    estimated = dis.calc(grey0, grey1, None)
    exact = passes.flow_fwd[0]
    assert np.abs(exact[passes.seg[0] == 2]).max() > 1.5  # the crate moves by pixels
    # Textured, visible, away from the crate's outline (estimated flow smears across motion boundaries).
    region = binary_erosion(passes.seg[0] == 2, np.ones((9, 9), bool)) & passes.flow_valid[0]
    assert region.sum() > 400
    error = np.linalg.norm(estimated[region] - exact[region], axis=1)
    assert np.median(error) < 0.25, f"median end-point error {np.median(error):.3f} px"
    still = binary_erosion(passes.seg[0] == 1, np.ones((15, 15), bool)) & passes.flow_valid[0]
    assert np.median(np.linalg.norm(estimated[still] - exact[still], axis=1)) < 0.1

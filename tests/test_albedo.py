"""The albedo pass and control: each surface's unlit base colour, as the spec gives it.

A red box lit by the sun casts a shadow on a plain grey floor: the RGB preview differs between
the box's lit and shaded faces and between the floor in and out of the shadow, the albedo does
not. Colours are compared in linear light to float32 rounding (1e-6) because the albedo is the
spec's colour converted once, and the 8-bit control to one code (the sRGB table's own rounding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physreel.conditioning.control import control_image
from physreel.conditioning.render import render_passes
from physreel.conditioning.rigid import srgb_to_linear
from physreel.conditioning.sky import sky_color
from physreel.sim.simulate import simulate
from physreel.sim.spec.load import scene_from_data

RED = (0.8, 0.1, 0.1)
GREY = (0.5, 0.5, 0.5)


@pytest.fixture(scope="module")
def lit_box():
    data = {
        "shot": {"duration": 0.2, "fps": 10},
        "camera": {"resolution": [96, 64], "position": [3.0, -3.0, 2.0], "look_at": [0.0, 0.0, 0.3]},
        "objects": [
            {"name": "floor", "shape": "plane", "color": list(GREY)},
            {"name": "crate", "shape": "box", "size": [0.6, 0.6, 0.6], "position": [0, 0, 0.3], "color": list(RED)},
        ],
    }
    shot = simulate(scene_from_data(data, Path("/tmp/albedo.yaml")))
    return shot, render_passes(shot)


def _mask(passes, object_name: str) -> np.ndarray:
    ids = [e.seg_id for e in passes.id_table if e.object_name == object_name]
    return np.isin(passes.seg, ids)


def test_albedo_is_the_spec_colour_wherever_the_object_is_seen_whatever_its_shading(lit_box):
    _, passes = lit_box
    crate = _mask(passes, "crate")
    assert crate.sum() > 200  # the box fills a good part of the frame
    shaded = passes.rgb[crate].astype(int).sum(-1)
    assert shaded.max() - shaded.min() > 30  # its faces are lit differently in the preview ...
    np.testing.assert_allclose(passes.albedo[crate], np.broadcast_to(srgb_to_linear(np.array(RED)), (crate.sum(), 3)),
                               atol=1e-6)  # ... and share one albedo


def test_the_floor_has_one_albedo_in_and_out_of_the_box_shadow(lit_box):
    _, passes = lit_box
    floor = _mask(passes, "floor")
    brightness = passes.rgb[floor].astype(int).sum(-1)
    assert brightness.max() - brightness.min() > 60  # the shadow darkens part of it in the preview
    np.testing.assert_allclose(passes.albedo[floor], np.broadcast_to(srgb_to_linear(np.array(GREY)), (floor.sum(), 3)),
                               atol=1e-6)


def test_sky_pixels_hold_the_sky_colour_of_their_ray(lit_box):
    _, passes = lit_box
    sky = passes.seg[0] == 0
    assert sky.any()
    # The ray through each pixel centre, in world axes, from K and the camera's rotation.
    height, width = sky.shape
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    camera_rays = np.stack([u, v, np.ones_like(u)], -1) @ np.linalg.inv(passes.K).T
    world_rays = camera_rays @ passes.world_to_camera[0, :3, :3]
    elevation_sine = world_rays[..., 2] / np.linalg.norm(world_rays, axis=-1)
    np.testing.assert_allclose(passes.albedo[0][sky], sky_color(elevation_sine[sky]), atol=1e-5)


def test_albedo_control_is_the_spec_colour_in_8_bit_srgb(lit_box):
    _, passes = lit_box
    image = control_image(passes, "albedo")
    assert image.dtype == np.uint8 and image.shape == passes.rgb.shape
    crate = _mask(passes, "crate")
    expected = np.round(np.array(RED) * 255)
    assert np.abs(image[crate].astype(int) - expected).max() <= 1


def test_a_textured_surface_shows_both_of_its_colours():
    data = {
        "shot": {"duration": 0.1, "fps": 10},
        "camera": {"resolution": [64, 48], "position": [0.0, -3.0, 3.0], "look_at": [0.0, 0.0, 0.0]},
        "objects": [{"name": "floor", "shape": "plane", "color": [0.9, 0.9, 0.2],
                     "texture": {"kind": "checker", "scale": 0.25, "color2": [0.1, 0.2, 0.9]}}],
    }
    passes = render_passes(simulate(scene_from_data(data, Path("/tmp/checker.yaml"))), passes=["albedo", "seg"])
    floor = passes.albedo[passes.seg > 0]
    first, second = srgb_to_linear(np.array([0.9, 0.9, 0.2])), srgb_to_linear(np.array([0.1, 0.2, 0.9]))
    is_first = np.all(np.abs(floor - first) < 1e-6, axis=-1)
    is_second = np.all(np.abs(floor - second) < 1e-6, axis=-1)
    assert np.all(is_first | is_second)  # a solid checker: every floor pixel is one colour or the other
    assert 0.3 < is_first.mean() < 0.7  # and both cover a fair share of it
    assert passes.rgb is None and passes.depth is None  # only the passes asked for


def test_albedo_control_needs_the_albedo_pass(lit_box):
    shot, _ = lit_box
    passes = render_passes(shot, passes=["depth"])
    with pytest.raises(ValueError, match="needs the 'albedo' pass"):
        control_image(passes, "albedo")

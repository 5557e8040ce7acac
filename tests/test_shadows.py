"""Shadow-ray culling (conditioning/shadows.py): rays left out are exactly the rays that hit nothing.

The culled query (one shared direction) must return, ray for ray, what casting every ray returns
(no tolerance: the same exact occlusion test, conditioning/raycast.py, on the rays that are cast, and
a proven miss for the others), and it must leave out most rays that start far from every part.
"""

from __future__ import annotations

import numpy as np
import shots
import trimesh

from physreel.conditioning.raycast import occluded_along
from physreel.conditioning.rigid import RigidSource
from physreel.conditioning.shading import SUN_DIRECTION
from physreel.conditioning.shadows import MAX_PLANES, LightBounds, part_planes


def _quad(size_x: float, size_y: float) -> trimesh.Trimesh:
    """A flat rectangle in its local XY plane (z = 0), centred on the origin."""
    x, y = size_x / 2, size_y / 2
    return trimesh.Trimesh(vertices=[[-x, -y, 0], [x, -y, 0], [x, y, 0], [-x, y, 0]], faces=[[0, 1, 2], [0, 2, 3]], process=False)


def _quaternion_about(axis, angle_rad: float):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    return (*(np.sin(angle_rad / 2) * axis), np.cos(angle_rad / 2))


def _cluttered_source() -> RigidSource:
    """A floor, a tilted wall, a plate parallel to the sun, more flat tiles than MAX_PLANES, and
    boxes and spheres at random poses (one of them below the floor)."""
    rng = np.random.default_rng(7)
    sun = SUN_DIRECTION
    # A quad whose plane contains the sun direction: its local z axis is turned onto a vector
    # perpendicular to the sun.
    edge_on_normal = np.cross(sun, [0.0, 0.0, 1.0])
    edge_on_normal /= np.linalg.norm(edge_on_normal)
    turn_axis = np.cross([0.0, 0.0, 1.0], edge_on_normal)
    edge_on = _quaternion_about(turn_axis, np.arccos(edge_on_normal[2]))
    parts = [shots.part("floor", 1, _quad(20.0, 20.0)), shots.part("wall", 2, _quad(3.0, 2.0)),
             shots.part("edge_on", 3, _quad(1.0, 1.0))]
    positions = [(0.0, 0.0, 0.0), (1.5, 2.0, 1.0), (-1.0, -1.0, 0.8)]
    orientations = [(0.0, 0.0, 0.0, 1.0), _quaternion_about((1.0, 0.3, 0.0), 1.1), edge_on]
    for index in range(MAX_PLANES):  # small flat tiles: some of them are binned on the grid
        parts.append(shots.part(f"tile_{index}", 4 + index, _quad(0.3, 0.3)))
        positions.append((rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(0.2, 1.5)))
        orientations.append(_quaternion_about(rng.normal(size=3), rng.uniform(0, np.pi)))
    for index in range(8):
        mesh = shots.box(rng.uniform(0.1, 0.6, size=3)) if index % 2 else trimesh.creation.icosphere(2, rng.uniform(0.1, 0.4))
        parts.append(shots.part(f"body_{index}", 20 + index, mesh))
        positions.append((rng.uniform(-2.5, 2.5), rng.uniform(-2.5, 2.5), rng.uniform(0.2, 2.0) if index else -0.6))
        orientations.append(_quaternion_about(rng.normal(size=3), rng.uniform(0, np.pi)))
    return RigidSource(shots.shot(parts, [positions] * 2, [orientations] * 2))


def _origins(rng, count: int) -> np.ndarray:
    """Ray origins: in the air around the parts, 1 mm above the floor, and under the floor."""
    air = rng.uniform((-4, -4, -1), (4, 4, 3), size=(count, 3))
    floor = np.c_[rng.uniform(-6, 6, size=(count, 2)), np.full(count, 1e-3)]
    below = np.c_[rng.uniform(-3, 3, size=(count // 4, 2)), np.full(count // 4, -0.05)]
    return np.concatenate([air, floor, below])


def test_culled_shadow_rays_return_what_casting_every_ray_returns():
    source = _cluttered_source()
    placed = source.at(0)
    origins = _origins(np.random.default_rng(3), 20000)
    culled = source.occluded(placed, origins, SUN_DIRECTION)
    every_ray = occluded_along(placed.world_vertices, source.geometry.faces, origins, SUN_DIRECTION)
    np.testing.assert_array_equal(culled, every_ray)
    assert 0.05 < every_ray.mean() < 0.95  # both outcomes are exercised


def test_rays_that_start_far_from_every_part_are_left_out():
    source = _cluttered_source()
    bounds = source._bounds_along(source.at(0), SUN_DIRECTION)
    rng = np.random.default_rng(5)
    far_floor = np.c_[rng.uniform(6, 9, size=(500, 2)), np.full(500, 1e-3)]  # beyond every body, above the floor
    assert not bounds.may_hit(far_floor).any()
    under_floor = np.c_[rng.uniform(-3, 3, size=(500, 2)), np.full(500, -0.05)]  # the floor is above them
    assert bounds.may_hit(under_floor).all()


def test_light_bounds_keep_every_ray_that_hits_a_part():
    source = _cluttered_source()
    placed = source.at(0)
    origins = _origins(np.random.default_rng(11), 20000)
    hits = occluded_along(placed.world_vertices, source.geometry.faces, origins, SUN_DIRECTION)
    may_hit = LightBounds(SUN_DIRECTION, placed.world_vertices, source.geometry.vertex_part, placed.rotations,
                          placed.positions, source._planes).may_hit(origins)
    assert may_hit[hits].all()
    assert may_hit.mean() < 0.7  # and it does leave rays out


def test_a_frames_shadow_rays_do_not_depend_on_the_frames_placed_since():
    # A plate above the origin in frame 0 moves away in frame 1 and back in frame 2: a ray
    # straight up from the origin is shadowed in frames 0 and 2 only, whatever was placed before.
    plate = shots.part("plate", 1, _quad(1.0, 1.0))
    source = RigidSource(shots.shot([plate], [[(0.0, 0.0, 1.0)], [(5.0, 0.0, 1.0)], [(0.0, 0.0, 1.0)]]))
    origin, up = np.zeros((1, 3)), np.array([0.0, 0.0, 1.0])
    first = source.at(0)
    assert source.occluded(first, origin, up).all()
    assert not source.occluded(source.at(1), origin, up).any()
    assert source.occluded(first, origin, up).all()  # a frame's record keeps answering for its frame
    assert source.occluded(source.at(2), origin, up).all()
    assert not source.occluded(source.at(1), origin, up).any()


def test_part_planes_finds_the_flat_parts_only():
    meshes = [_quad(2.0, 1.0), shots.box((1.0, 1.0, 1.0)), trimesh.creation.icosphere(1, 0.5)]
    vertices = np.concatenate([m.vertices for m in meshes])
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes])[:-1]
    faces = np.concatenate([m.faces + offset for m, offset in zip(meshes, offsets)])
    vertex_part = np.repeat(np.arange(3), [len(m.vertices) for m in meshes])
    face_part = np.repeat(np.arange(3), [len(m.faces) for m in meshes])
    planes = part_planes(vertices, vertex_part, faces, face_part, 4)  # part 3 has no triangles
    normal, offset = planes[0]
    np.testing.assert_allclose(np.abs(normal), [0, 0, 1], atol=1e-12)
    assert offset == 0.0
    assert planes[1] is None and planes[2] is None and planes[3] is None

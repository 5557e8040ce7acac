"""Shots built in code for the particle tests: rigid parts at prescribed poses, no pybullet.

The particle stage reads only the recorded trajectory, so a hand-made trajectory (static parts,
or parts moved along a known path) isolates it from the rigid simulation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from physreel.sim.camera import camera_track
from physreel.sim.expand import expand_objects
from physreel.sim.geometry import primitive_trimesh, visual_mesh
from physreel.sim.records import ContactEvents, Part, Shot, Trajectory, VisualMesh
from physreel.sim.spec.load import scene_from_data


PRIMITIVES = ("plane", "box", "sphere", "capsule", "cylinder")


def scene(data: dict, source: Path | None = None):
    return scene_from_data(data, source or Path(__file__).with_name("particle_scene.yaml"))


def shot_from_data(
    data: dict,
    source: Path | None = None,
    motion: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] | None = None,
    meshes: dict[str, tuple[VisualMesh, ...]] | None = None,
) -> Shot:
    """A Shot whose parts stay at their spec poses, except those in `motion`.

    motion: body name -> f(t [T]) returning (position [T, 3], linear velocity [T, 3]); the part
    keeps its spec orientation. meshes: body name -> visual meshes in the part frame (primitives
    get theirs from sim.geometry; for mesh bodies the part frame is the mesh file's own frame here).
    """
    sc = scene(data, source)
    spec = sc.spec
    fps = spec.shot.fps
    t = np.arange(spec.shot.num_frames + 1) / fps
    bodies = expand_objects(spec)
    parts, positions, orientations, velocities = [], [], [], []
    for i, body in enumerate(bodies):
        visuals = (meshes or {}).get(body.name)
        if visuals is None and body.spec.shape in PRIMITIVES:
            visuals = (visual_mesh(primitive_trimesh(body.spec), body.spec.color),)
        parts.append(
            Part(
                name=body.name, object_name=body.name, link_name=None, link_index=-1, seg_id=i + 1,
                shape=body.spec.shape, static=body.spec.static, meshes=visuals or (),
            )
        )
        pos = np.tile(np.asarray(body.position, float), (len(t), 1))
        vel = np.zeros((len(t), 3))
        if motion and body.name in motion:
            pos, vel = motion[body.name](t)
        positions.append(pos)
        velocities.append(vel)
        orientations.append(np.tile(np.asarray(body.quaternion, float), (len(t), 1)))
    B = len(bodies)
    traj = Trajectory(
        t=t,
        part_names=tuple(p.name for p in parts),
        position=np.stack(positions, 1) if B else np.zeros((len(t), 0, 3)),
        orientation=np.stack(orientations, 1) if B else np.zeros((len(t), 0, 4)),
        linear_velocity=np.stack(velocities, 1) if B else np.zeros((len(t), 0, 3)),
        angular_velocity=np.zeros((len(t), B, 3)),
    )
    contacts = ContactEvents(np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros((0, 3)))
    return Shot(scene=sc, parts=tuple(parts), trajectory=traj, camera=camera_track(spec.camera, t), contacts=contacts)

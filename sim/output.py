"""Write a Shot's files: OUT/trajectory.npz and OUT/meta.json (CONVENTIONS.md, "Files of one shot").

Both are written atomically and deterministically: the same Shot gives the same bytes (no
timestamps, no absolute paths). Later stages add their own sections to meta.json with
`sim.files.update_json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .files import write_json, write_npz
from .particles.output import particle_arrays, particle_ids
from .records import Shot
from .versions import library_versions


def trajectory_arrays(shot: Shot) -> dict[str, np.ndarray]:
    """The arrays of trajectory.npz: t [T], part_names [B], position [T,B,3], orientation [T,B,4]
    (xyzw), linear_velocity [T,B,3], angular_velocity [T,B,3], and contact_t [C],
    contact_part_a [C], contact_part_b [C] (indices into part_names), contact_impulse [C] (N s),
    contact_position [C,3] (m)."""
    trajectory, contacts = shot.trajectory, shot.contacts
    return {
        "t": np.asarray(trajectory.t, dtype=np.float64),
        "part_names": np.asarray(trajectory.part_names, dtype=np.str_),
        "position": np.asarray(trajectory.position, dtype=np.float64),
        "orientation": np.asarray(trajectory.orientation, dtype=np.float64),
        "linear_velocity": np.asarray(trajectory.linear_velocity, dtype=np.float64),
        "angular_velocity": np.asarray(trajectory.angular_velocity, dtype=np.float64),
        "contact_t": np.asarray(contacts.t, dtype=np.float64),
        "contact_part_a": np.asarray(contacts.part_a, dtype=np.int32),
        "contact_part_b": np.asarray(contacts.part_b, dtype=np.int32),
        "contact_impulse": np.asarray(contacts.impulse, dtype=np.float64),
        "contact_position": np.asarray(contacts.position, dtype=np.float64).reshape(-1, 3),
        **particle_arrays(shot.particles),  # particles_* (docs/particles.md); none without particles
    }


def shot_meta(shot: Shot) -> dict[str, Any]:
    """meta.json's content for the simulation stage."""
    spec = shot.scene.spec
    camera = shot.camera
    return {
        "versions": library_versions(),
        "scene_file": shot.scene.source.name,
        "spec": shot.scene.resolved_dict(),
        "spec_hash": shot.scene.spec_hash(),
        "fps": spec.shot.fps,
        "physics_hz": spec.shot.physics_hz,
        "num_frames": shot.num_frames,
        "trajectory_rows": len(shot.trajectory.t),
        "resolution": [camera.width, camera.height],
        "K": np.asarray(camera.K, dtype=np.float64),
        "world_to_camera": np.asarray(camera.world_to_camera, dtype=np.float64),
        "ids": {
            str(part.seg_id): {"name": part.name, "object": part.object_name, "link": part.link_name}
            for part in shot.parts
        }
        | particle_ids(shot.particles),
        "engine": shot.engine_params,
        "seeds": {"shot": spec.shot.seed, "generate": spec.generate.seed if spec.generate.seed is not None else spec.shot.seed},
        "contacts": int(len(shot.contacts.t)),
    }


def write_shot(out_dir: str | Path, shot: Shot) -> None:
    """Write OUT/trajectory.npz and OUT/meta.json (replacing meta.json: simulation is the first stage)."""
    out_dir = Path(out_dir)
    write_npz(out_dir / "trajectory.npz", **trajectory_arrays(shot))
    write_json(out_dir / "meta.json", shot_meta(shot))

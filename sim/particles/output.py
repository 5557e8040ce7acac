"""The particle arrays of trajectory.npz (all named `particles_*`, see docs/conventions.md)."""

from __future__ import annotations

import numpy as np

from ..records import ParticleTrack

PREFIX = "particles_"


def particle_arrays(track: ParticleTrack | None) -> dict[str, np.ndarray]:
    """The arrays to add to trajectory.npz; empty when the shot has no particles.

    P particles (one column each; a particle's id is its column), E emitters and fluid blocks,
    T = N + 1 rows.
    """
    if track is None:
        return {}
    return {
        f"{PREFIX}emitter_names": np.asarray(track.emitter_names, dtype=np.str_),
        f"{PREFIX}emitter_kinds": np.asarray(track.emitter_kinds, dtype=np.str_),
        f"{PREFIX}emitter_seg_ids": np.asarray(track.emitter_seg_ids, np.int32),
        f"{PREFIX}emitter_colors": np.asarray(track.emitter_colors, np.float32),
        f"{PREFIX}emitter": np.asarray(track.emitter, np.int32),
        f"{PREFIX}radius": np.asarray(track.radius, np.float32),
        f"{PREFIX}position": np.asarray(track.position, np.float32),
        f"{PREFIX}velocity": np.asarray(track.velocity, np.float32),
        f"{PREFIX}alive": np.asarray(track.alive, bool),
    }


def track_from_arrays(arrays) -> ParticleTrack | None:
    """Read the particle arrays back (from np.load of trajectory.npz); None when absent."""
    if f"{PREFIX}position" not in arrays:
        return None
    return ParticleTrack(
        emitter_names=tuple(str(n) for n in arrays[f"{PREFIX}emitter_names"]),
        emitter_kinds=tuple(str(k) for k in arrays[f"{PREFIX}emitter_kinds"]),
        emitter_seg_ids=np.asarray(arrays[f"{PREFIX}emitter_seg_ids"], np.int32),
        emitter_colors=np.asarray(arrays[f"{PREFIX}emitter_colors"], np.float32),
        emitter=np.asarray(arrays[f"{PREFIX}emitter"], np.int32),
        radius=np.asarray(arrays[f"{PREFIX}radius"], np.float32),
        position=np.asarray(arrays[f"{PREFIX}position"], np.float32),
        velocity=np.asarray(arrays[f"{PREFIX}velocity"], np.float32),
        alive=np.asarray(arrays[f"{PREFIX}alive"], bool),
    )


def particle_ids(track: ParticleTrack | None) -> dict[str, dict]:
    """meta.json `ids` entries of the emitters: seg id -> {name, object, link: None, kind: particles}."""
    if track is None:
        return {}
    return {
        str(int(seg_id)): {"name": name, "object": name, "link": None, "kind": "particles"}
        for name, seg_id in zip(track.emitter_names, track.emitter_seg_ids)
    }

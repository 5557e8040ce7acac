"""`simulate(scene) -> Shot`: run the rigid and articulated bodies of a scene in pybullet.

The world runs in DIRECT mode at `physics_hz`; frame i (t = i / fps) is recorded after
i * substeps physics steps, for frames 0..N (one past the end). Every part's pose is its
centre-of-mass frame in world coordinates (see sim/records.py).
"""

from __future__ import annotations

import numpy as np
import pybullet as p
from tqdm import tqdm

from .camera import CameraPoseError, camera_track
from .contacts import ContactTracker
from .events import EventPlayer, compile_events
from .particles import with_particles
from .records import Shot, Trajectory
from .spec import Scene
from .stability import MAX_PENETRATION_M, check_initial_overlap, check_penetration, check_state_row
from .state import STATE_COLUMNS, PartStateReader, split_states
from .timing import timed
from .world import build_world


def simulate(scene: Scene, *, progress: bool = False, particles: bool = True) -> Shot:
    """Simulate `scene` and return its Shot (trajectory, parts, contacts, camera, particles).

    `particles=False` leaves out step 6 (the particles and liquids); `with_particles(shot)` adds
    them afterwards, the same arrays (engine.pipeline times the two as separate stages).

    Raises SpecError (at the field's YAML line) for a camera pose that is undefined,
    SimulationError when the simulation goes unstable (naming the object and the time).
    Every other spec rule was checked when the scene was loaded.
    """
    spec = scene.spec.shot
    dt = 1.0 / spec.physics_hz
    frames, substeps = spec.num_frames, spec.substeps
    t = np.arange(frames + 1, dtype=np.float64) / spec.fps
    # 1. A camera that needs no trajectory is checked before any physics runs.
    camera = None if scene.spec.camera.follow is not None else _camera(scene, t, None)
    # 2. Build the world and compile the events against it.
    with build_world(scene) as world:
        player = EventPlayer(world, compile_events(world))
        # 3. Reject bodies that start inside each other; contacts at t = 0 are not onsets.
        p.performCollisionDetection(physicsClientId=world.client)
        tracker = ContactTracker(world, dt)
        tracker.read()
        check_initial_overlap(world.parts, tracker.pairs())
        tracker.start()
        # 4. Record frame 0, then step and record frames 1..N.
        reader = PartStateReader(world)
        states = np.zeros((frames + 1, len(world.parts), STATE_COLUMNS))  # sim.state's columns
        reader.read_all_into(states[0])
        check_state_row(world.parts, 0.0, states[0])
        last_event_step = player.last_step
        # The loop below runs every physics step: its calls are bound to locals, and stepSimulation takes the
        # client by position (parsing keywords costs 0.25 us a call).
        client, step_simulation, observe = world.client, p.stepSimulation, tracker.observe
        frame_indices = range(frames)
        if progress:
            frame_indices = tqdm(frame_indices, desc="simulate", unit="frame", leave=False)
        for frame in frame_indices:
            tracker.begin_frame()
            frame_time = float(t[frame + 1])
            for step in range(frame * substeps, (frame + 1) * substeps):
                if step <= last_event_step:
                    player.before_step(step)
                step_simulation(client)
                observe(frame_time)
                if tracker.deepest_distance < -MAX_PENETRATION_M:
                    check_penetration(world.parts, (step + 1) * dt, tracker.deepest())
            reader.read_moving_into(states[frame + 1])
            check_state_row(world.parts, float(t[frame + 1]), states[frame + 1])
        # 5. Parts that never move were read once; copy frame 0 to every frame.
        static_rows = [h.first_part for h in world.bodies if h.spec.static and not h.links]
        states[:, static_rows] = states[0, static_rows]
        trajectory = Trajectory(t, tuple(part.name for part in world.parts), *split_states(states))
        shot = Shot(
            scene=scene,
            parts=world.parts,
            trajectory=trajectory,
            camera=camera or _camera(scene, t, trajectory.position[:, world.body(scene.spec.camera.follow.object).first_part]),
            contacts=tracker.events(),
            engine_params=world.engine_params,
        )
    # 6. Particles and liquids, one-way coupled: they read the recorded trajectory (sim/particles).
    if not particles:
        return shot
    with timed("particles"):
        return with_particles(shot)


def _camera(scene: Scene, t: np.ndarray, follow: np.ndarray | None):
    """The camera track at times t [T]; `follow` [T, 3] is the followed body's base position (follow paths)."""
    camera = scene.spec.camera
    try:
        return camera_track(camera, t, follow, duration=scene.spec.shot.duration, source=str(scene.source))
    except CameraPoseError as exc:
        # The pose is checked where it is computed; the path is written under its own key (orbit, dolly, ...).
        at = ("camera", camera.path_kind) if camera.path_kind != "fixed" and exc.at == ("look_at",) else ("camera",) + exc.at
        raise scene.spec_error(at, exc.problem, exc.hint) from None

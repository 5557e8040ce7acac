"""Simulation speed: frames simulated per second, and the cost of recording over a bare pybullet loop.

For each scene, in the same run:
- recorded: `simulate(scene)` (world build, events, contact onsets, instability checks, state
  recording, camera track);
- bare: `build_world(scene)` and the same number of `stepSimulation` calls, nothing read.
ratio = recorded time / bare time (goal <= 1.2). Times are CPU time of this process
(time.process_time: the machine is shared, and other jobs' load would otherwise enter the
ratio), each the median of --repeats interleaved runs. For scale, it also times the bare loop
plus one getContactPoints call per step (what exact contact-onset tracking cannot avoid reading),
the bare loop plus one pose read of every moving body per step (what a pose-based gate for the
contact reads would cost), and `simulate` with contact tracking switched off (everything else
`simulate` does: state recording, stability checks, camera). Last, the contact tracker's own Python
per physics step, without the getContactPoints call: the manifolds of one run are captured and
replayed through a fresh tracker (median of --repeats replays; this one is not a ratio and is
steadier than the ratios on a shared machine).

Run: python bench/sim.py [--seconds 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from physreel.sim.quiet import c_output_silenced

with c_output_silenced():  # pybullet prints its build time on import
    import pybullet as p

import physreel.sim.simulate as simulate_module  # noqa: E402
from physreel.sim.contacts import ContactTracker  # noqa: E402
from physreel.sim.events import EventPlayer, compile_events  # noqa: E402
from physreel.sim.simulate import simulate  # noqa: E402
from physreel.sim.spec import scene_from_data  # noqa: E402
from physreel.sim.world import build_world  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "bench_scene.yaml"  # pseudo path; nothing is read from it


def twenty_bodies(seconds: float) -> dict:
    """A floor and 20 boxes dropped in a loose 5 x 4 tower that topples and settles."""
    return {
        "shot": {"duration": seconds, "fps": 24, "physics_hz": 240},
        "camera": {"resolution": [64, 64]},
        "objects": [
            {"name": "floor", "shape": "plane"},
            {"name": "box", "shape": "box", "size": [0.2, 0.2, 0.2], "position": [0, 0, 0.11], "euler_deg": [0, 0, 5],
             "grid": {"counts": [5, 1, 4], "spacing": [0.205, 0.3, 0.21]}},
        ],
        "events": [{"at": 0.5, "object": "box_0_0_3", "impulse": [2.0, 0, 0]}],
    }


def humanoid(seconds: float) -> dict:
    """A floor and a ragdoll humanoid (16 parts) falling from standing."""
    return {
        "shot": {"duration": seconds, "fps": 24, "physics_hz": 240},
        "camera": {"resolution": [64, 64]},
        "objects": [
            {"name": "floor", "shape": "plane"},
            {"name": "man", "shape": "urdf", "file": "humanoid/humanoid.urdf", "scale": 0.25, "position": [0, 0, 0.95],
             "euler_deg": [90, 0, 0], "angular_velocity": [0.5, 0, 0]},
        ],
    }


def time_recorded(scene) -> float:
    started = time.process_time()
    simulate(scene)
    return time.process_time() - started


class NoContacts(ContactTracker):
    """A tracker that reads nothing after each step (for timing only: it records no onsets)."""

    def observe(self, frame_time: float) -> None:
        pass


def time_recorded_without_contacts(scene) -> float:
    simulate_module.ContactTracker = NoContacts
    try:
        return time_recorded(scene)
    finally:
        simulate_module.ContactTracker = ContactTracker


def time_bare(scene) -> float:
    steps = scene.spec.shot.num_frames * scene.spec.shot.substeps
    started = time.process_time()
    with build_world(scene) as world:
        client = world.client
        for _ in range(steps):
            p.stepSimulation(physicsClientId=client)
    return time.process_time() - started


def time_bare_with_contacts(scene) -> float:
    """The bare loop plus one getContactPoints call per step: the floor of per-step contact tracking."""
    steps = scene.spec.shot.num_frames * scene.spec.shot.substeps
    started = time.process_time()
    with build_world(scene) as world:
        client = world.client
        for _ in range(steps):
            p.stepSimulation(physicsClientId=client)
            p.getContactPoints(physicsClientId=client)
    return time.process_time() - started


def time_bare_with_poses(scene) -> float:
    """The bare loop plus every moving body's pose after each step (one call per body, links batched per URDF)."""
    steps = scene.spec.shot.num_frames * scene.spec.shot.substeps
    started = time.process_time()
    with build_world(scene) as world:
        client = world.client
        rigid = [h.body_id for h in world.bodies if not h.links and not h.spec.static]
        articulated = [(h.body_id, list(h.links)) for h in world.bodies if h.links]
        for _ in range(steps):
            p.stepSimulation(physicsClientId=client)
            for body in rigid:
                p.getBasePositionAndOrientation(body, physicsClientId=client)
            for body, links in articulated:
                p.getBasePositionAndOrientation(body, physicsClientId=client)
                p.getLinkStates(body, links, computeForwardKinematics=1, physicsClientId=client)
    return time.process_time() - started


def tracker_python_us_per_step(scene, repeats: int) -> float:
    """Median CPU microseconds per physics step of ContactTracker.observe on the scene's captured manifolds."""
    steps, substeps = scene.spec.shot.num_frames * scene.spec.shot.substeps, scene.spec.shot.substeps
    dt = 1.0 / scene.spec.shot.physics_hz
    get_contact_points = p.getContactPoints
    with build_world(scene) as world:
        client = world.client
        player = EventPlayer(world, compile_events(world))
        p.performCollisionDetection(physicsClientId=client)
        manifolds = [get_contact_points(physicsClientId=client)]
        for step in range(steps):
            if step <= player.last_step:
                player.before_step(step)
            p.stepSimulation(physicsClientId=client)
            manifolds.append(get_contact_points(physicsClientId=client))
        times = []
        for _ in range(repeats):
            replay = iter(manifolds)
            p.getContactPoints = lambda *args, **kwargs: next(replay)  # the tracker reads the captured manifolds
            try:
                tracker = ContactTracker(world, dt)
                tracker.read()
                tracker.start()
                started = time.process_time()
                for step in range(steps):
                    if step % substeps == 0:
                        tracker.begin_frame()
                    tracker.observe(0.0)
                times.append(time.process_time() - started)
            finally:
                p.getContactPoints = get_contact_points
    return statistics.median(times) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=4.0, help="shot duration of each scene")
    parser.add_argument("--repeats", type=int, default=5, help="median of this many runs")
    args = parser.parse_args()
    for name, build in (("20 bodies", twenty_bodies), ("humanoid", humanoid)):
        scene = scene_from_data(build(args.seconds), SOURCE)
        frames = scene.spec.shot.num_frames
        recorded, bare, contacts, poses, no_contacts = [], [], [], [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit all alike
            recorded.append(time_recorded(scene))
            no_contacts.append(time_recorded_without_contacts(scene))
            bare.append(time_bare(scene))
            contacts.append(time_bare_with_contacts(scene))
            poses.append(time_bare_with_poses(scene))
        recorded_s, bare_s, contacts_s, poses_s, no_contacts_s = (statistics.median(x) for x in (recorded, bare, contacts, poses, no_contacts))
        print(
            f"{name:10s}: {frames} frames x {scene.spec.shot.substeps} steps, {len(simulate(scene).parts)} parts | "
            f"recorded {frames / recorded_s:7.1f} frames/s | bare pybullet {frames / bare_s:7.1f} frames/s | "
            f"ratio {recorded_s / bare_s:.3f} (goal <= 1.2) | bare + getContactPoints each step: ratio {contacts_s / bare_s:.3f} | "
            f"bare + every pose each step: ratio {poses_s / bare_s:.3f} | recorded without contact tracking: ratio {no_contacts_s / bare_s:.3f} | "
            f"tracker Python {tracker_python_us_per_step(scene, args.repeats):.1f} us/step"
        )


if __name__ == "__main__":
    main()

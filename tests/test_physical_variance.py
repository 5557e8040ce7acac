"""The second take (Physics-IQ's physical variance): tiny, documented, reproducible perturbations of the
initial conditions, and a second simulation that differs a little, not a lot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physreel.engine import physical_variance as pv
from physreel.sim.simulate import simulate
from physreel.sim.spec import load_scene

SCENES = Path(__file__).resolve().parents[1] / "scenes"


def test_the_perturbation_is_reproducible_and_moves_only_what_the_docs_say():
    scene = load_scene(SCENES / "bouncing_ball.yaml")
    first, again = pv.perturbed_scene(scene), pv.perturbed_scene(scene)
    assert first.spec == again.spec and first.spec != scene.spec  # same seed, same second take
    ball, moved = scene.spec.objects[1], first.spec.objects[1]
    assert moved.position[2] == ball.position[2]  # heights kept
    shift = np.subtract(moved.position[:2], ball.position[:2])
    assert 0 < np.abs(shift).max() < 5 * pv.POSITION_SIGMA_M
    assert 0 < np.abs(np.subtract(moved.velocity, ball.velocity)).max() < 5 * pv.VELOCITY_SIGMA_MS
    assert first.spec.objects[0] == scene.spec.objects[0]  # the static floor is untouched
    assert (first.spec.shot, first.spec.camera, first.spec.events) == (scene.spec.shot, scene.spec.camera, scene.spec.events)


def test_rows_of_copies_get_one_offset_each_and_a_pinned_urdf_only_its_joints():
    dominoes = pv.perturbed_scene(load_scene(SCENES / "domino_chain.yaml")).spec.objects[1]
    offsets = np.array(dominoes.repeat.offsets)
    assert offsets.shape == (20, 3) and len({tuple(o) for o in offsets}) == 20 and not offsets[:, 2].any()
    cradle_scene = load_scene(SCENES / "newtons_cradle.yaml")
    cradle, moved = cradle_scene.spec.objects[1], pv.perturbed_scene(cradle_scene).spec.objects[1]
    assert (moved.position, moved.velocity) == (cradle.position, cradle.velocity)
    assert 0 < abs(moved.joint_positions["pivot_0"] - cradle.joint_positions["pivot_0"]) < 5 * pv.JOINT_SIGMA_RAD


def test_the_second_simulation_differs_by_millimetres_to_centimetres():
    scene = load_scene(SCENES / "bouncing_ball.yaml")
    one, two = simulate(scene), simulate(pv.perturbed_scene(scene))
    ball = one.trajectory.part_names.index("ball")
    gap = np.linalg.norm(one.trajectory.position[:, ball] - two.trajectory.position[:, ball], axis=-1)
    # starts 1-4 mm apart (the x, y draw), drifts by the velocity draw (~2 cm/s over 2 s) and the bounces' timing
    assert 1e-4 < gap[0] < 0.01 and 0.01 < gap.max() < 0.1  # measured: 3 mm, then 6 cm at the end

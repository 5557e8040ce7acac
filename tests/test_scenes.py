"""The example scenes in scenes/: each validates, is small enough for demos, simulates without
instability, and does what its comment promises (the ball bounces, the dominoes all fall, ...).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from physreel.sim.camera import project
from physreel.sim.simulate import simulate
from physreel.sim.spec import load_scene, scene_from_data
from physreel.sim.spec.model import expanded_names

SCENES = Path(__file__).resolve().parents[1] / "scenes"
SCENE_FILES = sorted(SCENES.glob("*.yaml"))


def _is_slow(path: Path) -> bool:
    """Scenes whose set-up alone takes seconds on a CPU: a V-HACD convex decomposition, or particles."""
    spec = load_scene(path).spec
    decomposed = any(getattr(o, "collision", "") == "convex_decomposition" for o in spec.objects)
    return decomposed or bool(spec.emitters) or bool(spec.fluid_blocks)


def _scene_param(path: Path):
    marks = [pytest.mark.slow] if _is_slow(path) else []
    return pytest.param(path, id=path.stem, marks=marks)


def _simulate(scene):
    return simulate(scene)


def _tilt_deg(quaternions_xyzw: np.ndarray) -> np.ndarray:
    """Angle between each body's local +Z and world +Z, degrees. [..., 4] -> [...]."""
    x, y = quaternions_xyzw[..., 0], quaternions_xyzw[..., 1]
    z_of_local_z = 1.0 - 2.0 * (x * x + y * y)
    return np.degrees(np.arccos(np.clip(z_of_local_z, -1.0, 1.0)))


def _rows(shot, prefix: str) -> list[int]:
    return [i for i, name in enumerate(shot.trajectory.part_names) if name.startswith(prefix)]


# ------------------------------------------------------------------------ every scene
def test_there_are_at_least_eight_example_scenes():
    assert len(SCENE_FILES) >= 8


@pytest.mark.parametrize("path", SCENE_FILES, ids=[p.stem for p in SCENE_FILES])
def test_example_scene_validates_and_stays_small(path):
    """Every example has a prompt and negative prompt and stays demo-sized (<= 512x512, <= 4 s)."""
    spec = load_scene(path).spec
    assert spec.shot.name == path.stem
    assert len(spec.shot.prompt.split()) >= 10, "a prompt a video model can use"
    assert len(spec.shot.negative_prompt.split()) >= 5
    width, height = spec.camera.resolution
    assert width <= 512 and height <= 512
    assert spec.shot.duration <= 4.0
    assert len(expanded_names(spec)) >= 2


@pytest.mark.parametrize("path", [_scene_param(p) for p in SCENE_FILES])
def test_example_scene_simulates_briefly_without_instability(path):
    """Each example over its first 0.5 s at 64x64: the simulator raises on NaN, blow-ups and overlaps."""
    data = yaml.safe_load(path.read_text())
    data["shot"]["duration"] = 0.5
    data["camera"]["resolution"] = [64, 64]
    shot = _simulate(scene_from_data(data, path))
    trajectory = shot.trajectory
    assert trajectory.position.shape[0] == 13  # round(0.5 * 24) frames + one past the end
    assert np.isfinite(trajectory.position).all() and np.isfinite(trajectory.linear_velocity).all()
    # Nothing leaves at more than 30 m/s (the fastest example, the bowling ball, starts at 8 m/s).
    assert np.linalg.norm(trajectory.linear_velocity, axis=-1).max() < 30.0


# ------------------------------------------------------------------------------ framing
# The body each shot is about; it must stay in the picture.
SUBJECTS = {
    "bouncing_ball": "ball",
    "block_tower": "block_2_1",
    "ramp_roll": "marble",
    "bowling": "ball",
    "newtons_cradle": "cradle/ball_4",
    "ragdoll_stairs": "mannequin/chest",
    "fruit_bowl": "apple",
}


def _in_frame(shot) -> np.ndarray:
    """bool [T-1, B]: each part's centre of mass projects inside the image in front of the camera."""
    frames = shot.trajectory.num_frames
    projected = [project(shot.trajectory.position[f], shot.camera.world_to_camera[f], shot.camera.K) for f in range(frames)]
    uv = np.stack([p[0] for p in projected])  # [T-1, B, 2] pixels
    depth = np.stack([p[1] for p in projected])  # [T-1, B] metres
    return (depth > 0) & (uv[..., 0] >= 0) & (uv[..., 0] < shot.camera.width) & (uv[..., 1] >= 0) & (uv[..., 1] < shot.camera.height)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if _is_slow(SCENES / f"{n}.yaml") else []) for n in sorted(SUBJECTS)]
)
def test_the_subject_of_each_scene_stays_in_the_picture(name):
    """The subject's centre is in the image in at least 85 % of the frames (it may enter or leave)."""
    shot = _simulate(load_scene(SCENES / f"{name}.yaml"))
    inside = _in_frame(shot)[:, shot.trajectory.part_names.index(SUBJECTS[name])]
    assert inside.mean() >= 0.85, f"{SUBJECTS[name]} in frame only {inside.mean():.0%} of the time"


def test_each_domino_is_in_the_picture_when_it_falls_and_at_the_end():
    shot = _simulate(load_scene(SCENES / "domino_chain.yaml"))
    rows = _rows(shot, "domino_")
    inside = _in_frame(shot)[:, rows]
    falls = np.argmax(_tilt_deg(shot.trajectory.orientation[:, rows]) > 30, axis=0)
    assert inside[falls, np.arange(len(rows))].all(), "a domino falls out of the picture"
    assert inside[-1].all(), "the last frame shows the whole fallen line"


# ----------------------------------------------------------------- what each scene does
def test_bouncing_ball_bounces_with_the_combined_restitution():
    """Peaks after each bounce scale by e^2 with e = 0.9 x 0.85 (Bullet multiplies restitutions).

    Tolerance 15 %: peaks are sampled at 24 fps (error under 2 mm) and Bullet's contact
    handling loses a little energy at each impact.
    """
    shot = _simulate(load_scene(SCENES / "bouncing_ball.yaml"))
    z = shot.trajectory.position[:, shot.trajectory.part_names.index("ball"), 2]
    radius = 0.12
    touchdown = int(np.argmax(z < radius + 0.05))
    assert touchdown > 0, "the ball reaches the floor"
    peak_index = touchdown + int(np.argmax(z[touchdown:touchdown + 20]))
    assert z[peak_index] > z[touchdown] + 0.3, "the ball rises again after touching down"
    first_drop = 1.2 - radius
    rebound = z[peak_index] - radius
    assert rebound / first_drop == pytest.approx((0.9 * 0.85) ** 2, rel=0.15)


def test_domino_chain_topples_to_the_last_domino():
    shot = _simulate(load_scene(SCENES / "domino_chain.yaml"))
    rows = _rows(shot, "domino_")
    assert len(rows) == 20
    tilt = _tilt_deg(shot.trajectory.orientation[-1, rows])
    assert (tilt > 60).all(), f"standing dominoes at the end: {np.flatnonzero(tilt <= 60)}"
    # They fall in order: each domino passes 30 degrees no earlier than the one before it.
    first_fall = np.argmax(_tilt_deg(shot.trajectory.orientation[:, rows]) > 30, axis=0)
    assert (np.diff(first_fall) >= 0).all()


def test_block_tower_is_knocked_over():
    shot = _simulate(load_scene(SCENES / "block_tower.yaml"))
    rows = _rows(shot, "block_")
    start, end = shot.trajectory.position[0, rows], shot.trajectory.position[-1, rows]
    top = shot.trajectory.part_names.index("block_4_0")
    assert shot.trajectory.position[-1, top, 2] < 0.3, "the top block (at 0.9 m) ends near the floor"
    moved = np.linalg.norm(end - start, axis=1) > 0.1
    assert moved.sum() >= 8, f"only {moved.sum()} of 15 blocks moved"


def test_marble_rolls_off_the_table_onto_the_floor():
    shot = _simulate(load_scene(SCENES / "ramp_roll.yaml"))
    marble = shot.trajectory.position[:, shot.trajectory.part_names.index("marble")]
    assert marble[-1, 0] > 0.8, "past the table's edge at x = 0.8 m"
    assert marble[-1, 2] == pytest.approx(0.05, abs=0.01), "resting on the floor (radius 5 cm)"


def test_bowling_ball_knocks_down_most_pins():
    shot = _simulate(load_scene(SCENES / "bowling.yaml"))
    rows = _rows(shot, "head_pin") + _rows(shot, "pin_row")
    assert len(rows) == 10
    down = _tilt_deg(shot.trajectory.orientation[-1, rows]) > 45
    assert down.sum() >= 7, f"only {down.sum()} pins down"


def test_newtons_cradle_passes_the_impact_to_the_last_ball():
    """Ball 0 starts raised; the middle three barely move while ball 4 swings out."""
    shot = _simulate(load_scene(SCENES / "newtons_cradle.yaml"))
    names = shot.trajectory.part_names
    x = shot.trajectory.position[:, :, 0]
    last = x[:, names.index("cradle/ball_4")]
    assert last.max() - last[0] > 0.06, "the last ball swings out"
    for i in (1, 2, 3):
        middle = x[:, names.index(f"cradle/ball_{i}")]
        assert np.abs(middle - middle[0]).max() < 0.03, f"ball {i} should stay nearly still"


def test_ragdoll_tumbles_down_the_stairs():
    shot = _simulate(load_scene(SCENES / "ragdoll_stairs.yaml"))
    chest = shot.trajectory.position[:, shot.trajectory.part_names.index("mannequin/chest")]
    assert chest[0, 2] > 2.0 and chest[0, 0] < 0.0, "starts upright on the landing"
    assert chest[-1, 2] < 0.6, "ends down on the floor"
    assert chest[-1, 0] > 1.0, "past the steps"


@pytest.mark.slow
def test_fruit_lands_in_the_bowl():
    shot = _simulate(load_scene(SCENES / "fruit_bowl.yaml"))
    for fruit in ("apple", "pear", "banana", "green_apple"):
        position = shot.trajectory.position[-1, shot.trajectory.part_names.index(fruit)]
        assert np.hypot(position[0], position[1]) < 0.2, f"{fruit} inside the bowl's rim (radius 0.21 m)"
        assert position[2] < 0.15, f"{fruit} has come to rest, not balanced on the rim"

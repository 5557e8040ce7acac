"""Test doubles for `physreel compare`: the synthetic exact-flow shot as simulate/render stages,
and a backend that echoes its control video when guided and makes seeded noise when not."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import synthetic_video as sv
from physreel.conditioning.records import Passes
from physreel.conditioning.video import write_png_sequence
from physreel.engine.backends.base import Backend, BackendInfo
from physreel.engine.pipeline import Stages
from physreel.engine.records import GeneratedVideo, GenerationRequest, ShapePlan
from physreel.sim.files import write_npz
from physreel.sim.records import CameraTrack, ContactEvents, Part, Shot, Trajectory

SCENE_YAML = f"""\
shot: {{name: synthetic_square, duration: 1.0, fps: 12, seed: 3, prompt: a textured square slides}}
camera: {{resolution: [{sv.SIZE}, {sv.SIZE}]}}
objects:
  - {{name: floor, shape: plane}}
  - {{name: square, shape: box}}
"""


def write_scene(directory: Path) -> Path:
    path = Path(directory) / "synthetic.yaml"
    path.write_text(SCENE_YAML)
    return path


def synthetic_shot(scene, bars=False) -> Shot:
    rows = sv.FRAMES + 1
    zeros = np.zeros((rows, 2, 3))
    return Shot(
        scene=scene,
        parts=(Part("floor", "floor", None, -1, sv.BACKGROUND_ID, "plane", True, ()),
               Part("square", "square", None, -1, sv.OBJECT_ID, "box", False, ())),
        trajectory=Trajectory(np.arange(rows) / 12.0, ("floor", "square"), zeros, np.tile([0, 0, 0, 1.0], (rows, 2, 1)), zeros, zeros),
        camera=CameraTrack(sv.SIZE, sv.SIZE, sv.make_passes().K, np.repeat(np.eye(4)[None], rows, axis=0)),
        contacts=ContactEvents(np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0), np.zeros((0, 3))),
    )


def _render(shot, resolution, bars=False) -> Passes:
    if resolution not in (None, (sv.SIZE, sv.SIZE)):
        raise ValueError(f"the synthetic shot exists at {sv.SIZE}x{sv.SIZE} only, asked for {resolution}")
    return sv.make_passes()


def synthetic_stages() -> Stages:
    def write_passes(out: Path, shot, passes: Passes, controls=None) -> None:
        write_npz(Path(out) / "passes.npz", flow_fwd=passes.flow_fwd, seg=passes.seg)
        write_png_sequence(Path(out) / "control" / "rgb", passes.rgb)

    return Stages(
        simulate=synthetic_shot,
        write_shot=lambda out, shot: write_npz(Path(out) / "trajectory.npz", t=shot.trajectory.t),
        render_passes=_render,
        write_passes=write_passes,
        control_image=lambda passes, kind, **options: passes.rgb,  # the 'control' is the ground-truth render
    )


class EchoBackend(Backend):
    """Guided: returns its first control video (here the ground truth). Unguided: seeded noise."""

    name = "echo"
    controls = ("depth", "flow", "seg", "normal", "edges", "pose")

    def describe(self) -> BackendInfo:
        return BackendInfo(self.name, "test double", (), self.controls)

    def generate(self, request: GenerationRequest, progress: bool = False) -> GeneratedVideo:
        self.check_request(request)
        if request.controls:
            frames = request.controls[0].frames.copy()
        else:
            rng = np.random.default_rng(request.seed)
            frames = rng.integers(0, 256, (request.num_frames, request.height, request.width, 3), dtype=np.uint8)
        return GeneratedVideo(frames, request.fps, {"backend": self.name, "seed": request.seed, "guided": request.guided})


class ShortEchoBackend(EchoBackend):
    """Like EchoBackend, but makes at most 8 frames (as Wan keeps the first 4k+1)."""

    name = "short-echo"

    def plan_shape(self, num_frames: int, width: int, height: int) -> ShapePlan:
        frames = min(num_frames, 8)
        notes = (f"short-echo: using the first {frames} of the shot's {num_frames} frames",) if frames < num_frames else ()
        return ShapePlan(frames, width, height, notes)


class HalfSizeEchoBackend(EchoBackend):
    """Like EchoBackend, but its native size is half the shot's."""

    name = "half-echo"

    def default_size(self, pass_size: tuple[int, int]) -> tuple[int, int]:
        return pass_size[0] // 2, pass_size[1] // 2

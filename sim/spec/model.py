"""The scene spec: a strict, frozen pydantic model of one shot.

Every field has a documented default that is written into the resolved spec
(`SceneSpec.model_dump()`), unknown keys are errors, and cross-field rules are model
validators. Units are SI; fields in degrees say so in their names (`fov_deg`, `euler_deg`).
Quaternions are [x, y, z, w] (pybullet's order).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from . import counts
from .ade20k import AdeClass, default_semantic
from .errors import FieldProblem, raise_problems
from .particles import EmitterSpec, FluidBlockSpec
from .types import (
    BackendName,
    ColorRGB,
    ControlKind,
    Device,
    Dtype,
    FiniteFloat,
    NonNegativeFloat,
    PositiveFloat,
    PositiveVec2,
    PositiveVec3,
    QuaternionXYZW,
    Resolution,
    UnitInterval,
    Vec3,
)

# Resource limits checked before any work starts (see `check_resources`).
MAX_FRAME_PIXELS = 120_000_000
"""frames x width x height: passes take ~40 bytes per pixel-frame, so this bounds them to ~5 GB."""
MAX_FRAMES = 2400
MAX_BODIES = 2000
"""Rigid parts after copies (repeat, grid, pyramid) and URDF links: pybullet steps 2000 boxes in
contact through a 2 s shot in about 40 s on two cores; more runs for minutes."""
MAX_EVENTS = 1000
"""Events of a scene: each unknown name is matched against every body for a "did you mean"."""
MAX_CONTROLS = 16
"""Controls of a generation: each is resampled to the video's size and held in memory."""
MAX_PARTICLE_SOURCES = 100
"""Emitters plus fluid blocks: each is a segment the particle solver walks every substep."""


class Strict(BaseModel):
    """Base of every spec record: unknown keys forbidden, strict types, immutable."""

    # Attribute docstrings become the JSON Schema's descriptions (editor hover text).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


# ----------------------------------------------------------------------------- shot
class ShotSpec(Strict):
    """Timing, randomness and text of the shot."""

    name: str = "shot"
    """Name of the shot; used in file names and reports."""
    duration: PositiveFloat = 2.0
    """Length of the shot in seconds; the shot has N = round(duration * fps) frames."""
    fps: Annotated[int, Field(gt=0, le=240)] = 24
    """Frames per second of the rendered shot (1..240)."""
    physics_hz: Annotated[int, Field(gt=0, le=10000)] = 240
    """Physics steps per second; must be an integer multiple of fps."""
    seed: Annotated[int, Field(ge=0, lt=2**31)] = 0
    """Seed of every random choice (procedural textures, particles, generation by default)."""
    gravity: Vec3 = (0.0, 0.0, -9.81)
    """m/s^2, world frame (Z up)."""
    prompt: str = ""
    """Text describing the shot for the video model."""
    negative_prompt: str = ""
    """What the video model should avoid."""

    @field_validator("physics_hz")
    @classmethod
    def _physics_hz_is_multiple_of_fps(cls, physics_hz: int, info: ValidationInfo) -> int:
        fps = info.data.get("fps")
        if fps and physics_hz % fps != 0:
            raise ValueError(
                f"physics_hz ({physics_hz}) must be an integer multiple of fps ({fps}); "
                f"try physics_hz: {max(1, round(physics_hz / fps)) * fps}"
            )
        return physics_hz

    @model_validator(mode="after")
    def _frames_within_limits(self) -> "ShotSpec":
        if self.num_frames < 1:
            raise FieldProblem(
                f"duration {self.duration} s at {self.fps} fps gives no frame",
                f"use duration >= {1 / self.fps:.4g}",
                at=("duration",),
            )
        if self.num_frames > MAX_FRAMES:
            raise FieldProblem(
                f"{counts.shown(self.num_frames)} frames exceed the limit of {MAX_FRAMES}", "shorten shot.duration or lower shot.fps", at=("duration",)
            )
        return self

    @property
    def num_frames(self) -> int:
        """N = round(duration * fps); frame i is the state at t = i / fps."""
        return counts.count(self.duration * self.fps)

    @property
    def substeps(self) -> int:
        """Physics steps per frame."""
        return self.physics_hz // self.fps


# --------------------------------------------------------------------------- camera
class CameraKeyframe(Strict):
    t: NonNegativeFloat
    """Time of the keyframe in seconds."""
    position: Vec3
    """Camera position at t, metres."""
    look_at: Vec3
    """Point looked at at t, metres."""


class OrbitPath(Strict):
    """Circle around `center` at `radius` (horizontal) and `height` (above center)."""

    center: Vec3 = (0.0, 0.0, 0.0)
    """Point the orbit circles and looks at, metres."""
    radius: PositiveFloat = 5.0
    """Horizontal distance from center, metres."""
    height: FiniteFloat = 2.0
    """Camera height above center, metres."""
    start_deg: FiniteFloat = -90.0
    """Azimuth at t=0, degrees counter-clockwise from +X about +Z (-90 puts the camera on -Y)."""
    end_deg: FiniteFloat = 0.0
    """Azimuth at t = shot.duration (trajectory row N, one past the last frame of the passes)."""


class DollyPath(Strict):
    """Straight move of the camera from `start` to `end` over the shot, looking at `look_at`."""

    start: Vec3
    """Camera position at t = 0, metres."""
    end: Vec3
    """Camera position at the end of the shot, metres."""
    look_at: Vec3
    """Point looked at throughout, metres."""


def _follow_shorthand(value):
    """`follow: ball` is short for `follow: {object: ball}`."""
    if isinstance(value, str):
        return {"object": value}
    return value


class FollowPath(Strict):
    """Keep an object framed: the camera sits at the object's position + `offset` and looks at it."""

    object: str
    """Name of the body to follow (a copy by its expanded name, e.g. domino_3)."""
    offset: Vec3 = (0.0, -4.0, 1.5)
    """Camera position relative to the followed object's centre of mass, metres (world axes)."""


class CameraSpec(Strict):
    """Pinhole camera: vertical field of view, resolution, and a fixed pose or one path."""

    resolution: Resolution = (512, 512)
    """[width, height] in pixels."""
    fov_deg: Annotated[float, Field(gt=1, lt=179)] = 50.0
    """Vertical field of view in degrees."""
    position: Vec3 = (0.0, -6.0, 2.0)
    """Camera position for a fixed camera, metres."""
    look_at: Vec3 = (0.0, 0.0, 0.5)
    """Point a fixed camera looks at, metres."""
    up: Vec3 = (0.0, 0.0, 1.0)
    """World direction that appears up in the image; fixes the roll of every path."""
    keyframes: tuple[CameraKeyframe, ...] | None = None
    """Camera path through keyframes (at least 2, times increasing); held before the first and after the last."""
    interpolation: Literal["linear", "smooth"] = "smooth"
    """Between keyframes: linear, or smooth (Catmull-Rom through the keyframes)."""
    orbit: OrbitPath | None = None
    """Camera path: a circle around a point, linear in azimuth over the shot."""
    dolly: DollyPath | None = None
    """Camera path: a straight move over the shot."""
    follow: Annotated[FollowPath | None, BeforeValidator(_follow_shorthand, json_schema_input_type=str | FollowPath | None)] = None
    """Keep an object framed: `follow: NAME` or `follow: {object: NAME, offset: [dx, dy, dz]}`."""

    @model_validator(mode="after")
    def _one_path_at_most(self) -> "CameraSpec":
        paths = [n for n in ("keyframes", "orbit", "dolly", "follow") if getattr(self, n) is not None]
        if len(paths) > 1:
            raise FieldProblem(
                f"camera can follow one path, got {' and '.join(paths)}", "keep one", at=(paths[1],), key=True
            )
        # A setting the chosen path never reads is an error, not silently dropped (a value equal to the
        # default is what the resolved spec writes back, so it is accepted).
        unused = [n for n in ("position", "look_at") if paths and getattr(self, n) != type(self).model_fields[n].default]
        if self.keyframes is None and self.interpolation != type(self).model_fields["interpolation"].default:
            unused.append("interpolation")
        if unused:
            where = f"a camera with {paths[0]}" if paths else "a fixed camera"
            raise FieldProblem(
                f"{where} does not use {unused[0]}",
                f"remove {unused[0]}" + ("; interpolation applies to keyframes" if unused[0] == "interpolation" else f"; {paths[0]} sets the camera pose"),
                at=(unused[0],),
                key=True,
            )
        if self.keyframes is not None:
            times = [k.t for k in self.keyframes]
            if len(times) < 2:
                raise FieldProblem(
                    "keyframes needs at least 2 keyframes",
                    "for a still camera use position and look_at",
                    at=("keyframes",),
                )
            for index, (before, after) in enumerate(zip(times, times[1:]), start=1):
                if after <= before:
                    raise FieldProblem(
                        f"keyframe times must increase strictly, but t={after} follows t={before}",
                        "sort the keyframes by t",
                        at=("keyframes", index, "t"),
                    )
        return self

    @property
    def path_kind(self) -> str:
        for name in ("keyframes", "orbit", "dolly", "follow"):
            if getattr(self, name) is not None:
                return name
        return "fixed"


# -------------------------------------------------------------------------- objects
class MaterialSpec(Strict):
    """Physics material: read by pybullet only."""

    density: PositiveFloat | None = None
    """kg/m^3; used when the object gives no `mass` (default 1000, water)."""
    friction: NonNegativeFloat = 0.5
    """Lateral (Coulomb) friction coefficient."""
    rolling_friction: NonNegativeFloat = 0.0
    """Rolling friction coefficient (resists rolling; a few thousandths for balls)."""
    spinning_friction: NonNegativeFloat = 0.0
    """Spinning (torsional) friction coefficient."""
    restitution: UnitInterval = 0.2
    """Bounciness, 0..1; a contact uses the product of both bodies' values (Bullet's rule)."""
    linear_damping: NonNegativeFloat = 0.0
    """Velocity damping per second (air drag stand-in), 0 = none."""
    angular_damping: NonNegativeFloat = 0.0
    """Angular velocity damping per second, 0 = none."""

    @model_validator(mode="after")
    def _spinning_needs_rolling(self) -> "MaterialSpec":
        # Bullet solves spinning friction only in contacts whose combined rolling friction is positive
        # (tests/test_physics.py); with rolling_friction 0 here it could be silently dropped.
        if self.spinning_friction > 0 and self.rolling_friction == 0:
            raise FieldProblem(
                "spinning_friction acts only together with rolling_friction (Bullet solves both or neither)",
                "set rolling_friction > 0 too, e.g. 0.001",
                at=("spinning_friction",),
                key=True,
            )
        return self


DEFAULT_DENSITY = 1000.0


class TextureSpec(Strict):
    """A procedural solid texture in the object's own frame (moves with the object)."""

    kind: Literal["checker", "stripes", "noise"] = "checker"
    """Pattern: checker, stripes or noise."""
    scale: PositiveFloat = 0.1
    """Size of one checker square / stripe / noise feature, metres."""
    color2: ColorRGB = (0.1, 0.1, 0.1)
    """The second colour; the first is the object's `color`."""


class RepeatSpec(Strict):
    """Copies of an object in a line: copy i sits at position + i * step (+ offsets[i])."""

    count: Annotated[int, Field(ge=1, le=MAX_BODIES)]
    """Number of copies (1..2000; every object's copies count towards the scene's limit of 2000 bodies)."""
    step: Vec3 = (0.0, 0.0, 0.0)
    """Offset between consecutive copies, metres."""
    step_euler_deg: Vec3 = (0.0, 0.0, 0.0)
    """Extra rotation per copy (copy i turned by i * step_euler_deg), e.g. a curved domino line."""
    offsets: tuple[Vec3, ...] | None = None
    """Per-copy extra offsets, one per copy."""

    @model_validator(mode="after")
    def _offsets_match_count(self) -> "RepeatSpec":
        if self.offsets is not None and len(self.offsets) != self.count:
            raise FieldProblem(
                f"offsets has {len(self.offsets)} entries but count is {self.count}", "give one per copy", at=("offsets",)
            )
        return self


_GridCount = Annotated[int, Field(ge=1, le=MAX_BODIES)]


class GridSpec(Strict):
    """Copies on a grid: copy (i, j, k) sits at position + (i*dx, j*dy, k*dz)."""

    counts: Annotated[tuple[_GridCount, _GridCount, _GridCount], BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v)]
    """[nx, ny, nz] copies along X, Y, Z (each 1..2000, nx * ny * nz within the scene's limit of 2000 bodies)."""
    spacing: Vec3
    """[dx, dy, dz] between neighbouring copies, metres."""


class PyramidSpec(Strict):
    """A 2-D pyramid in the XZ plane: `levels` copies at the bottom, one fewer per level."""

    levels: Annotated[int, Field(ge=1, le=100)]
    """Copies in the bottom row; each level has one fewer (1..100)."""
    spacing: PositiveVec2
    """[dx, dz]: horizontal distance between neighbours and height of one level, metres."""


class ObjectBase(Strict):
    """What every object has: identity, pose, motion, physics material and look."""

    name: str
    """Unique name; copies of repeat/grid/pyramid get suffixes (_i, _i_j_k, _level_i)."""
    static: bool = False
    """Static objects never move (mass 0 in pybullet)."""
    mass: PositiveFloat | None = None
    """kg; if omitted, density x volume."""
    position: Vec3 = (0.0, 0.0, 0.0)
    """World position of the object's frame (a primitive's centre, a mesh or URDF file's origin), metres."""
    euler_deg: Vec3 | None = None
    """Orientation as roll, pitch, yaw in degrees about fixed X, Y, Z (pybullet's getQuaternionFromEuler)."""
    quaternion: QuaternionXYZW | None = None
    """Orientation as a unit quaternion [x, y, z, w]."""
    velocity: Vec3 = (0.0, 0.0, 0.0)
    """Initial linear velocity of the centre of mass, m/s."""
    angular_velocity: Vec3 = (0.0, 0.0, 0.0)
    """Initial angular velocity, rad/s, world frame."""
    material: MaterialSpec = MaterialSpec()
    """Physics material: friction, restitution, damping, density."""
    color: ColorRGB = (0.7, 0.7, 0.7)
    """Base colour: a name (red, wood, ...), '#rrggbb' or [r, g, b] in 0..1."""
    texture: TextureSpec | None = None
    """A procedural texture over the colour (previews and prompts)."""
    semantic: AdeClass | None = None
    """What the object is, as an ADE20K class name (the seg control's colour: 'floor', 'table', 'ball',
    'person', ...); default by a word of the name (table_top -> table, crate -> box), else by the shape
    (plane -> floor, box -> box, sphere -> ball, others -> plaything); docs/spec.md lists the rules."""
    repeat: RepeatSpec | None = None
    """Copies in a line, named NAME_0, NAME_1, ..."""
    grid: GridSpec | None = None
    """Copies on a grid, named NAME_i_j_k."""
    pyramid: PyramidSpec | None = None
    """Copies stacked as a pyramid in the XZ plane, named NAME_level_i."""

    @model_validator(mode="after")
    def _consistent(self) -> "ObjectBase":
        problems = []
        if self.euler_deg is not None and self.quaternion is not None:
            problems.append(FieldProblem("euler_deg and quaternion cannot both be set", "keep one", at=("quaternion",), key=True))
        if self.mass is not None and self.material.density is not None:
            problems.append(FieldProblem("mass and material.density cannot both be set", "keep one", at=("mass",), key=True))
        if self.static and (self.mass is not None):
            problems.append(FieldProblem("a static object has no mass", "remove mass or set static: false", at=("mass",), key=True))
        if self.static and self.material.density is not None:
            problems.append(
                FieldProblem("a static object has no mass, so material.density is unused", "remove density or set static: false", at=("material", "density"), key=True)
            )
        if self.static:
            for name in ("linear_damping", "angular_damping"):
                if getattr(self.material, name) != 0:
                    problems.append(
                        FieldProblem(f"a static object never moves, so material.{name} is unused", f"remove {name} or set static: false", at=("material", name), key=True)
                    )
        helpers = [n for n in ("repeat", "grid", "pyramid") if getattr(self, n) is not None]
        if len(helpers) > 1:
            problems.append(
                FieldProblem(
                    f"use one of repeat, grid, pyramid per object, got {' and '.join(helpers)}",
                    "keep one",
                    at=(helpers[1],),
                    key=True,
                )
            )
        if self.static:
            for name in ("velocity", "angular_velocity"):
                if any(getattr(self, name)):
                    problems.append(FieldProblem(f"a static object cannot have an initial {name}", "remove it or set static: false", at=(name,), key=True))
        raise_problems(problems)
        return self

    @property
    def semantic_class(self) -> str:
        """`semantic`, or the default for this object's name and shape (sim.spec.ade20k.default_semantic)."""
        return self.semantic or default_semantic(self.name, self.shape)  # type: ignore[attr-defined]


class PlaneObject(ObjectBase):
    shape: Literal["plane"]
    size: PositiveVec2 = (20.0, 20.0)
    """Rendered extent [x, y] in metres; physically the plane is infinite."""
    static: bool = True

    @model_validator(mode="after")
    def _plane_is_static(self) -> "PlaneObject":
        if not self.static:
            raise FieldProblem("a plane is always static", "remove static: false or use a thin box", at=("static",))
        return self


class BoxObject(ObjectBase):
    shape: Literal["box"]
    size: PositiveVec3 = (0.2, 0.2, 0.2)
    """Full extents [x, y, z] in metres."""


class SphereObject(ObjectBase):
    shape: Literal["sphere"]
    radius: PositiveFloat = 0.1
    """Metres."""


class CapsuleObject(ObjectBase):
    shape: Literal["capsule"]
    radius: PositiveFloat = 0.05
    """Metres."""
    length: PositiveFloat = 0.2
    """Length of the cylindrical middle along local Z (total length = length + 2 radius)."""


class CylinderObject(ObjectBase):
    shape: Literal["cylinder"]
    radius: PositiveFloat = 0.1
    """Metres."""
    length: PositiveFloat = 0.2
    """Height along local Z."""


def _scale3(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * 3
    if isinstance(value, list):
        return tuple(value)
    return value


Scale3 = Annotated[PositiveVec3, BeforeValidator(_scale3, json_schema_input_type=PositiveFloat | PositiveVec3)]


class MeshObject(ObjectBase):
    shape: Literal["mesh"]
    file: str
    """OBJ, STL, GLB/GLTF or PLY beside the scene file (relative path inside its folder)."""
    scale: Scale3 = (1.0, 1.0, 1.0)
    """A number or [sx, sy, sz] applied to the file's vertices."""
    collision: Literal["convex_hull", "convex_decomposition"] = "convex_hull"
    """Collision shape: the convex hull, or a V-HACD convex decomposition (for concave static shapes such as bowls)."""


class UrdfObject(ObjectBase):
    shape: Literal["urdf"]
    file: str
    """A URDF beside the scene, or one that pybullet_data ships (e.g. humanoid/humanoid.urdf)."""
    scale: PositiveFloat = 1.0
    """Uniform scale of the URDF's geometry (pybullet's globalScaling); masses stay as in the file, inertias scale by scale^2."""
    fixed_base: bool = False
    """Pin the URDF's base link in place (its joints still move)."""
    self_collision: bool = False
    """Let the URDF's links collide with each other (not with their parent link)."""
    joint_positions: dict[str, FiniteFloat] = {}
    """Initial joint angles (rad) or offsets (m) by joint name."""

    @model_validator(mode="after")
    def _urdf_masses_come_from_file(self) -> "UrdfObject":
        if self.mass is not None or self.material.density is not None:
            at = ("mass",) if self.mass is not None else ("material", "density")
            raise FieldProblem("a URDF's masses come from its file", f"remove {'.'.join(at)}", at=at, key=True)
        return self

    @model_validator(mode="after")
    def _fixed_base_does_not_move(self) -> "UrdfObject":
        # A static URDF's velocity is rejected by ObjectBase; a fixed base would silently drop it.
        if self.fixed_base and not self.static:
            for name in ("velocity", "angular_velocity"):
                if any(getattr(self, name)):
                    raise FieldProblem(f"{self.name!r} has a fixed base, which cannot move", "remove the initial velocity or set fixed_base: false",
                                       at=(name,), key=True)
        return self


ObjectSpec = Annotated[
    Union[PlaneObject, BoxObject, SphereObject, CapsuleObject, CylinderObject, MeshObject, UrdfObject],
    Field(discriminator="shape"),
]
SHAPES = ("plane", "box", "sphere", "capsule", "cylinder", "mesh", "urdf")


# --------------------------------------------------------------------------- events
class EventSpec(Strict):
    """Something done to an object at a time: an impulse, a force over a duration, or joint targets."""

    at: NonNegativeFloat
    """Time in seconds."""
    object: str
    """The body acted on (a copy by its expanded name, e.g. domino_0)."""
    impulse: Vec3 | None = None
    """N s, world frame, applied at the centre of mass (or `point`) in one physics step."""
    force: Vec3 | None = None
    """N, world frame, applied at the centre of mass (or `point`) every step for `duration`."""
    duration: PositiveFloat | None = None
    """Seconds a force event acts."""
    point: Vec3 | None = None
    """World point where the impulse or force acts; default the centre of mass."""
    link: str | None = None
    """For articulated bodies: the link that receives the impulse or force (default the base)."""
    joint_targets: dict[str, FiniteFloat] | None = None
    """Position targets (rad or m) by joint name, held from `at` on by position control."""
    max_force: PositiveFloat = 200.0
    """Motor force limit for joint_targets, N or N m."""

    @model_validator(mode="after")
    def _one_action(self) -> "EventSpec":
        actions = [n for n in ("impulse", "force", "joint_targets") if getattr(self, n) is not None]
        if len(actions) != 1:
            got = " and ".join(actions) if actions else "none"
            raise FieldProblem(
                f"an event needs exactly one of impulse, force, joint_targets, got {got}",
                "split it into one event per action" if actions else "add e.g. impulse: [1, 0, 0]",
                at=(actions[1],) if len(actions) > 1 else (),
                key=True,
            )
        if self.force is not None and self.duration is None:
            raise FieldProblem("a force event needs a duration in seconds", "add e.g. duration: 0.1", at=("force",), key=True)
        if self.force is None and self.duration is not None:
            raise FieldProblem("duration applies to force events only", "remove it", at=("duration",), key=True)
        if self.joint_targets is not None:
            for name in ("point", "link"):
                if getattr(self, name) is not None:
                    raise FieldProblem(f"{name} does not apply to joint_targets", f"remove {name}; it places an impulse or force", at=(name,), key=True)
        elif self.max_force != type(self).model_fields["max_force"].default:
            raise FieldProblem("max_force limits the motors of joint_targets only", "remove it; an impulse or force acts in full", at=("max_force",), key=True)
        return self


# ------------------------------------------------------------------------- generate
class ControlSpec(Strict):
    """One control signal fed to the video model."""

    kind: ControlKind
    """Which pass conditions the model."""
    scale: NonNegativeFloat = 1.0
    start: UnitInterval = 0.0
    """Fraction of the denoising steps at which this control starts acting."""
    end: UnitInterval = 1.0
    scope: Literal["frame", "shot"] | None = None
    """Depth and flow only: normalise each frame on its own range ('frame') or all frames on the
    shot's ('shot': no flicker under a moving camera, but not what the annotators did); default the
    backend's model's own convention (depth: animatediff and wan-vace frame, builtin shot; flow:
    wan-vace frame, builtin shot)."""

    @model_validator(mode="after")
    def _start_before_end(self) -> "ControlSpec":
        if self.start >= self.end:
            raise ValueError(f"control start ({self.start}) must be below end ({self.end})")
        if self.scope is not None and self.kind not in SCOPED_CONTROLS:
            raise FieldProblem(f"scope applies to {' and '.join(SCOPED_CONTROLS)} controls, not {self.kind}",
                               "remove scope", at=("scope",), key=True)
        return self


SCOPED_CONTROLS: tuple[ControlKind, ...] = ("depth", "flow")
"""The control kinds normalised over a range of frames (ControlSpec.scope)."""


class GenerateSpec(Strict):
    """How the video is generated from the passes."""

    backend: BackendName = "builtin"
    model: str | None = None
    """Local directory of the backend's weights (default: the builtin weights, or the HF cache)."""
    steps: Annotated[int, Field(ge=1, le=1000)] = 20
    guidance_scale: Annotated[float, Field(ge=0, le=50)] | None = None
    """Classifier-free guidance on the prompt; default the backend's own (builtin 1.0, i.e. none:
    its small caption encoder is over-driven by larger scales; animatediff and wan-vace 7.5;
    cogvideox-flow 6)."""
    controls: Annotated[tuple[ControlSpec, ...], Field(max_length=MAX_CONTROLS)] | None = None
    """The control images of a guided run; default the backend's own (builtin: every kind it reads,
    albedo included; animatediff and wan-vace: depth; cogvideox-flow: flow, as warped noise)."""
    seed: Annotated[int, Field(ge=0, lt=2**31)] | None = None
    """Seed of the generation; default the shot's seed."""
    noise_warp: bool = True
    """Warp each frame's initial noise along the simulated flow (guided runs only)."""
    resolution: Resolution | None = None
    """[width, height] of the generated video; default the backend's native size."""
    dtype: Dtype = "auto"
    device: Device = "auto"
    cpu_offload: bool = False
    vae_tiling: bool = False
    image: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    """A start image beside the scene (PNG, JPEG, WebP or BMP; a path relative to the scene's folder):
    the video's first frame, for the backends that take one (wan-vace: VACE's first frame kept by its
    mask; animatediff: SparseCtrl RGB at frame 0; cogvideox-flow: an image-to-video base's image).
    Centre-cropped to the camera's aspect ratio, then resized to the video's size as the control
    frames are (docs/engine.md, "Start image"). The builtin backend takes none."""


# ---------------------------------------------------------------------------- scene
class SceneSpec(Strict):
    """One shot: what is in it, how it moves, how it is filmed and how it is generated."""

    shot: ShotSpec = ShotSpec()
    camera: CameraSpec = CameraSpec()
    objects: tuple[ObjectSpec, ...] = ()
    events: Annotated[tuple[EventSpec, ...], Field(max_length=MAX_EVENTS)] = ()
    generate: GenerateSpec = GenerateSpec()
    emitters: Annotated[tuple[EmitterSpec, ...], Field(max_length=MAX_PARTICLE_SOURCES)] = ()
    """Particle sources (sparks, rain, grains, poured liquid); see sim/spec/particles.py."""
    fluid_blocks: Annotated[tuple[FluidBlockSpec, ...], Field(max_length=MAX_PARTICLE_SOURCES)] = ()
    """Boxes of liquid at rest at t=0 (dam breaks, tanks); see sim/spec/particles.py."""

    def event_steps(self, event: EventSpec) -> tuple[int, int]:
        """(first, last) physics step of an event, inclusive: it starts at step round(at * physics_hz);
        a force lasts round(duration * physics_hz) steps (at least 1), cut at the shot's last step."""
        hz = self.shot.physics_hz
        first = counts.count(event.at * hz)
        if event.force is None:
            return first, first
        last_of_shot = self.shot.num_frames * self.shot.substeps - 1
        return first, min(last_of_shot, first + max(1, counts.count(event.duration * hz)) - 1)  # type: ignore[operator]

    @model_validator(mode="after")
    def _names_resolve(self) -> "SceneSpec":
        # Counted before anything expands the copies: a grid of 100000^3 names would never finish.
        raise_problems(_body_problems(self))
        problems = _name_problems(self) + _event_time_problems(self) + _event_target_problems(self) + _resource_problems(self)
        raise_problems(problems)
        return self


def _unknown_name(name: str, expanded: list[str], at: tuple) -> FieldProblem:
    """'name' is not a body: suggest the closest body, or a copy of a repeated object."""
    copies = [n for n in expanded if n.startswith(name + "_")]
    if copies:
        hint = f"{name!r} is repeated; name one copy, e.g. {copies[0]!r}"
    else:
        close = difflib.get_close_matches(name, expanded, n=1, cutoff=0.6)
        shown = ", ".join(expanded[:8]) + (f" and {len(expanded) - 8} more" if len(expanded) > 8 else "")
        hint = f"did you mean {close[0]!r}?" if close else f"objects: {shown}" if expanded else "the scene has no objects"
    return FieldProblem(f"{name!r} is not an object of the scene", hint, at=at)


def _name_problems(spec: "SceneSpec") -> list[FieldProblem]:
    """Object names are unique (after repeat/grid/pyramid expansion); follow and events name bodies."""
    problems: list[FieldProblem] = []
    seen: dict[str, int] = {}
    for index, obj in enumerate(spec.objects):
        for suffix in copy_suffixes(obj):
            name = obj.name + suffix
            if name in seen:
                first = spec.objects[seen[name]].name
                problems.append(
                    FieldProblem(
                        f"name {name!r} is already used by objects[{seen[name]}] ({first!r})",
                        "give every object a unique name",
                        at=("objects", index, "name"),
                    )
                )
                break
            seen[name] = index
    expanded = list(seen)
    if spec.camera.follow is not None and spec.camera.follow.object not in seen:
        problems.append(_unknown_name(spec.camera.follow.object, expanded, ("camera", "follow", "object")))
    for index, event in enumerate(spec.events):
        if event.object not in seen:
            problems.append(_unknown_name(event.object, expanded, ("events", index, "object")))
    return problems


def _event_time_problems(spec: "SceneSpec") -> list[FieldProblem]:
    """Every event starts at a physics step of the shot: round(at * physics_hz) < N * substeps."""
    shot = spec.shot
    total_steps = shot.num_frames * shot.substeps
    last_time = (total_steps - 1) / shot.physics_hz
    problems = []
    for index, event in enumerate(spec.events):
        if counts.count(event.at * shot.physics_hz) >= total_steps:
            problems.append(
                FieldProblem(
                    f"t={event.at:g} s is after the last physics step of the shot (t={last_time:.4g} s)",
                    f"use at <= {last_time:.4g} or lengthen shot.duration",
                    at=("events", index, "at"),
                )
            )
    return problems


def _event_target_problems(spec: "SceneSpec") -> list[FieldProblem]:
    """An event can act on its object: links and joint targets need a URDF, pushes a dynamic body.

    Names inside URDF files (joints, links, a fixed base) are checked against the file by the
    loader (sim/spec/urdf_checks.py).
    """
    owner = {o.name + suffix: o for o in spec.objects for suffix in copy_suffixes(o)}
    problems = []
    for index, event in enumerate(spec.events):
        obj = owner.get(event.object)
        if obj is None:
            continue  # reported by _name_problems
        if not isinstance(obj, UrdfObject):
            if event.link is not None:
                problems.append(FieldProblem(f"{event.object!r} is a {obj.shape} with no links", "remove link", at=("events", index, "link")))
            if event.joint_targets is not None:
                problems.append(
                    FieldProblem(f"{event.object!r} is a {obj.shape}, which has no joints", "joint_targets need a urdf object", at=("events", index, "joint_targets"))
                )
        if obj.static and event.joint_targets is None:
            problems.append(
                FieldProblem(f"{event.object!r} is static, so a push cannot move it", "push a dynamic object or set static: false", at=("events", index, "object"))
            )
    return problems


def _resource_problems(spec: "SceneSpec") -> list[FieldProblem]:
    """Pixel-frames within MAX_FRAME_PIXELS (frames are within MAX_FRAMES, checked by ShotSpec), at
    the camera's size and at `generate.resolution` (a generating run renders its passes at that size)."""
    problems = []
    for at in (("camera", "resolution"), ("generate", "resolution")):
        size = getattr(getattr(spec, at[0]), at[1])
        problem = frame_pixels_problem(spec.shot.num_frames, size) if size is not None else None
        if problem is not None:
            problems.append(FieldProblem(problem, f"lower {'.'.join(at)} or shot.duration", at=at))
    return problems


def frame_pixels_problem(frames: int, size: tuple[int, int]) -> str | None:
    """Why `frames` frames of `size` (width, height) pixels are too many for the passes, or None."""
    width, height = size
    if frames * width * height <= MAX_FRAME_PIXELS:
        return None
    return (f"{frames} frames x {width}x{height} pixels = {frames * width * height:,} pixel-frames exceed the limit "
            f"of {MAX_FRAME_PIXELS:,}, at about 40 bytes each for the passes")


def copy_count(obj: ObjectBase) -> int:
    """Copies an object entry stands for (1 when it is not repeated), without making them."""
    if obj.repeat is not None:
        return obj.repeat.count
    if obj.grid is not None:
        return counts.product(obj.grid.counts)
    if obj.pyramid is not None:
        return obj.pyramid.levels * (obj.pyramid.levels + 1) // 2
    return 1


def _body_problems(spec: "SceneSpec") -> list[FieldProblem]:
    """At most MAX_BODIES bodies (URDF links are counted against the same limit by the loader,
    sim/spec/urdf_checks.py); the problem points at the object whose copies cross the limit."""
    total = 0
    for index, obj in enumerate(spec.objects):
        total = min(counts.CEILING, total + copy_count(obj))
        if total > MAX_BODIES:
            helper = next((n for n in ("repeat", "grid", "pyramid") if getattr(obj, n) is not None), None)
            return [FieldProblem(
                f"the objects up to this one make {counts.shown(total)} bodies, over the limit of {MAX_BODIES:,}",
                "use fewer copies or objects; docs/spec.md lists the resource limits",
                at=("objects", index) + ((helper,) if helper else ()),
            )]
    return []


def copy_suffixes(obj: ObjectBase) -> list[str]:
    """Name suffixes of an object's copies ('' when it is not repeated)."""
    if obj.repeat is not None:
        return [f"_{i}" for i in range(obj.repeat.count)]
    if obj.grid is not None:
        nx, ny, nz = obj.grid.counts
        return [f"_{i}_{j}_{k}" for k in range(nz) for j in range(ny) for i in range(nx)]
    if obj.pyramid is not None:
        n = obj.pyramid.levels
        return [f"_{level}_{i}" for level in range(n) for i in range(n - level)]
    return [""]


def expanded_names(spec: SceneSpec) -> list[str]:
    """Names of every body after repeat/grid/pyramid expansion, in creation order."""
    return [o.name + suffix for o in spec.objects for suffix in copy_suffixes(o)]

"""Training data for the builtin model: random scenes, simulated and rendered, written in shards.

Each shot is a random scene (a textured floor, 1 to 3 primitives with random named colours,
optional solid textures, random initial motion; half of the time 1 or 2 static tilted blocks; a
fixed, orbiting, dolly or following camera),
simulated by `sim.simulate` and rendered by `conditioning.render_passes` at the model's
resolution. The RGB preview is the target; the control images of CONTROL_KINDS (exactly as
`conditioning.control.control_image` draws them for every backend) are the condition; the
caption is built from the spec. Shot i's scene depends only on (seed, i), so a dataset is the
same whatever the shard size, and `write_dataset` skips shards already on disk (resume).

Shard `shard_%05d.npz` (n shots, T frames, S x S pixels; uncompressed, no pickle):
  rgb        uint8   [n, T, S, S, 3]   target frames (sRGB)
  control    uint8   [n, T, S, S, 14]  depth(1) normal(3) edges(1) flow(3) seg(3) albedo(3) control images
  flow_fwd   float16 [n, T, S, S, 2]   simulated forward flow, pixels
  flow_valid bool    [n, T, S, S]
  seg        int16   [n, T, S, S]      instance ids (0 = nothing)
  static_ids int16   [n, 8]            seg ids of static parts (the floor), -1 padded
  caption    <U      [n]               caption built from the spec
  spec_json  <U      [n]               the scene data the shot was made from
  shot_index int64   [n]
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physreel.conditioning.control import control_image
from physreel.conditioning.render import render_passes
from physreel.sim.files import write_json, write_npz
from physreel.sim.simulate import simulate
from physreel.sim.spec.errors import SimulationError
from physreel.sim.spec.load import scene_from_data
from physreel.sim.spec.types import NAMED_COLORS

from .controls import CONTROL_KINDS, pack_images
from .kinds import CONTROL_OPTIONS
from .shards import shard_path

NUM_FRAMES = 16
FPS = 8
SHOTS_PER_SHARD = 8
MAX_STATIC = 8
MAX_ATTEMPTS = 20
SHAPES = ("sphere", "box", "capsule", "cylinder")
COLOR_NAMES = tuple(n for n in NAMED_COLORS if n != "gray")
TEXTURE_WORDS = {"checker": "checkered", "stripes": "striped", "noise": "speckled"}


@dataclass(frozen=True)
class DatasetConfig:
    """What a dataset is made of; written to DIR/dataset.json."""

    shots: int
    seed: int = 0
    resolution: int = 64
    num_frames: int = NUM_FRAMES
    fps: int = FPS
    shots_per_shard: int = SHOTS_PER_SHARD
    fine_textures: bool = False
    """Texture periods down to 4 cm (random_scene_data); off: the distribution v1 and v2 were trained on."""


# ------------------------------------------------------------------------ random scenes
def random_scene_data(rng: np.random.Generator, resolution: int, num_frames: int, fps: int,
                      fine_textures: bool = False) -> tuple[dict, str]:
    """One random scene as spec data (as YAML would give it) and its caption.

    `fine_textures`: texture periods drawn log-uniformly down to 4 cm (`_texture_scale`), and half
    of the static blocks textured; off, the draws v1's and v2's data were made with."""
    floor_color = str(rng.choice(COLOR_NAMES))
    floor_texture = rng.choice(["checker", "stripes", "noise", "none"], p=[0.4, 0.2, 0.2, 0.2])
    floor = {"name": "floor", "shape": "plane", "color": floor_color}
    if floor_texture != "none":
        scale = _texture_scale(rng, 0.04, 0.8) if fine_textures else float(rng.uniform(0.25, 0.8))
        floor["texture"] = {"kind": str(floor_texture), "scale": scale,
                            "color2": str(rng.choice([c for c in COLOR_NAMES if c != floor_color]))}
    objects = [floor]
    phrases = []
    count = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    placed: list[tuple[np.ndarray, float]] = []
    for index in range(count):
        obj, phrase, bound = _random_object(rng, index, fine_textures)
        # Redraw the position until the bounding spheres are apart (pybullet refuses overlaps).
        for _ in range(50):
            centre = np.array(obj["position"])
            if all(np.linalg.norm(centre - c) > bound + b + 0.05 for c, b in placed):
                break
            obj["position"][:2] = [float(v) for v in rng.uniform(-0.9, 0.9, 2)]
        else:
            continue
        placed.append((np.array(obj["position"]), bound))
        objects.append(obj)
        phrases.append(phrase)
    # Static blocks (ramps, steps, walls) half of the time: the example scenes stand on more than a floor.
    for index in range(int(rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2]))):
        block, phrase, bound = _random_block(rng, index, fine_textures)
        centre = np.array(block["position"])
        if all(np.linalg.norm(centre - c) > bound + b + 0.05 for c, b in placed):
            placed.append((centre, bound))
            objects.append(block)
            phrases.append(phrase)
    camera, camera_words = _random_camera(rng, resolution, objects[1]["name"])
    floor_words = f"{TEXTURE_WORDS.get(str(floor_texture), 'plain')} {floor_color} floor"
    caption = f"{' and '.join(phrases)} on a {floor_words}" + (f", {camera_words}" if camera_words else "")
    data = {
        "shot": {"name": "random", "duration": num_frames / fps, "fps": fps, "physics_hz": 240,
                 "seed": int(rng.integers(0, 2**31 - 1)), "prompt": caption},
        "camera": camera,
        "objects": objects,
    }
    return data, caption


def _random_object(rng: np.random.Generator, index: int, fine_textures: bool) -> tuple[dict, str, float]:
    """A random primitive, its caption phrase and the radius of a sphere that bounds it (m)."""
    shape = str(rng.choice(SHAPES))
    color = str(rng.choice(COLOR_NAMES))
    size = float(rng.uniform(0.3, 0.55))
    obj: dict = {"name": f"{shape}{index}", "shape": shape, "color": color}
    if shape == "sphere":
        obj["radius"] = size
        height = size
    elif shape == "box":
        extents = [size * float(rng.uniform(0.7, 1.6)) for _ in range(3)]
        obj["size"] = extents
        height = max(extents)
    else:
        obj["radius"] = size * 0.6
        obj["length"] = size * float(rng.uniform(1.0, 2.0))
        height = obj["length"] / 2 + obj["radius"] * 2
    texture_word = ""
    if rng.random() < 0.5:
        kind = str(rng.choice(["checker", "stripes", "noise"]))
        scale = size * _texture_scale(rng, 0.1, 0.7) if fine_textures else float(size * rng.uniform(0.3, 0.7))
        obj["texture"] = {"kind": kind, "scale": scale,
                          "color2": str(rng.choice([c for c in COLOR_NAMES if c != color]))}
        texture_word = TEXTURE_WORDS[kind] + " "
    dropped = rng.random() < 0.5
    z = height + (float(rng.uniform(0.2, 0.8)) if dropped else 0.01)
    obj["position"] = [float(rng.uniform(-0.6, 0.6)), float(rng.uniform(-0.6, 0.6)), z]
    obj["euler_deg"] = [float(v) for v in rng.uniform(-180, 180, 3)] if shape != "sphere" else [0.0, 0.0, 0.0]
    speed = float(rng.uniform(0.3, 1.5))
    heading = float(rng.uniform(0, 2 * math.pi))
    up = float(rng.uniform(0.0, 2.0)) if rng.random() < 0.5 else 0.0
    obj["velocity"] = [speed * math.cos(heading), speed * math.sin(heading), up]
    obj["angular_velocity"] = [float(v) for v in rng.uniform(-4, 4, 3)]
    obj["material"] = {"restitution": float(rng.uniform(0.2, 0.8)), "friction": float(rng.uniform(0.2, 0.8))}
    motion = "bounces" if (dropped or up > 1.0) else ("rolls" if shape in ("sphere", "cylinder", "capsule") else "slides")
    bound = size if shape == "sphere" else (0.5 * math.sqrt(sum(e * e for e in obj["size"])) if shape == "box"
                                              else obj["length"] / 2 + obj["radius"])
    return obj, f"a {color} {texture_word}{shape} {motion}", bound


def _texture_scale(rng: np.random.Generator, low_m: float, high_m: float) -> float:
    """A texture period drawn log-uniformly in [low_m, high_m]: fine periods (a bowling lane's
    5 cm boards, a table's grain) are as common as coarse ones, since at 64 px they are the ones the
    model must copy from the albedo control stroke by stroke."""
    return float(math.exp(rng.uniform(math.log(low_m), math.log(high_m))))


def _random_block(rng: np.random.Generator, index: int, fine_textures: bool) -> tuple[dict, str, float]:
    """A static box standing on the floor, tilted up to 25 degrees: a ramp, a step or a wall."""
    color = str(rng.choice(COLOR_NAMES))
    extents = [float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.1, 0.8))]
    tilt = [float(v) for v in rng.uniform(-25, 25, 2)]
    block: dict = {"name": f"block{index}", "shape": "box", "static": True, "size": extents, "color": color,
                   "position": [float(v) for v in rng.uniform(-1.2, 1.2, 2)] + [extents[2] / 2],
                   "euler_deg": tilt + [float(rng.uniform(-180, 180))]}
    if rng.random() < (0.5 if fine_textures else 0.3):
        kind = str(rng.choice(["checker", "stripes", "noise"]))
        scale = _texture_scale(rng, 0.04, 0.3) if fine_textures else float(rng.uniform(0.1, 0.3))
        block["texture"] = {"kind": kind, "scale": scale,
                            "color2": str(rng.choice([c for c in COLOR_NAMES if c != color]))}
    return block, f"a {color} box", 0.5 * math.sqrt(sum(e * e for e in extents))


def _random_camera(rng: np.random.Generator, resolution: int, subject: str) -> tuple[dict, str]:
    distance = float(rng.uniform(2.5, 3.5))
    azimuth = float(rng.uniform(0, 360))
    height = float(rng.uniform(1.2, 2.8))
    look_at = [float(rng.uniform(-0.2, 0.2)), float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0.2, 0.5))]
    camera: dict = {"resolution": [resolution, resolution], "fov_deg": float(rng.uniform(40, 55)), "look_at": look_at}
    kind = rng.choice(["fixed", "orbit", "dolly", "follow"], p=[0.55, 0.2, 0.15, 0.1])
    a = math.radians(azimuth)
    position = [distance * math.cos(a), distance * math.sin(a), height]
    if kind == "fixed":
        camera["position"] = position
        return camera, ""
    if kind == "orbit":
        sweep = float(rng.uniform(20, 60)) * (1 if rng.random() < 0.5 else -1)
        camera.pop("look_at")
        camera["orbit"] = {"center": look_at, "radius": distance, "height": height,
                           "start_deg": azimuth, "end_deg": azimuth + sweep}
        return camera, "camera orbits"
    if kind == "dolly":
        factor = float(rng.uniform(0.7, 0.85))
        camera.pop("look_at")
        camera["dolly"] = {"start": position, "end": [p * factor for p in position[:2]] + [height], "look_at": look_at}
        return camera, "dolly"
    camera.pop("look_at")
    camera["follow"] = {"object": subject, "offset": [position[0] * 0.8, position[1] * 0.8, height]}
    return camera, "camera follows"


# --------------------------------------------------------------------------- rendering
def render_shot(data: dict, resolution: int) -> dict[str, np.ndarray]:
    """Simulate and render one scene; the arrays of one shard row (see the module doc)."""
    scene = scene_from_data(data, Path("<dataset>/shot.yaml"))
    shot = simulate(scene)
    passes = render_passes(shot, passes=("depth", "flow_fwd", "flow_valid", "seg", "normal", "albedo", "rgb"),
                           resolution=(resolution, resolution))
    control = pack_images({kind: control_image(passes, kind, **CONTROL_OPTIONS.get(kind, {})) for kind in CONTROL_KINDS})
    static = [p.seg_id for p in shot.parts if p.static][:MAX_STATIC]
    static_ids = np.full(MAX_STATIC, -1, np.int16)
    static_ids[: len(static)] = static
    return {
        "rgb": passes.rgb.astype(np.uint8),
        "control": control.astype(np.uint8),
        "flow_fwd": passes.flow_fwd.astype(np.float16),
        "flow_valid": passes.flow_valid.astype(bool),
        "seg": passes.seg.astype(np.int16),
        "static_ids": static_ids,
    }


def shot_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of shot `index`: independent of the shard layout."""
    return np.random.default_rng([int(seed), int(index)])


def make_shard(config: DatasetConfig, shard: int) -> dict[str, np.ndarray]:
    """The arrays of shard `shard` (shots shard*n .. shard*n + n - 1, clipped to config.shots)."""
    first = shard * config.shots_per_shard
    indices = range(first, min(first + config.shots_per_shard, config.shots))
    rows, captions, specs = [], [], []
    for index in indices:
        rng = shot_rng(config.seed, index)
        # A scene pybullet finds unstable is redrawn from the same stream (deterministic).
        for _attempt in range(MAX_ATTEMPTS):
            data, caption = random_scene_data(rng, config.resolution, config.num_frames, config.fps, config.fine_textures)
            try:
                row = render_shot(data, config.resolution)
                break
            except SimulationError:
                continue
        else:
            raise RuntimeError(f"shot {index}: {MAX_ATTEMPTS} random scenes in a row were unstable")
        rows.append(row)
        captions.append(caption)
        specs.append(json.dumps(data, sort_keys=True))
    arrays = {key: np.stack([r[key] for r in rows]) for key in rows[0]}
    arrays["caption"] = np.array(captions)
    arrays["spec_json"] = np.array(specs)
    arrays["shot_index"] = np.array(list(indices), dtype=np.int64)
    return arrays


def write_dataset(directory: Path, config: DatasetConfig, progress: bool = False, workers: int = 1) -> dict:
    """Write every missing shard of `config` into `directory` (existing ones are kept: resume),
    on `workers` processes (a shard depends only on (seed, shard), so the bytes do not depend on it).

    Refuses (ValueError) to extend a directory made with a different seed, resolution, frames or
    shard size. Returns the manifest written to dataset.json.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest_path = directory / "dataset.json"
    manifest = {"seed": config.seed, "resolution": config.resolution, "num_frames": config.num_frames,
                "fps": config.fps, "shots_per_shard": config.shots_per_shard, "control_kinds": list(CONTROL_KINDS),
                "fine_textures": config.fine_textures}
    if manifest_path.exists():
        old = _MANIFEST_ADDED_LATER | json.loads(manifest_path.read_text())
        clash = {k: (old.get(k), v) for k, v in manifest.items() if old.get(k) != v}
        if clash:
            detail = ", ".join(f"{k} {a} (on disk) vs {b}" for k, (a, b) in clash.items())
            raise ValueError(f"{directory} holds a different dataset ({detail}); use another -o directory")
    num_shards = math.ceil(config.shots / config.shots_per_shard)
    missing = [shard for shard in range(num_shards) if not shard_path(directory, shard).exists()]
    write = functools.partial(_write_shard, directory, config)
    with contextlib.ExitStack() as stack:
        if workers > 1 and len(missing) > 1:
            written = stack.enter_context(ProcessPoolExecutor(min(workers, len(missing)))).map(write, missing)
        else:
            written = map(write, missing)
        for done, shard in enumerate(written, 1):
            if progress:
                print(f"shard {shard + 1}/{num_shards} written ({done}/{len(missing)} this run)", flush=True)
    manifest["shots"] = config.shots
    manifest["shards"] = num_shards
    write_json(manifest_path, manifest)
    return manifest | {"shards_written": len(missing)}


_MANIFEST_ADDED_LATER = {"fine_textures": False}
"""dataset.json keys that directories made before them lack, with the value they were made with."""


def _write_shard(directory: Path, config: DatasetConfig, shard: int) -> int:
    write_npz(shard_path(directory, shard), **make_shard(config, shard))
    return shard

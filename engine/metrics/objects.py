"""The objects the depiction metrics judge: which, their seg ids, their spec colours, their masks.

An object is one entry of the scene spec (`objects`, `emitters`, `fluid_blocks`); its copies
(repeat, grid, pyramid) and URDF links are one object, found through the passes' id table
(seg id -> expanded body name -> spec entry, by `sim.spec.model.copy_suffixes`). Judged are the
objects that **move** (a seg id among the shot's dynamic ids: non-static parts, particle
emitters) and the static ones the prompt **names** (a word of 3+ letters of the object's name,
split at '_', appears in the shot's prompt as a word, or with a plural 's'/'es').

An object counts in a frame only where the simulation shows at least `MIN_AREA_SCENE_PX` of it,
in pixels of the scene's camera (`camera.resolution`); on a smaller scored grid (the builtin
model's 64 px) the threshold is scaled by the ratio of the pixel counts, so "64 px" always means
what the scene's own camera would show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from physreel.conditioning.records import SegEntry
from physreel.sim.spec.model import SceneSpec, copy_suffixes

MIN_AREA_SCENE_PX = 64
"""An object is judged in a frame where the simulation shows at least this many pixels of it at the scene's camera resolution."""
RING_GAP_PX = 1
"""The ring around an object starts this far (scored pixels) outside its mask, and its inside is the mask eroded by this much,
so a soft edge (a blurry generated video) belongs to neither."""
RING_WIDTH_PX = 3
"""Width of the ring of surroundings (scored pixels)."""


@dataclass(frozen=True)
class SceneObject:
    """One judged object."""

    name: str
    """The spec's name (before repeat/grid/pyramid expansion)."""
    seg_ids: frozenset[int]
    moving: bool
    """A seg id of it is dynamic; else the prompt names it."""
    color: tuple[float, float, float] | None = None
    """sRGB 0..1 as the spec gives it; None when unknown (objects found without a scene)."""
    color2: tuple[float, float, float] | None = None
    """The texture's second colour (sRGB 0..1); None without a texture."""


@dataclass(frozen=True)
class ObjectTable:
    """The judged objects of a shot and the area an object needs in a frame to be judged there."""

    objects: tuple[SceneObject, ...]
    min_area_px: float
    """Pixels of the scored grid: MIN_AREA_SCENE_PX scaled from the scene camera's pixel count."""


def scene_objects(spec: SceneSpec, id_table: tuple[SegEntry, ...], dynamic_ids: frozenset[int],
                  scored_size: tuple[int, int]) -> ObjectTable:
    """The ObjectTable of a shot from its spec (colours, names, prompt), the passes' id table and
    the dynamic seg ids; `scored_size` (width, height) of the grid the videos are scored on."""
    # 1. every spec entry by the names its bodies (or particles) carry in the id table
    entries = {o.name + suffix: o for o in spec.objects for suffix in copy_suffixes(o)}
    entries.update({e.name: e for e in (*spec.emitters, *spec.fluid_blocks)})
    # 2. seg ids grouped by spec entry, in the spec's order
    ids: dict[str, set[int]] = {}
    for entry in id_table:
        owner = entries.get(entry.object_name)
        if owner is not None:
            ids.setdefault(owner.name, set()).add(entry.seg_id)
    order = [o.name for o in (*spec.objects, *spec.emitters, *spec.fluid_blocks)]
    by_name = {e.name: e for e in (*spec.objects, *spec.emitters, *spec.fluid_blocks)}
    # 3. keep the moving ones and the ones the prompt names
    prompt_words = set(re.findall(r"[a-z]+", spec.shot.prompt.lower()))
    objects = []
    for name in order:
        seg_ids = frozenset(ids.get(name, ()))
        moving = bool(seg_ids & dynamic_ids)
        if not seg_ids or not (moving or named_in(name, prompt_words)):
            continue
        spec_entry = by_name[name]
        texture = getattr(spec_entry, "texture", None)
        objects.append(SceneObject(name, seg_ids, moving, tuple(spec_entry.color), None if texture is None else tuple(texture.color2)))
    camera_w, camera_h = spec.camera.resolution
    scale = scored_size[0] * scored_size[1] / (camera_w * camera_h)
    return ObjectTable(tuple(objects), MIN_AREA_SCENE_PX * scale)


def moving_objects(id_table: tuple[SegEntry, ...], dynamic_ids: frozenset[int] | None) -> ObjectTable:
    """Without a scene: every dynamic body of the id table as an object (no colours), judged at
    MIN_AREA_SCENE_PX of the scored grid."""
    ids: dict[str, set[int]] = {}
    for entry in id_table:
        if dynamic_ids and entry.seg_id in dynamic_ids:
            ids.setdefault(entry.object_name, set()).add(entry.seg_id)
    return ObjectTable(tuple(SceneObject(name, frozenset(s), True) for name, s in ids.items()), float(MIN_AREA_SCENE_PX))


def named_in(name: str, prompt_words: set[str]) -> bool:
    """Whether a word (3+ letters) of `name` split at '_' is a word of the prompt, or its plural."""
    words = [w for w in re.findall(r"[a-z]+", name.lower()) if len(w) >= 3]
    return any(w in prompt_words or w + "s" in prompt_words or w + "es" in prompt_words for w in words)


def object_masks(seg: np.ndarray, obj: SceneObject, min_area_px: float) -> tuple[np.ndarray, np.ndarray]:
    """bool [T, H, W]: the object's pixels in each frame, and bool [T]: frames where it covers at
    least min_area_px (the frames it is judged in). seg: int32 [T, H, W]."""
    mask = np.isin(seg, np.fromiter(sorted(obj.seg_ids), dtype=np.int64))
    return mask, mask.sum(axis=(1, 2)) >= min_area_px


def inside_and_ring(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The object's inside and its surroundings per frame, bool [T, H, W] each, of its mask
    bool [T, H, W]: the inside is the mask eroded by RING_GAP_PX (the mask itself where that
    leaves nothing: an object only a few pixels thick); the ring is every pixel more than
    RING_GAP_PX and at most RING_GAP_PX + RING_WIDTH_PX from the mask (elliptical distance)."""
    near = _disc(RING_GAP_PX)
    far = _disc(RING_GAP_PX + RING_WIDTH_PX)
    inside, ring = np.empty_like(mask), np.empty_like(mask)
    for t, frame in enumerate(mask.astype(np.uint8)):
        eroded = cv2.erode(frame, near, borderType=cv2.BORDER_REPLICATE).astype(bool)
        inside[t] = eroded if eroded.any() else frame.astype(bool)
        ring[t] = cv2.dilate(frame, far).astype(bool) & ~cv2.dilate(frame, near).astype(bool)
    return inside, ring


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))

"""ADE20K's 150 class names (the classes the seg ControlNet's annotator draws) and each object's default class.

The names and their order are those of ControlNet v1.1's seg annotator, `ade_classes()` in
lllyasviel/ControlNet-v1-1-nightly annotator/uniformer/mmseg/core/evaluation/class_names.py
(lines 14-41; 'bed ' written there with a trailing space, 'bed' here); class index i has colour
`conditioning.palette.ADE20K_PALETTE[i]`. An object's `semantic:` field names one of them;
unset, `default_semantic` picks one from the object's name and shape (docs/spec.md, "semantic").
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from .errors import FieldProblem

ADE20K_CLASSES: tuple[str, ...] = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
    "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
    "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
    "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
    "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
    "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel", "light",
    "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver", "airplane",
    "dirt track", "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster",
    "stage", "van", "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool",
    "barrel", "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
    "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture",
    "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor",
    "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)
ADE20K_INDEX: dict[str, int] = {name: index for index, name in enumerate(ADE20K_CLASSES)}
SKY = "sky"
"""Where no surface is hit (seg id 0)."""


def _is_ade_class(value: str) -> str:
    if value in ADE20K_INDEX:
        return value
    close = difflib.get_close_matches(value.strip().lower(), ADE20K_CLASSES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "use one of the 150 ADE20K class names (docs/spec.md, 'semantic')"
    raise FieldProblem(f"{value!r} is not an ADE20K class", hint)


AdeClass = Annotated[str, AfterValidator(_is_ade_class), Field(json_schema_extra={"enum": list(ADE20K_CLASSES)})]
"""One of ADE20K_CLASSES, exactly as written there (lower case, e.g. 'floor', 'chest of drawers'); the
JSON Schema lists them for editors."""

# Words of an object's name that stand for an ADE20K class other than their own spelling; a name
# word that IS a one-word class name (table, wall, ball, box, desk, bench, glass, rock, water, ...)
# names that class directly. Checked word by word, in the name's order.
NAME_SYNONYMS: dict[str, str] = {
    "ground": "floor", "lane": "floor", "tabletop": "table", "crate": "box", "cube": "box", "block": "box",
    "brick": "box", "domino": "box", "dice": "box", "marble": "ball", "sphere": "ball", "stone": "rock",
    "boulder": "rock", "mannequin": "person", "humanoid": "person", "human": "person", "figure": "person",
    "ragdoll": "person", "apple": "food", "pear": "food", "orange": "food", "fruit": "food", "mug": "glass",
    "cup": "glass", "bowl": "pot", "pin": "bottle", "stair": "stairs", "ramp": "floor", "landing": "floor",
    "liquid": "water", "rain": "water", "drop": "water", "droplet": "water", "grain": "sand", "grains": "sand",
    "spark": "light", "sparks": "light",
}
SHAPE_DEFAULTS: dict[str, str] = {"plane": "floor", "box": "box", "sphere": "ball", "capsule": "plaything",
                                  "cylinder": "plaything", "mesh": "plaything", "urdf": "plaything"}
"""A spec shape's class when no word of the name names one: a plane is a floor, a box a box, a sphere
a ball; other shapes are 'plaything' (ADE20K's toy class: a small loose object)."""
PARTICLE_DEFAULTS: dict[str, str] = {"fluid": "water", "ballistic": "sand"}
"""An emitter's (or fluid block's) class when no word of its name names one, by its kind."""


def class_from_name(name: str) -> str | None:
    """The class the first fitting word of `name` names (words split at non-letters: 'table_top' ->
    'table', 'top'), or None."""
    for word in re.split(r"[^a-z]+", name.lower()):
        if word in ADE20K_INDEX:
            return word
        if word in NAME_SYNONYMS:
            return NAME_SYNONYMS[word]
    return None


def default_semantic(name: str, shape: str) -> str:
    """An object's class when its spec sets none: by a word of its name, else by its shape."""
    return class_from_name(name) or SHAPE_DEFAULTS.get(shape, "plaything")


def default_particle_semantic(name: str, kind: str) -> str:
    """An emitter's or fluid block's class when its spec sets none: by a word of its name, else by
    its kind (fluid -> water, ballistic -> sand)."""
    return class_from_name(name) or PARTICLE_DEFAULTS[kind]

"""Domain types shared by every part of the scene spec.

Each type validates once, at the boundary, and yields plain immutable Python values
(tuples of floats), so nothing downstream re-checks or re-parses them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field

from .errors import FieldProblem


def _list_to_tuple(value):
    """YAML gives sequences as lists; the frozen spec stores tuples."""
    if isinstance(value, list):
        return tuple(value)
    return value


MAX_MAGNITUDE = 1e6
"""No number of a scene exceeds this in its unit (m, s, kg, m/s, N, ...): 1000 km, 11 days, 1000 t.
Products of a few such numbers (volumes, inertias, momenta) then stay far from overflow, and
the renderer's float32 geometry keeps millimetres at that distance."""
MIN_POSITIVE = 1e-6
"""A quantity that must be positive (a size, a mass, a duration) is at least this: a radius of
1e-300 m makes a volume of 0.0 and a division by it."""


def _bounded(value: float) -> float:
    if abs(value) > MAX_MAGNITUDE:
        raise FieldProblem(f"{value:g} is out of range", f"every number of a scene lies within +-{MAX_MAGNITUDE:g} in its unit")
    return value


def _not_vanishing(value: float) -> float:
    if value < MIN_POSITIVE:
        raise FieldProblem(f"{value:g} is too small", f"a positive size, mass or time is at least {MIN_POSITIVE:g} in its unit")
    return value


FiniteFloat = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_bounded)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False), AfterValidator(_bounded), AfterValidator(_not_vanishing)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_bounded)]
UnitInterval = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]

Vec2 = Annotated[tuple[FiniteFloat, FiniteFloat], BeforeValidator(_list_to_tuple)]
Vec3 = Annotated[tuple[FiniteFloat, FiniteFloat, FiniteFloat], BeforeValidator(_list_to_tuple)]
PositiveVec2 = Annotated[tuple[PositiveFloat, PositiveFloat], BeforeValidator(_list_to_tuple)]
PositiveVec3 = Annotated[
    tuple[PositiveFloat, PositiveFloat, PositiveFloat], BeforeValidator(_list_to_tuple)
]
Resolution = Annotated[
    tuple[Annotated[int, Field(ge=8, le=8192)], Annotated[int, Field(ge=8, le=8192)]],
    BeforeValidator(_list_to_tuple),
]


def _normalise_quaternion(q: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    norm = math.sqrt(sum(c * c for c in q))
    if norm < 1e-9:
        raise ValueError("quaternion has zero length; give [x, y, z, w], e.g. [0, 0, 0, 1]")
    return tuple(c / norm for c in q)  # type: ignore[return-value]


QuaternionXYZW = Annotated[
    tuple[FiniteFloat, FiniteFloat, FiniteFloat, FiniteFloat],
    BeforeValidator(_list_to_tuple),
    AfterValidator(_normalise_quaternion),
]
"""A rotation as a unit quaternion in pybullet's order [x, y, z, w]; normalised on load."""


# Named colours: the fixed vocabulary the prompt builder and the builtin model's captions use.
NAMED_COLORS: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.12, 0.10),
    "orange": (0.95, 0.50, 0.10),
    "yellow": (0.95, 0.85, 0.15),
    "green": (0.15, 0.65, 0.20),
    "cyan": (0.10, 0.75, 0.80),
    "blue": (0.12, 0.30, 0.85),
    "purple": (0.50, 0.20, 0.70),
    "pink": (0.95, 0.50, 0.70),
    "brown": (0.50, 0.32, 0.18),
    "white": (0.92, 0.92, 0.92),
    "grey": (0.50, 0.50, 0.50),
    "gray": (0.50, 0.50, 0.50),
    "black": (0.06, 0.06, 0.06),
    "wood": (0.65, 0.45, 0.25),
    "gold": (0.85, 0.68, 0.20),
    "silver": (0.75, 0.75, 0.78),
}


def _parse_color(value):
    """Accept a colour name, '#rrggbb', or [r, g, b] in 0..1; return an RGB tuple in 0..1."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in NAMED_COLORS:
            return NAMED_COLORS[text]
        if text.startswith("#") and len(text) == 7:
            try:
                return tuple(int(text[i : i + 2], 16) / 255.0 for i in (1, 3, 5))
            except ValueError:
                pass
        names = ", ".join(sorted(NAMED_COLORS))
        raise ValueError(f"unknown colour {value!r}; use one of {names}, '#rrggbb' or [r, g, b] in 0..1")
    return _list_to_tuple(value)


_RGBList = tuple[UnitInterval, UnitInterval, UnitInterval]
_ColorInput = (
    Literal[tuple(NAMED_COLORS)]  # type: ignore[valid-type]
    | Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
    | _RGBList
)
ColorRGB = Annotated[_RGBList, BeforeValidator(_parse_color, json_schema_input_type=_ColorInput)]
"""sRGB colour, each channel in 0..1. YAML may give a name, '#rrggbb' or a list."""


def nearest_color_name(rgb: tuple[float, float, float]) -> str:
    """The named colour closest to `rgb` (Euclidean in sRGB), for captions and prompts."""
    best = min(
        (name for name in NAMED_COLORS if name != "gray"),
        key=lambda name: sum((a - b) ** 2 for a, b in zip(NAMED_COLORS[name], rgb)),
    )
    return best


# ------------------------------------------------------------------ generation vocabulary
# Each list is written once, here at the bottom of the package, as the spec's Literal type;
# the spec's fields, the CLI's choices, the control images and the backends' tables derive
# from it (engine/backends/__init__.py checks its registry against BackendName).
ControlKind = Literal["depth", "flow", "seg", "normal", "edges", "pose", "albedo"]
"""A control image made from the passes (docs/passes.md, "Control images")."""
CONTROL_KINDS: tuple[str, ...] = get_args(ControlKind)

BackendName = Literal["builtin", "animatediff", "wan-vace", "cogvideox-flow"]
BACKEND_NAMES: tuple[str, ...] = get_args(BackendName)

Dtype = Literal["auto", "float32", "float16", "bfloat16"]
"""'auto': float16 on CUDA, float32 elsewhere."""
DTYPES: tuple[str, ...] = get_args(Dtype)

Device = Literal["auto", "cpu", "cuda", "mps"]
"""'auto': cuda, else mps, else cpu."""
DEVICES: tuple[str, ...] = get_args(Device)

"""Numbers of the spec that become counts: frames, physics steps, particles, lattice cells.

Every such conversion goes through `count`, so none can overflow: `round(1e308 * 24)` raises in
Python (the float is infinite), and a huge finite one makes an integer no limit check should
have to build. `count` saturates at `CEILING`, above every limit of the spec, so a caller
compares the result with its limit and reports "more than LIMIT" without special cases.
"""

from __future__ import annotations

import math
from typing import Callable

CEILING = 2**62
"""What any count above it (and an infinite or undefined product) becomes; above every limit."""


def count(value: float, rounding: Callable[[float], float] = round) -> int:
    """`rounding(value)` as an int in [0, CEILING]; CEILING for larger values, inf and nan.

    `rounding` is `round` (frames, steps) or `math.floor` (particles that fit).
    """
    if math.isnan(value) or value >= CEILING:
        return CEILING
    if value <= 0:
        return 0
    return min(CEILING, int(rounding(value)))


def product(counts) -> int:
    """The product of counts, saturated at CEILING (a grid of three huge axes stays comparable)."""
    total = 1
    for n in counts:
        total = min(CEILING, total * n)
    return total


def shown(n: int) -> str:
    """A count for a message: '1,234', or 'more than 4.6e+18' for a saturated one."""
    return f"more than {CEILING:.2g}" if n >= CEILING else f"{n:,}"

"""The verdict: one or two sentences that say what the metrics say, for report.html and metrics.json.

It answers two questions about the judged video (guided, or a --video), each from the means over
seeds in the aggregate table (summary.aggregate) and the nearness tolerances (nearness.py):
1. **Motion.** Does it follow the simulated motion? Read on the object flow error, the motion
   IoU and, with a still camera, the Physics-IQ score (whose masks assume a still camera, as the
   benchmark films). It *follows* when it is near the simulation on every one of them; it *moves
   closer than unguided but does not follow* when it is better than unguided on every one but
   far on some; otherwise it *does not follow*.
2. **Depiction.** Does it show the objects? Read on object visibility and object colour error
   (per object). It depicts them when it is near the simulation on both; otherwise it names the
   least visible object and, when the colour is off, the object whose colour is most off.
Numbers are quoted beside the preview's own, which is what following the physics attains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .nearness import NEAR_TOLERANCE, shortfall
from .summary import Run, per_object_means

FOLLOWS, CLOSER, DOES_NOT, UNMEASURED = "follows", "closer but does not follow", "does not follow", "unmeasured"
WELL, POORLY = "well", "poorly"


@dataclass(frozen=True)
class Verdict:
    text: str
    """One or two sentences."""
    subject: str
    """The judged label: 'guided' or 'video'."""
    motion: str
    """FOLLOWS, CLOSER, DOES_NOT or UNMEASURED."""
    depiction: str
    """WELL, POORLY or UNMEASURED."""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "subject": self.subject, "motion": self.motion, "depiction": self.depiction}


def verdict(runs: list[Run], table: dict[str, dict[str, Any]], camera_moves: bool) -> Verdict:
    """The verdict on the guided video (or the user's video) of `runs`, from their aggregate `table`."""
    subject = "video" if any(run.label == "video" for run in runs) else "guided"
    baseline = "unguided" if any(run.label == "unguided" for run in runs) else None
    seeds = sorted({run.seed for run in runs if run.label == subject and run.seed is not None})
    motion_keys = ("flow_epe_object", "motion_iou") + (() if camera_moves else ("physics_iq_score",))
    motion, motion_text = _motion(table, subject, baseline, motion_keys)
    depiction, depiction_text = _depiction(runs, table, subject)
    good_motion, good_depiction = motion == FOLLOWS, depiction == WELL
    joint = "but" if (good_motion != good_depiction and UNMEASURED not in (motion, depiction)) else "and"
    if motion == CLOSER:  # its clause already turns on "but": a second one would not read
        joint = "and"
    name = "Guided" if subject == "guided" else "The video"
    text = f"{name} {motion_text} {joint} {depiction_text}."
    if len(seeds) > 1:
        text += f" Means over seeds {', '.join(map(str, seeds))}."
    return Verdict(text, subject, motion, depiction)


def _motion(table, subject: str, baseline: str | None, keys: tuple[str, ...]) -> tuple[str, str]:
    """(MOTION class, clause) from the motion metrics defined for the subject and the preview."""
    keys = tuple(k for k in keys if k in table and _finite(table[k], subject) and _finite(table[k], "preview"))
    if not keys:
        return UNMEASURED, "was not measured for motion (no motion metric is defined)"
    quoted = [k for k in keys if k != "motion_iou" or len(keys) < 3]  # the flow error and the Physics-IQ score
    far = [k for k in keys if not table[k]["near"].get(subject)]
    if far and not set(far) & set(quoted):  # the reason must be in the sentence
        quoted += far
    evidence = "; ".join(_evidence(table[k], k, subject, baseline) for k in quoted)
    if not far:
        return FOLLOWS, f"follows the simulated motion ({evidence})"
    if baseline and all(_finite(table[k], baseline) and _better(table[k], k, subject, baseline) for k in keys):
        return CLOSER, f"moves more like the simulation than unguided but does not follow it ({evidence})"
    return DOES_NOT, f"does not follow the simulated motion ({evidence})"


def _depiction(runs, table, subject: str) -> tuple[str, str]:
    """(DEPICTION class, clause) from object visibility and colour error."""
    visibility = table.get("object_visibility")
    if visibility is None or not (_finite(visibility, subject) and _finite(visibility, "preview")):
        return UNMEASURED, "its depiction of the objects was not measured (no object is shown large enough)"
    colour = table.get("object_color_error")
    colour_ok = colour is None or not _finite(colour, subject) or colour["near"].get(subject) is not False
    seen = per_object_means(runs, "object_visibility", subject)
    seen_preview = per_object_means(runs, "object_visibility", "preview")
    share, share_preview = visibility[subject]["mean"], visibility["preview"]["mean"]
    if visibility["near"].get(subject) and colour_ok:
        return WELL, f"depicts the objects: they are visible in {_pct(share)} of their frames (the preview: {_pct(share_preview)})"
    clause = _visible_clause(seen, seen_preview, share, share_preview)
    if not colour_ok:
        errors = per_object_means(runs, "object_color_error", subject)
        errors_preview = per_object_means(runs, "object_color_error", "preview")
        if errors:
            off = max(errors, key=lambda o: errors[o])
            whose, error, reference = f"the {_spoken(off)}'s colour is", errors[off], errors_preview.get(off, math.nan)
        else:
            whose, error, reference = "the objects' colours are", colour[subject]["mean"], colour["preview"]["mean"]
        clause += f"; {whose} off by {error:.0f} (hue and chroma, dE a*b*; the preview: {reference:.0f})"
    return POORLY, f"depicts the objects poorly: {clause}"


def _visible_clause(seen: dict[str, float], seen_preview: dict[str, float], share: float, share_preview: float) -> str:
    """'the ball is visible in 31 % of its frames and the floor in 0 % (the preview: 100 % each)': the
    (up to) three least visible objects, least visible first; the overall share when there are more."""
    if not seen:
        return f"the objects are visible in {_pct(share)} of their frames (the preview: {_pct(share_preview)})"
    worst = sorted(seen, key=lambda o: (seen[o], list(seen).index(o)))[:3]
    parts = [f"the {_spoken(worst[0])} is visible in {_pct(seen[worst[0]])} of its frames"]
    parts += [f"the {_spoken(o)} in {_pct(seen[o])}" for o in worst[1:]]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    if len(seen) > len(worst):
        listed += f", all {len(seen)} objects in {_pct(share)}"
    reference = [seen_preview.get(o, math.nan) for o in worst]
    if len(set(reference)) == 1:
        shown = _pct(reference[0]) + (" each" if len(worst) > 1 else "")
    else:
        shown = " and ".join(_pct(v) for v in reference)
    return f"{listed} (the preview: {shown})"


def _evidence(entry, name: str, subject: str, baseline: str | None) -> str:
    words = {"flow_epe_object": ("flow error", " px", 1), "motion_iou": ("motion IoU", "", 2),
             "physics_iq_score": ("Physics-IQ score", "", 0)}
    label, unit, digits = words[name]
    value = f"{entry[subject]['mean']:.{digits}f}{unit}"
    versus = f" vs {entry[baseline]['mean']:.{digits}f}{unit} unguided" if baseline and _finite(entry, baseline) else ""
    return f"{label} {value}{versus}; the simulation itself {entry['preview']['mean']:.{digits}f}{unit}"


def _better(entry, name: str, a: str, b: str) -> bool:
    """a is nearer the simulation than b by more than a tenth of the metric's tolerance (not a rounding difference)."""
    gap_a = shortfall(entry[a]["mean"], entry["preview"]["mean"], entry["direction"])
    gap_b = shortfall(entry[b]["mean"], entry["preview"]["mean"], entry["direction"])
    return gap_b - gap_a > 0.1 * NEAR_TOLERANCE[name]


def _finite(entry, label: str) -> bool:
    return label in entry and entry[label]["n"] > 0 and math.isfinite(entry[label]["mean"])


def _spoken(name: str) -> str:
    """An object's spec name as words ('green_apple' -> 'green apple')."""
    return name.replace("_", " ")


def _pct(share: float) -> str:
    return "n/a" if not math.isfinite(share) else f"{100 * share:.0f} %"

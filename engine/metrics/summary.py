"""Metric results of several videos -> the aggregate table and metrics.json's data.

A run is one video scored against the shot: a label ('guided', 'unguided', 'video',
'preview') and a seed. Per label the shot values are aggregated over seeds as mean and
population std (ddof = 0). Against the preview's mean (nearness.py) each label is near the
simulation or not, and guided (or a --video) is placed between unguided (0 %) and the preview
(100 %). The winner of a metric is the label with the better mean in the metric's direction among
the competing labels ('guided' and 'unguided') when it is near the simulation; equal means are a
tie; when the better one is far from the simulation too, the winner is 'neither'.
NaN becomes null in JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import HIGHER, MetricResult
from .nearness import is_near, towards_simulation


@dataclass(frozen=True)
class Run:
    label: str
    seed: int | None
    """None for a video with no seed (a user's --video, the preview)."""
    metrics: dict[str, MetricResult]


def aggregate(runs: list[Run], competitors: tuple[str, ...] = ("guided", "unguided")) -> dict[str, dict[str, Any]]:
    """{metric: {label: {mean, std, n, values}, 'near': {label: bool | None}, 'towards_simulation': percent | None,
    'winner': label | 'tie' | 'neither' | None, direction, unit, note}}."""
    names = list(dict.fromkeys(name for run in runs for name in run.metrics))
    table: dict[str, dict[str, Any]] = {}
    for name in names:
        entry: dict[str, Any] = {}
        first = next(run.metrics[name] for run in runs if name in run.metrics)
        entry["direction"], entry["unit"] = first.direction, first.unit
        notes = sorted({run.metrics[name].note for run in runs if name in run.metrics and run.metrics[name].note})
        entry["note"] = "; ".join(notes) or None
        for label in dict.fromkeys(run.label for run in runs):
            values = np.array([run.metrics[name].value for run in runs if run.label == label and name in run.metrics])
            finite = values[np.isfinite(values)]
            entry[label] = {
                "mean": float(finite.mean()) if finite.size else math.nan,
                "std": float(finite.std()) if finite.size else math.nan,
                "n": int(finite.size),
                "values": values.tolist(),
            }
        labels = [label for label in dict.fromkeys(run.label for run in runs) if label != "preview"]
        preview = entry["preview"]["mean"] if "preview" in entry else math.nan
        entry["near"] = {label: is_near(name, entry[label]["mean"], preview, first.direction) for label in labels}
        subject = next((label for label in ("guided", "video") if label in entry), None)
        entry["towards_simulation"] = (None if subject is None or "unguided" not in entry else
                                       towards_simulation(entry[subject]["mean"], entry["unguided"]["mean"], preview))
        entry["winner"] = _winner(entry, first.direction, competitors)
        table[name] = entry
    return table


def _winner(entry: dict[str, Any], direction: str, competitors: tuple[str, ...]) -> str | None:
    means = {label: entry[label]["mean"] for label in competitors if label in entry and math.isfinite(entry[label]["mean"])}
    if len(means) < 2:
        return None
    best = max(means.values()) if direction == HIGHER else min(means.values())
    leaders = [label for label, mean in means.items() if mean == best]
    if entry["near"].get(leaders[0]) is False:
        return "neither"  # the better one is far from the simulation too: no winner
    return leaders[0] if len(leaders) == 1 else "tie"


def run_to_json(run: Run) -> dict[str, Any]:
    """{metric: {value, per_frame, note}} of one run, JSON-ready (NaN -> None)."""
    return {
        name: {
            "value": json_number(result.value),
            "per_frame": None if result.per_frame is None else [json_number(v) for v in result.per_frame],
            "note": result.note,
            **({} if result.per_object is None else {"per_object": {k: json_number(v) for k, v in result.per_object.items()}}),
        }
        for name, result in run.metrics.items()
    }


def per_object_means(runs: list[Run], name: str, label: str) -> dict[str, float]:
    """{object: mean over the label's seeds of the metric's per-object value} (objects judged in any seed)."""
    values: dict[str, list[float]] = {}
    for run in runs:
        result = run.metrics.get(name)
        if run.label == label and result is not None and result.per_object:
            for obj, value in result.per_object.items():
                values.setdefault(obj, []).append(value)
    return {obj: float(np.mean(v)) for obj, v in values.items()}


def json_number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def clean_nans(data: Any) -> Any:
    """The same data with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(data, dict):
        return {k: clean_nans(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [clean_nans(v) for v in data]
    if isinstance(data, float) and not math.isfinite(data):
        return None
    return data

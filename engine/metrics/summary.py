"""Metric results of several videos -> the aggregate table and metrics.json's data.

A run is one video scored against the shot: a label ('guided', 'unguided', 'video',
'preview') and a seed. Per label the shot values are aggregated over seeds as mean and
population std (ddof = 0); the winner of a metric is the label with the better mean in the
metric's direction among the competing labels ('guided' and 'unguided'); equal means are a tie.
NaN becomes null in JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import HIGHER, MetricResult


@dataclass(frozen=True)
class Run:
    label: str
    seed: int | None
    """None for a video with no seed (a user's --video, the preview)."""
    metrics: dict[str, MetricResult]


def aggregate(runs: list[Run], competitors: tuple[str, ...] = ("guided", "unguided")) -> dict[str, dict[str, Any]]:
    """{metric: {label: {mean, std, n, values}, 'winner': label | 'tie' | None, direction, unit, note}}."""
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
        entry["winner"] = _winner(entry, first.direction, competitors)
        table[name] = entry
    return table


def _winner(entry: dict[str, Any], direction: str, competitors: tuple[str, ...]) -> str | None:
    means = {label: entry[label]["mean"] for label in competitors if label in entry and math.isfinite(entry[label]["mean"])}
    if len(means) < 2:
        return None
    best = max(means.values()) if direction == HIGHER else min(means.values())
    leaders = [label for label, mean in means.items() if mean == best]
    return leaders[0] if len(leaders) == 1 else "tie"


def run_to_json(run: Run) -> dict[str, Any]:
    """{metric: {value, per_frame, note}} of one run, JSON-ready (NaN -> None)."""
    return {
        name: {
            "value": json_number(result.value),
            "per_frame": None if result.per_frame is None else [json_number(v) for v in result.per_frame],
            "note": result.note,
        }
        for name, result in run.metrics.items()
    }


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

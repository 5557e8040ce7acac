"""Best of N: render N generation seeds of a shot, rank the takes by their physics score, keep the best.

The ranking (docs/batch.md, "Best of N"): each take is scored against the shot's passes with the
compare metrics (engine.metrics). For each metric of RANKED_METRICS the N takes are ranked,
1 for the best value in the metric's direction; equal values share their mean rank and an
undefined value (NaN: the metric's region was empty) ranks last. A take's score is the sum of
its ranks; the lowest sum wins, then the lower flow_epe_object, then the earlier seed. Ranks,
not raw values, are summed so that no metric's unit outweighs another's.

The kept take is written exactly as `physreel render SCENE --seed BEST` writes it
(engine.stage_files.write_outputs), and every take's scores are returned for the batch's records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physreel.sim.spec import Scene

from ..metrics.base import HIGHER
from ..metrics.summary import Run
from ..pipeline import Pipeline
from ..stage_files import render_meta, write_outputs

RANKED_METRICS = ("flow_epe_object", "flow_outlier_share", "warp_error", "motion_iou")
"""The motion metrics a take is ranked on: flow error on the moving objects, share of flow
outliers, warp error along the exact flow, and the motion mask's IoU with the simulation's."""


@dataclass(frozen=True)
class TakeScore:
    seed: int
    metrics: dict[str, float]
    """Every compare metric's shot value (NaN where undefined)."""
    ranks: dict[str, float]
    """RANKED_METRICS -> rank among the takes (1 = best)."""
    rank_sum: float

    def to_json(self) -> dict[str, Any]:
        clean = {name: (None if not math.isfinite(value) else value) for name, value in self.metrics.items()}
        return {"seed": self.seed, "metrics": clean, "ranks": self.ranks, "rank_sum": self.rank_sum}


def rank_takes(runs: list[Run]) -> list[TakeScore]:
    """The takes (runs with a seed) best first, by the module docstring's ranking."""
    takes = [run for run in runs if run.seed is not None]
    ranks: dict[int, dict[str, float]] = {run.seed: {} for run in takes}
    for name in RANKED_METRICS:
        values = {run.seed: run.metrics[name].value if name in run.metrics else math.nan for run in takes}
        direction = next((run.metrics[name].direction for run in takes if name in run.metrics), HIGHER)
        for seed, rank in _ranks(values, higher_is_better=direction == HIGHER).items():
            ranks[seed][name] = rank
    scores = [TakeScore(run.seed, {name: float(m.value) for name, m in run.metrics.items()}, ranks[run.seed],
                        sum(ranks[run.seed].values())) for run in takes]
    order = {run.seed: index for index, run in enumerate(takes)}

    def key(score: TakeScore):
        epe = score.metrics.get("flow_epe_object", math.nan)
        return (score.rank_sum, epe if math.isfinite(epe) else math.inf, order[score.seed])

    return sorted(scores, key=key)


def _ranks(values: dict[int, float], higher_is_better: bool) -> dict[int, float]:
    """Seed -> rank (1 = best; ties share the mean rank; NaN after every number, tied among themselves)."""
    finite = sorted((v for v in values.values() if math.isfinite(v)), reverse=higher_is_better)
    ranks = {}
    for seed, value in values.items():
        if math.isfinite(value):
            first = finite.index(value) + 1
            ties = finite.count(value)
            ranks[seed] = first + (ties - 1) / 2
        else:
            nan_count = sum(1 for v in values.values() if not math.isfinite(v))
            ranks[seed] = len(finite) + 1 + (nan_count - 1) / 2
    return ranks


def render_best(scene: Scene, out: Path, best_of: int) -> dict[str, Any]:
    """Render `best_of` guided takes (seeds s .. s+N-1 from the resolved generate.seed s), score each,
    write the best as `physreel render --seed BEST` would; the record of every take.

    With best_of 1 this is `physreel render SCENE` (its one take scored too, for the index)."""
    pipeline = Pipeline()
    first = scene.spec.generate.seed if scene.spec.generate.seed is not None else scene.spec.shot.seed
    seeds = tuple(range(first, first + best_of)) if best_of > 1 else None
    result = pipeline(scene, runs=("guided",), seeds=seeds, score=True)
    ranked = rank_takes([run for run in result.scores if run.label == "guided"])
    best = next(take for take in result.takes if take.seed == ranked[0].seed)
    write_outputs(out, result.shot, best, render_meta(result, best))
    return {"seed": best.seed, "seeds": [take.seed for take in result.takes], "takes": [s.to_json() for s in ranked],
            "metrics": ranked[0].to_json()["metrics"], "notes": list(result.notes)}

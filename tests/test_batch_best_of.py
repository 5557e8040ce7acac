"""Best of N: the ranking of takes by physics score (docs/batch.md, "Best of N")."""

from __future__ import annotations

import math

from physreel.engine.batch.best_of import rank_takes
from physreel.engine.metrics.base import MetricResult
from physreel.engine.metrics.summary import Run


def take(seed: int, epe: float, iou: float, outliers: float = math.nan, warp: float = math.nan) -> Run:
    values = {"flow_epe_object": (epe, "lower"), "motion_iou": (iou, "higher"),
              "flow_outlier_share": (outliers, "lower"), "warp_error": (warp, "lower")}
    return Run("guided", seed, {name: MetricResult(name, value, direction, "") for name, (value, direction) in values.items()})


def test_ranks_are_summed_in_each_metrics_direction_and_an_undefined_value_ranks_last():
    ranked = rank_takes([take(1, 2.0, 0.5), take(2, 1.0, 0.6), take(3, math.nan, 0.9)])
    assert [t.seed for t in ranked] == [2, 3, 1]
    by_seed = {t.seed: t for t in ranked}
    assert by_seed[2].ranks == {"flow_epe_object": 1, "flow_outlier_share": 2, "warp_error": 2, "motion_iou": 2}
    assert by_seed[3].ranks["flow_epe_object"] == 3 and by_seed[3].ranks["motion_iou"] == 1
    assert [t.rank_sum for t in ranked] == [7, 8, 9]
    assert by_seed[3].to_json()["metrics"]["flow_epe_object"] is None  # JSON has no NaN


def test_equal_values_share_their_mean_rank_and_ties_go_to_the_lower_flow_error_then_the_earlier_seed():
    ranked = rank_takes([take(5, 1.0, 0.5, outliers=0.2), take(6, 2.0, 0.5, outliers=0.1), take(7, 1.0, 0.5, outliers=0.2)])
    # flow error 1.5, 3, 1.5; outliers 2.5, 1, 2.5; warp (undefined) and IoU 2 each: every sum is 8
    assert [t.rank_sum for t in ranked] == [8.0, 8.0, 8.0]
    assert [t.seed for t in ranked] == [5, 7, 6]
    assert ranked[0].ranks["flow_epe_object"] == 1.5 and ranked[0].ranks["motion_iou"] == 2


def test_takes_with_equal_rank_sums_go_to_the_lower_flow_error():
    ranked = rank_takes([take(1, 2.0, 0.9), take(2, 1.0, 0.5)])
    assert ranked[0].rank_sum == ranked[1].rank_sum and [t.seed for t in ranked] == [2, 1]

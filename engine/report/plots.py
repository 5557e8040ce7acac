"""Matplotlib plots of a metric over the shot, as PNG bytes.

Drawn with matplotlib's object API (a `Figure` on its own Agg canvas), not pyplot: no backend is
switched and no figure is registered for the process (pyplot's are global state).
"""

from __future__ import annotations

import io

import numpy as np

from physreel.engine.metrics.summary import Run

COLORS = {"guided": "#1b7837", "unguided": "#c51b7d", "video": "#2166ac", "preview": "#444444"}
LABELS = {"guided": "guided", "unguided": "unguided", "video": "your video", "preview": "simulation preview (reference)"}


def metric_plot_png(name: str, runs: list[Run], fps: int, direction: str, unit: str) -> bytes | None:
    """PNG of `name` per frame transition for each label: the mean over seeds, a band from the
    lowest to the highest seed, the preview dashed. None when no run has per-frame values."""
    # matplotlib takes half a second to import: only when a plot is drawn, not with every CLI command
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    series: dict[str, np.ndarray] = {}
    for label in dict.fromkeys(run.label for run in runs):
        rows = [run.metrics[name].per_frame for run in runs
                if run.label == label and name in run.metrics and run.metrics[name].per_frame is not None]
        if rows:
            series[label] = np.stack(rows).astype(np.float64)
    if not series or all(not np.isfinite(v).any() for v in series.values()):
        return None
    fig = Figure(figsize=(6.4, 3.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for label, values in series.items():
        t = np.arange(values.shape[1]) / fps
        mean = _column_nanmean(values)
        style = "--" if label == "preview" else "-"
        ax.plot(t, mean, style, color=COLORS.get(label, "black"), label=LABELS.get(label, label), linewidth=1.6)
        if len(values) > 1:
            low, high = _column_extremes(values)
            ax.fill_between(t, low, high, color=COLORS.get(label, "black"), alpha=0.15, linewidth=0)
    ax.set_xlabel("time of frame t (s); motion metrics: the transition t -> t+1")
    ax.set_ylabel(f"{name} ({unit})")
    ax.set_title(f"{name} ({direction} is better)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _column_nanmean(values: np.ndarray) -> np.ndarray:
    """float64 [T]: mean over seeds of the finite entries of each column; NaN where none is finite
    (a transition where the metric is undefined in every run, e.g. no moving pixels yet)."""
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _column_extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 [T] each: min and max over seeds of the finite entries of each column (NaN where none)."""
    finite = np.isfinite(values).any(axis=0)
    low = np.where(np.isfinite(values), values, np.inf).min(axis=0)
    high = np.where(np.isfinite(values), values, -np.inf).max(axis=0)
    return np.where(finite, low, np.nan), np.where(finite, high, np.nan)

"""The compare report: metric plots (plots.py) and one self-contained HTML page (html.py)."""

from .html import ReportInputs, render_report
from .plots import metric_plot_png

__all__ = ["ReportInputs", "metric_plot_png", "render_report"]

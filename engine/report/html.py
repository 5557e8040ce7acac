"""One self-contained HTML page: videos in step, the metric table with winners, plots, the scene,
settings, versions and links to every file. Everything is embedded (base64) except videos over
EMBED_LIMIT_BYTES, which are linked by relative path."""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EMBED_LIMIT_BYTES = 20_000_000

_SYNC_JS = """
const vids = Array.from(document.querySelectorAll('video.sync'));
let busy = false;
function each(f) { if (busy) return; busy = true; try { vids.forEach(f); } finally { busy = false; } }
vids.forEach(v => {
  v.addEventListener('play', () => each(o => { if (o !== v && o.paused) o.play(); }));
  v.addEventListener('pause', () => each(o => { if (o !== v && !o.paused) o.pause(); }));
  v.addEventListener('seeked', () => each(o => { if (o !== v && Math.abs(o.currentTime - v.currentTime) > 0.02) o.currentTime = v.currentTime; }));
});
if (vids.length) vids[0].addEventListener('timeupdate', () => each(o => {
  if (o !== vids[0] && Math.abs(o.currentTime - vids[0].currentTime) > 0.1) o.currentTime = vids[0].currentTime;
}));
document.getElementById('playall').addEventListener('click', () => {
  vids.forEach(v => { v.currentTime = 0; }); vids.forEach(v => v.play());
});
document.getElementById('step').addEventListener('input', e => {
  vids.forEach(v => { v.pause(); v.currentTime = Number(e.target.value) * v.duration / 1000; });
});
"""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
.videos { display: flex; gap: 1em; flex-wrap: wrap; } figure { margin: 0; text-align: center; }
video { width: 320px; image-rendering: pixelated; background: #000; }
table { border-collapse: collapse; font-size: .92em; } td, th { border: 1px solid #ccc; padding: .3em .6em; text-align: right; }
th { background: #f4f4f4; } td.name { text-align: left; font-family: monospace; }
td.win { background: #d9f0d3; font-weight: bold; } td.win::after { content: " \\2605"; color: #1b7837; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } .plots img { width: 560px; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; } .note { color: #8c510a; }
"""


@dataclass(frozen=True)
class ReportInputs:
    """What the page shows. Paths are files under `out`; labels in table order."""

    out: Path
    title: str
    videos: tuple[tuple[str, Path], ...]
    """(caption, path) of the videos played in step."""
    table: dict[str, dict[str, Any]]
    """engine.metrics.summary.aggregate output."""
    labels: tuple[str, ...]
    """Columns of the table, e.g. ('preview', 'guided', 'unguided')."""
    plots: dict[str, bytes]
    """Metric name -> PNG bytes."""
    spec_text: str
    preview_png: bytes | None
    settings: dict[str, Any]
    versions: dict[str, Any]
    files: tuple[Path, ...]
    """Every file compare made, relative to `out`."""
    formulas: dict[str, str]
    """Metric name -> one-line definition."""
    notes: tuple[str, ...] = ()


def render_report(inputs: ReportInputs) -> str:
    """The HTML text of the report."""
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(inputs.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(inputs.title)}</h1>",
        "<h2>Videos</h2><p><button id='playall'>&#9654; play all from the start</button> "
        "<label>scrub <input id='step' type='range' min='0' max='1000' value='0' style='width:300px'></label> "
        "(the videos play in step)</p><div class='videos'>",
    ]
    for caption, path in inputs.videos:
        parts.append(f"<figure><video class='sync' src='{_video_src(inputs.out, path)}' muted loop playsinline controls></video>"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("</div>")
    parts.append(_table_html(inputs))
    for note in inputs.notes:
        parts.append(f"<p class='note'>{e(note)}</p>")
    parts.append("<h2>Metrics over time</h2><div class='plots'>")
    for name, png in inputs.plots.items():
        parts.append(f"<img alt='{e(name)} over time' src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    parts.append("</div>")
    parts.append("<h2>Scene</h2>")
    if inputs.preview_png is not None:
        parts.append(f"<p><img alt='preview still' style='max-width:320px' src='data:image/png;base64,{base64.b64encode(inputs.preview_png).decode()}'></p>")
    parts.append(f"<pre>{e(inputs.spec_text)}</pre>")
    parts.append("<h2>Settings</h2>" + _kv_table(inputs.settings))
    parts.append("<h2>Versions</h2>" + _kv_table(inputs.versions))
    parts.append("<h2>Files</h2><ul>")
    for path in inputs.files:
        parts.append(f"<li><a href='{e(path.as_posix())}'>{e(path.as_posix())}</a></li>")
    parts.append("</ul>")
    parts.append(f"<script>{_SYNC_JS}</script></body></html>\n")
    return "\n".join(parts)


def _video_src(out: Path, path: Path) -> str:
    full = out / path
    if full.stat().st_size <= EMBED_LIMIT_BYTES:
        return "data:video/mp4;base64," + base64.b64encode(full.read_bytes()).decode()
    return html.escape(path.as_posix())


def _table_html(inputs: ReportInputs) -> str:
    e = html.escape
    head = "".join(f"<th>{e(label)}</th>" for label in inputs.labels)
    rows = [
        "<h2>Guided vs unguided</h2>",
        "<p>Mean &plusmn; std over seeds; the winner of each metric (the better mean in its direction) is marked "
        "&#9733;. The simulation preview is the ground-truth render: the value a video that follows the physics "
        "exactly attains on this scene.</p>",
        f"<table id='metrics'><tr><th>metric</th><th>better</th><th>unit</th>{head}<th>winner</th><th>definition</th></tr>",
    ]
    for name, entry in inputs.table.items():
        cells = []
        for label in inputs.labels:
            stats = entry.get(label)
            css = " class='win'" if entry.get("winner") == label else ""
            cells.append(f"<td{css}>{_fmt(stats)}</td>")
        winner = entry.get("winner") or "n/a"
        rows.append(f"<tr><td class='name'>{e(name)}</td><td>{e(entry['direction'])}</td><td>{e(entry['unit'])}</td>"
                    f"{''.join(cells)}<td>{e(winner)}</td><td style='text-align:left'>{e(inputs.formulas.get(name, ''))}"
                    f"{'<br><span class=note>' + e(entry['note']) + '</span>' if entry.get('note') else ''}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _fmt(stats: dict[str, Any] | None) -> str:
    if not stats or stats["n"] == 0 or not math.isfinite(stats["mean"]):
        return "&ndash;"
    if stats["n"] == 1:
        return f"{stats['mean']:.4g}"
    return f"{stats['mean']:.4g} &plusmn; {stats['std']:.2g}"


def _kv_table(data: dict[str, Any]) -> str:
    e = html.escape
    rows = "".join(f"<tr><td class='name'>{e(str(k))}</td><td style='text-align:left'>{e(str(v))}</td></tr>" for k, v in data.items())
    return f"<table>{rows}</table>"

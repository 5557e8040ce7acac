"""One self-contained HTML page: the verdict, videos in step, the metric table with winners and
each video's way towards the simulation, plots, the scene, settings, versions and links to every file. Everything is embedded (base64) except videos over
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
.verdict { font-size: 1.15em; background: #fff8e1; border-left: 4px solid #e6a100; padding: .6em 1em; }
td.far { color: #8c510a; }
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
    verdict: str = ""
    """One or two sentences at the top of the page (engine.metrics.verdict)."""
    seeds: tuple[int, ...] = ()
    """The generation seeds the table averages over (empty for a user's video)."""
    sizes: tuple[tuple[int, int], tuple[int, int]] | None = None
    """((width, height) the frames are scored at, (width, height) of the scene's camera)."""
    per_object: dict[str, dict[str, dict[str, float]]] | None = None
    """{metric: {label: {object: mean over seeds}}} of the depiction metrics judged per object."""


def render_report(inputs: ReportInputs) -> str:
    """The HTML text of the report."""
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(inputs.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(inputs.title)}</h1>",
        *([f"<p class='verdict' id='verdict'>{e(inputs.verdict)}</p>"] if inputs.verdict else []),
        *([f"<p>{e(_size_line(inputs.sizes))}</p>"] if inputs.sizes else []),
        "<h2>Videos</h2><p><button id='playall'>&#9654; play all from the start</button> "
        "<label>scrub <input id='step' type='range' min='0' max='1000' value='0' style='width:300px'></label> "
        "(the videos play in step)</p><div class='videos'>",
    ]
    for caption, path in inputs.videos:
        parts.append(f"<figure><video class='sync' src='{_video_src(inputs.out, path)}' muted loop playsinline controls></video>"
                     f"<figcaption>{e(caption)}</figcaption></figure>")
    parts.append("</div>")
    parts.append(_table_html(inputs))
    if inputs.per_object:
        parts.append(_objects_html(inputs))
    for note in _page_notes(inputs):
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
    towards = "guided" if "guided" in inputs.labels else None
    rows = [
        "<h2>Guided vs unguided</h2>" if "guided" in inputs.labels else "<h2>Your video against the simulation</h2>",
        f"<p>{e(_seeds_line(inputs.seeds))} The simulation preview is the ground-truth render: the value a video "
        "that follows the physics exactly attains on this scene. The winner of a metric (the better mean in its "
        "direction) is marked &#9733; only when it is near the simulation; when guided and unguided are both far from "
        "it, neither wins. <i>Towards the simulation</i> places guided between unguided (0 %) and the preview "
        "(100 %).</p>",
        f"<table id='metrics'><tr><th>metric</th><th>better</th><th>unit</th>{head}"
        f"{'<th>towards the simulation</th>' if towards else ''}<th>winner</th><th>definition</th></tr>",
    ]
    for name, entry in inputs.table.items():
        cells = []
        for label in inputs.labels:
            stats = entry.get(label)
            far = label != "preview" and entry.get("near", {}).get(label) is False
            css = " class='win'" if entry.get("winner") == label else (" class='far'" if far else "")
            cells.append(f"<td{css}>{_fmt(stats)}{' (far)' if far else ''}</td>")
        if towards:
            cells.append(f"<td>{_percent(entry.get('towards_simulation'))}</td>")
        rows.append(f"<tr><td class='name'>{e(name)}</td><td>{e(entry['direction'])}</td><td>{e(entry['unit'])}</td>"
                    f"{''.join(cells)}<td>{e(_winner_text(entry.get('winner')))}</td><td style='text-align:left'>"
                    f"{e(inputs.formulas.get(name, ''))}"
                    f"{'<br><span class=note>' + e(entry['note']) + '</span>' if entry.get('note') else ''}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _objects_html(inputs: ReportInputs) -> str:
    """The depiction metrics per judged object: one row per object, one column per metric and label."""
    e = html.escape
    metrics = [name for name, by_label in inputs.per_object.items() if any(by_label.values())]
    objects = list(dict.fromkeys(o for name in metrics for values in inputs.per_object[name].values() for o in values))
    head = "".join(f"<th>{e(name)}<br>{e(label)}</th>" for name in metrics for label in inputs.labels)
    rows = ["<h2>Per object</h2><p>The depiction metrics of each judged object (moving, or named by the prompt), over "
            "the frames where the simulation shows it at 64 or more of the scene's pixels.</p>",
            f"<table id='objects'><tr><th>object</th>{head}</tr>"]
    for obj in objects:
        cells = "".join(f"<td>{_number(inputs.per_object[name].get(label, {}).get(obj))}</td>"
                        for name in metrics for label in inputs.labels)
        rows.append(f"<tr><td class='name'>{e(obj)}</td>{cells}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _number(value: float | None) -> str:
    return "&ndash;" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _winner_text(winner: str | None) -> str:
    if winner is None:
        return "n/a"
    return "neither: both far from the simulation" if winner == "neither" else winner


def _percent(value: float | None) -> str:
    return "&ndash;" if value is None or not math.isfinite(value) else f"{value:.0f} %"


def _seeds_line(seeds: tuple[int, ...]) -> str:
    if len(seeds) > 1:
        return f"Mean \u00b1 std over seeds {', '.join(map(str, seeds))}."
    if len(seeds) == 1:
        return f"One seed ({seeds[0]}): single values, no spread over seeds (pass --seeds 0,1,2 for means and spreads)."
    return "One video, no seeds."


def _size_line(sizes: tuple[tuple[int, int], tuple[int, int]]) -> str:
    (width, height), (scene_w, scene_h) = sizes
    if (width, height) == (scene_w, scene_h):
        return f"Frames scored at {width}x{height}, the scene's size."
    return (f"Frames scored at {width}x{height} (the scene's camera: {scene_w}x{scene_h}); pixel units below are "
            f"pixels of the {width}x{height} frames.")


def _page_notes(inputs: ReportInputs) -> list[str]:
    """The notes, each once, leaving out those a table row already shows (a skipped metric's note)."""
    in_rows = {f"{name} {entry['note']}" for name, entry in inputs.table.items() if entry.get("note")}
    return [note for note in dict.fromkeys(inputs.notes) if note not in in_rows]


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

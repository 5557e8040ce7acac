"""OUT/index.html: one self-contained, sortable page of every shot of a batch.

Per shot: a still from the middle of its simulation preview, its guided video (embedded up to
EMBED_LIMIT_BYTES, else linked), the varied values, status, key metrics (guided, and unguided
when compare ran), best-of seed, and a link to its report.html. Clicking a column's head sorts by
it (numbers as numbers; again to reverse). Like report.html, everything is embedded and nothing
depends on the time: the same batch gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from physreel.sim.files import atomic_path

EMBED_LIMIT_BYTES = 2_000_000
KEY_METRICS = (("flow_epe_object", "flow EPE (px)"), ("warp_error", "warp error"), ("motion_iou", "motion IoU"))
"""The metrics the index shows, with their column heads; every metric is in batch.json and each report."""

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } p.summary { color: #555; }
table { border-collapse: collapse; font-size: .9em; } td, th { border: 1px solid #ccc; padding: .3em .5em; vertical-align: middle; }
th { background: #f4f4f4; cursor: pointer; user-select: none; max-width: 8em; font-size: .92em; } th.sorted-asc::after { content: " \\25B2"; }
th.sorted-desc::after { content: " \\25BC"; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img.thumb, video { width: 112px; image-rendering: pixelated; background: #000; display: block; }
tr.failed td { background: #fbeaea; } td.status-failed { color: #b2182b; font-weight: bold; } .msg { color: #8c510a; font-size: .85em; max-width: 28em; }
"""

_SORT_JS = """
document.querySelectorAll('table.shots th').forEach((th, column) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const asc = !th.classList.contains('sorted-asc');
  th.closest('tr').querySelectorAll('th').forEach(o => o.classList.remove('sorted-asc', 'sorted-desc'));
  th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
  const key = row => row.cells[column].dataset.value ?? row.cells[column].textContent;
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
    const order = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
    return asc ? order : -order;
  });
  rows.forEach(row => body.appendChild(row));
}));
"""


def write_index(out: Path, title: str, shots: list[dict[str, Any]], varied: list[str]) -> None:
    """Write OUT/index.html for batch.json's shot entries; `varied`: the sweep's varied paths (columns)."""
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(render_index(out, title, shots, varied), encoding="utf-8")


def render_index(out: Path, title: str, shots: list[dict[str, Any]], varied: list[str]) -> str:
    e = html.escape
    complete = sum(1 for shot in shots if shot["status"] == "complete")
    failed = sum(1 for shot in shots if shot["status"] == "failed")
    show_unguided = any((shot["metrics"] or {}).get("compare") for shot in shots)
    heads = ["#", "preview", "guided video", *varied, "status"]
    heads += [f"guided {label}" for _, label in KEY_METRICS]
    heads += [f"unguided {label}" for _, label in KEY_METRICS] if show_unguided else []
    heads += ["best seed", "report"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f"<p class='summary'>{len(shots)} shots: {complete} complete, {failed} failed, "
        f"{len(shots) - complete - failed} not finished. Click a column's head to sort by it. "
        "Metrics are the compare metrics of the guided take (the kept take with best_of; lower flow EPE and warp "
        "error, higher motion IoU are better); every number, timing and file is in <a href='batch.json'>batch.json</a>.</p>",
        "<table class='shots'><thead><tr>" + "".join(f"<th>{_breakable(h)}</th>" for h in heads) + "</tr></thead><tbody>",
    ]
    for shot in shots:
        parts.append(_row(out, shot, varied, show_unguided))
    parts.append("</tbody></table>")
    parts.append(f"<script>{_SORT_JS}</script></body></html>\n")
    return "\n".join(parts)


def _row(out: Path, shot: dict[str, Any], varied: list[str], show_unguided: bool) -> str:
    e = html.escape
    folder = out / shot["folder"]
    cells = [f"<td class='num' data-value='{shot['index']}'>{shot['index']}</td>"]
    still = _still(folder)
    cells.append(f"<td><img class='thumb' alt='preview of {e(shot['key'])}' src='data:image/png;base64,{still}'></td>"
                 if still else "<td></td>")
    video = _guided_video(folder)
    cells.append(f"<td><video src='{_video_src(out, video)}' muted loop playsinline controls preload='metadata'></video></td>" if video else "<td></td>")
    for path in varied:  # sorted by the value when it is a number, else by its label (a preset's name)
        label, value = shot["labels"].get(path, ""), shot["parameters"].get(path)
        key = value if isinstance(value, (int, float)) and not isinstance(value, bool) else label
        cells.append(f"<td data-value='{e(str(key))}'>{e(label)}</td>")
    status = shot["status"]
    message = f"<div class='msg'>{e(shot['message'])}</div>" if shot["message"] else ""
    cells.append(f"<td class='status-{e(status)}' data-value='{e(status)}'>{e(status)}{message}</td>")
    metrics = shot["metrics"] or {}
    compare, render = metrics.get("compare") or {}, metrics.get("render") or {}
    for name, _ in KEY_METRICS:
        value = (compare.get(name) or {}).get("guided") if compare else render.get(name)
        cells.append(_number(value))
    if show_unguided:
        for name, _ in KEY_METRICS:
            cells.append(_number((compare.get(name) or {}).get("unguided")))
    best = (shot.get("best_of") or {}).get("seed")
    cells.append(_number(best, digits=None))
    report = folder / "compare" / "report.html"
    cells.append(f"<td><a href='{e(shot['folder'])}/compare/report.html'>report</a></td>" if report.is_file() else "<td></td>")
    css = " class='failed'" if status == "failed" else ""
    return f"<tr{css}>" + "".join(cells) + "</tr>"


def _breakable(text: str) -> str:
    """A column head that may wrap after each dot of a dotted path."""
    return ".<wbr>".join(html.escape(part) for part in text.split("."))


def _number(value: Any, digits: int | None = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "<td class='num' data-value=''>&ndash;</td>"
    text = f"{value:.{digits}g}" if digits else str(value)
    return f"<td class='num' data-value='{value!r}'>{text}</td>"


def _still(folder: Path) -> str | None:
    """base64 PNG of the middle frame of the shot's simulation preview (the rgb pass of its passes or
    compare stage), else of its guided take; read from the arrays, no video is decoded."""
    for path in (folder / "passes/passes.npz", folder / "compare/passes.npz"):
        if path.is_file():
            with np.load(path) as npz:
                if "rgb" in npz.files:
                    rgb = npz["rgb"]
                    return _png_base64(rgb[len(rgb) // 2])
    frames = sorted((folder / "render/video/guided").glob("*.png"))
    if frames:
        return base64.b64encode(frames[len(frames) // 2].read_bytes()).decode()
    return None


def _png_base64(rgb: np.ndarray) -> str | None:
    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    return base64.b64encode(png.tobytes()).decode() if ok else None


def _guided_video(folder: Path) -> Path | None:
    for path in (folder / "compare/video/guided.mp4", folder / "render/video/guided.mp4"):
        if path.is_file():
            return path
    return None


def _video_src(out: Path, path: Path) -> str:
    if path.stat().st_size <= EMBED_LIMIT_BYTES:
        return "data:video/mp4;base64," + base64.b64encode(path.read_bytes()).decode()
    return html.escape(path.relative_to(out).as_posix())

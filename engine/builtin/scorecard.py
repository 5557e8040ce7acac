"""Does the builtin model's video show the scene? Its scorecard on whole scenes, through the real pipeline.

    python -m physreel.engine.builtin.scorecard [--model DIR] [--heldout DATA --shots N] [SCENE.yaml ...] -o OUT

For every scene (the example scenes given as files, and the held-out dataset's shots, rebuilt from
the spec each shard stores), `Pipeline` simulates, renders, generates guided and unguided at the
backend's own size with the scene's seed and steps, and scores them exactly as `physreel compare`
does. Per scene it keeps, for preview / guided / unguided:
- `object_visibility` (engine/metrics/object_visibility.py) and `flow_epe_object` (flow_error.py),
  `object_color_error`, `physics_iq_score`, and the verdict sentence the report opens with;
- `hue_match`: the share of untextured objects whose hue a person would call the preview's. Per object, the
  mean colour inside its mask (eroded by 1 px) over the frames it is judged in, in CIE L*a*b*;
  where the preview's chroma there is at least MIN_CHROMA (a grey has no hue), the object matches
  when its hue angle h = atan2(b*, a*) is within HUE_TOLERANCE_DEG of the preview's;
- `texture_visibility`: for every judged object with a texture (a checkered or striped floor), are
  its two colours told apart? Its mask is split by the albedo pass into the pixels nearer the
  spec's `color` and those nearer `color2`; per frame, CIEDE2000 between the video's mean colours
  of the two halves, as a share of the preview's (each half at least 16 px); the mean over frames.
Both also score the `preview_at_model_size`: the preview shrunk to the model's square size and
resized back exactly as the backend resizes its output. That is what a model drawing every frame
perfectly at its size would score: stripes finer than its pixels, and a thin streak's hue, are lost
to the resolution there, not to the model, and the card tells the two apart.
Writes OUT/scorecard.json (every number per scene) and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physreel.conditioning.records import Passes
from physreel.sim.files import write_json
from physreel.sim.spec.load import Scene, load_scene, scene_from_data

from ..backends.builtin import BuiltinBackend, resize_output
from ..metrics import dynamic_seg_ids, scene_objects
from ..metrics.camera_motion import camera_moves
from ..metrics.colour import ciede2000, linear_to_lab, region_means, srgb_to_linear
from ..metrics.objects import ObjectTable, inside_and_ring, object_masks
from ..metrics.summary import aggregate
from ..metrics.verdict import verdict
from ..pipeline import Pipeline, PipelineOutput
from ..resample import resize_frames
from .shards import load_shards

LABELS = ("preview", "guided", "unguided")
AT_MODEL_SIZE = "preview_at_model_size"
"""The label of the resolution's ceiling in `hue` and `texture` (see preview_at_model_size)."""
KEY_METRICS = ("object_visibility", "object_color_error", "flow_epe_object", "physics_iq_score")
MIN_CHROMA = 10.0
"""C*ab below this is too grey to have a hue a person would name."""
HUE_TOLERANCE_DEG = 30.0
MIN_HALF_PX = 16


@dataclass(frozen=True)
class SceneCard:
    name: str
    metrics: dict[str, dict[str, float | None]]
    """metric -> label -> value (None where undefined)."""
    per_object_visibility: dict[str, dict[str, float]]
    """label -> object -> share."""
    hue: dict[str, dict[str, Any]]
    """label (LABELS and AT_MODEL_SIZE) -> {'match': share or None, 'objects': {name: {'hue_error_deg', 'chroma'}}}."""
    texture: dict[str, float | None]
    """label (LABELS and AT_MODEL_SIZE) -> texture_visibility (None when no judged object has a texture)."""
    verdict: str
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "metrics": self.metrics, "per_object_visibility": self.per_object_visibility,
                "hue": self.hue, "texture_visibility": self.texture, "verdict": self.verdict, "seconds": self.seconds}


# ------------------------------------------------------------------------------ scoring
def score_scene(pipeline: Pipeline, scene: Scene, name: str) -> SceneCard:
    """Generate guided and unguided for `scene` and measure everything the card reports."""
    started = time.perf_counter()
    out = pipeline(scene, runs=("guided", "unguided"), score=True)
    runs = {run.label: run for run in out.scores}
    frames = {"preview": out.scored_passes.rgb, **{take.label: take.frames for take in out.takes}}
    frames[AT_MODEL_SIZE] = preview_at_model_size(out.scored_passes.rgb, pipeline.backend.native_resolution())
    table = aggregate(list(out.scores))
    objects = _objects(out)
    metrics = {name: {label: _number(runs[label].metrics[name].value) if name in runs[label].metrics else None
                      for label in LABELS} for name in KEY_METRICS}
    visibility = {label: dict(runs[label].metrics["object_visibility"].per_object or {}) for label in LABELS}
    hue = {label: hue_match(frames[label], out.scored_passes, objects) for label in (*LABELS, AT_MODEL_SIZE)}
    texture = {label: texture_visibility(frames[label], out.scored_passes, objects) for label in (*LABELS, AT_MODEL_SIZE)}
    judged = verdict(list(out.scores), table, camera_moves(out.scored_passes))
    return SceneCard(name, metrics, visibility, hue, texture, judged.text, round(time.perf_counter() - started, 1))


def preview_at_model_size(preview: np.ndarray, native: int) -> np.ndarray:
    """uint8 [T, H, W, 3] preview -> the same shape, through native x native and back: shrunk as the
    backend shrinks its controls (area averaging), enlarged as it enlarges its output (bilinear)."""
    _, height, width, _ = preview.shape
    return resize_output(resize_frames(preview, native, native, "rgb"), width, height)


def _objects(out: PipelineOutput) -> ObjectTable:
    return scene_objects(out.scene.spec, out.scored_passes.id_table, dynamic_seg_ids(out.shot), out.scored_passes.size)


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _judged_inside(passes: Passes, obj, min_area_px: float) -> np.ndarray:
    """bool [T, H, W]: the object's inside (mask eroded by 1 px) in the frames it is judged in."""
    mask, large = object_masks(passes.seg, obj, min_area_px)
    inside, _ = inside_and_ring(mask)
    return inside & large[:, None, None]


def _mean_lab(linear: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """float64 [3] L*a*b* of the mean of linear [T, H, W, 3] over `inside`."""
    return linear_to_lab(linear[inside].mean(axis=0)[None, :])[0]


def hue_match(frames: np.ndarray, passes: Passes, objects: ObjectTable) -> dict[str, Any]:
    """{'match': share of hued objects whose hue is within HUE_TOLERANCE_DEG of the preview's (None if
    none has a hue), 'objects': {name: {'hue_error_deg': float | None, 'chroma': preview C*ab}}}."""
    found: dict[str, dict[str, float | None]] = {}
    matches = []
    linear, preview = srgb_to_linear(frames), srgb_to_linear(passes.rgb)
    for obj in objects.objects:
        if obj.color2 is not None:
            continue  # two colours: the mean's hue is neither's (texture_visibility judges these)
        inside = _judged_inside(passes, obj, objects.min_area_px)
        if not inside.any():
            continue
        reference, video = _mean_lab(preview, inside), _mean_lab(linear, inside)
        chroma = float(np.hypot(reference[1], reference[2]))
        if chroma < MIN_CHROMA:
            found[obj.name] = {"hue_error_deg": None, "chroma": round(chroma, 1)}
            continue
        difference = math.degrees(math.atan2(video[2], video[1]) - math.atan2(reference[2], reference[1]))
        error = abs((difference + 180.0) % 360.0 - 180.0)
        found[obj.name] = {"hue_error_deg": round(error, 1), "chroma": round(chroma, 1)}
        matches.append(error <= HUE_TOLERANCE_DEG)
    return {"match": float(np.mean(matches)) if matches else None, "objects": found}


def texture_visibility(frames: np.ndarray, passes: Passes, objects: ObjectTable) -> float | None:
    """Mean over textured objects and frames of (dE00 between the video's two texture halves) /
    (the same on the preview); None when no judged textured object shows both halves."""
    if passes.albedo is None:
        raise ValueError("texture_visibility needs the albedo pass")
    video, preview = srgb_to_linear(frames), srgb_to_linear(passes.rgb)
    shares = []
    for obj in objects.objects:
        if obj.color is None or obj.color2 is None:
            continue
        mask, large = object_masks(passes.seg, obj, objects.min_area_px)
        inside, _ = inside_and_ring(mask)
        first = srgb_to_linear(np.asarray(obj.color, np.float64))
        second = srgb_to_linear(np.asarray(obj.color2, np.float64))
        nearer_first = (np.square(passes.albedo - first).sum(-1) < np.square(passes.albedo - second).sum(-1))
        halves = (inside & nearer_first, inside & ~nearer_first)
        counts = np.stack([h.sum(axis=(1, 2)) for h in halves])
        usable = large & (counts.min(axis=0) >= MIN_HALF_PX)
        if not usable.any():
            continue
        contrast = [ciede2000(linear_to_lab(region_means(v, halves[0])[0]), linear_to_lab(region_means(v, halves[1])[0]))
                    for v in (video, preview)]
        shares.extend((contrast[0][usable] / np.maximum(contrast[1][usable], 1e-6)).tolist())
    return float(np.mean(shares)) if shares else None


# ------------------------------------------------------------------------------ scenes
def heldout_scenes(directory: Path, shots: int) -> list[tuple[str, Scene]]:
    """The first `shots` shots of a dataset directory as scenes (their stored spec data)."""
    arrays = load_shards(directory)
    found = []
    for index, spec_json in zip(arrays["shot_index"][:shots], arrays["spec_json"][:shots]):
        data = json.loads(str(spec_json))
        found.append((f"heldout_{int(index):03d}", scene_from_data(data, Path(directory) / f"shot_{int(index):03d}.yaml")))
    return found


def summary_rows(cards: list[SceneCard]) -> dict[str, Any]:
    """Means over the cards of the numbers the model card's thresholds are about."""
    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    rows: dict[str, Any] = {"scenes": len(cards)}
    for label in LABELS:
        rows[label] = {
            "object_visibility": mean(c.metrics["object_visibility"][label] for c in cards),
            "hue_match": mean(c.hue[label]["match"] for c in cards),
            "texture_visibility": mean(c.texture[label] for c in cards),
            "flow_epe_object": mean(c.metrics["flow_epe_object"][label] for c in cards),
            "object_color_error": mean(c.metrics["object_color_error"][label] for c in cards),
            "physics_iq_score": mean(c.metrics["physics_iq_score"][label] for c in cards),
        }
    rows[AT_MODEL_SIZE] = {"hue_match": mean(c.hue[AT_MODEL_SIZE]["match"] for c in cards),
                           "texture_visibility": mean(c.texture[AT_MODEL_SIZE] for c in cards)}
    rows["guided_flow_better_than_unguided"] = sum(
        1 for c in cards if None not in (c.metrics["flow_epe_object"]["guided"], c.metrics["flow_epe_object"]["unguided"])
        and c.metrics["flow_epe_object"]["guided"] < c.metrics["flow_epe_object"]["unguided"])
    return rows


def markdown(cards: list[SceneCard]) -> str:
    """The card as markdown: one row per scene, preview / guided / unguided [preview at model size]."""
    def show(value, digits=2):
        return "-" if value is None else f"{value:.{digits}f}"

    lines = ["| scene | object_visibility | hue_match [at model size] | texture_visibility [at model size] "
             "| flow_epe_object px | object_color_error | Physics-IQ |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in cards:
        cells = [
            " / ".join(show(c.metrics["object_visibility"][k]) for k in LABELS),
            " / ".join(show(c.hue[k]["match"]) for k in LABELS) + f" [{show(c.hue[AT_MODEL_SIZE]['match'])}]",
            " / ".join(show(c.texture[k]) for k in LABELS) + f" [{show(c.texture[AT_MODEL_SIZE])}]",
            " / ".join(show(c.metrics["flow_epe_object"][k]) for k in LABELS),
            " / ".join(show(c.metrics["object_color_error"][k], 0) for k in LABELS),
            " / ".join(show(c.metrics["physics_iq_score"][k], 0) for k in LABELS),
        ]
        lines.append(f"| {c.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", help="scene files (e.g. scenes/*.yaml)")
    parser.add_argument("--model", default=None, help="builtin model directory (default: the shipped weights)")
    parser.add_argument("--heldout", default=None, help="a dataset directory made with a seed training did not use")
    parser.add_argument("--shots", type=int, default=12, help="held-out shots to score (default 12)")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    pipeline = Pipeline(backend=BuiltinBackend(args.model))
    named = [(Path(p).stem, load_scene(p)) for p in args.scenes]
    if args.heldout:
        named += heldout_scenes(Path(args.heldout), args.shots)
    cards = []
    for name, scene in named:
        cards.append(score_scene(pipeline, scene, name))
        print(markdown(cards[-1:]).splitlines()[-1], flush=True)
    heldout = [c for c in cards if c.name.startswith("heldout_")]
    examples = [c for c in cards if not c.name.startswith("heldout_")]
    result = {"model": args.model or "shipped",
              "summary": {"examples": summary_rows(examples) if examples else None,
                          "heldout": summary_rows(heldout) if heldout else None},
              "scenes": [c.as_json() for c in cards]}
    write_json(Path(args.output) / "scorecard.json", result)
    print(markdown(cards))
    print(json.dumps(result["summary"], indent=2))
    for c in examples:
        print(f"- **{c.name}**: {c.verdict}")


if __name__ == "__main__":
    main()

"""Guided vs unguided on held-out shots: does the builtin model's video move as the simulation does?

For each shot of a dataset directory (made with a seed the training data did not use), the
builtin backend generates the video twice from the same caption and seed:
- guided: the shot's control images of `kinds` and noise warped along the simulated flow;
- unguided: no control, independent noise per frame (what issue 5 defines as unguided).
Both are scored by engine.metrics.flow_error: OpenCV DIS flow of the generated frames against
the simulated flow_fwd, end-point error (px) on the valid pixels of moving objects
(`flow_epe_object`) and of the rest (`flow_epe_background`). Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ShotScore:
    shot_index: int
    seed: int
    guided_object: float
    unguided_object: float
    guided_background: float
    unguided_background: float


def shot_passes(arrays: dict[str, np.ndarray], row: int, fps: int = 8):
    """A Passes record with the arrays the flow metric reads (flow_fwd, flow_valid, seg) of shard row `row`."""
    from conditioning.records import Passes

    flow = arrays["flow_fwd"][row].astype(np.float32)
    t, h, w, _ = flow.shape
    K = np.array([[w, 0, w / 2], [0, h, h / 2], [0, 0, 1]], dtype=np.float64)
    return Passes(fps=fps, K=K, world_to_camera=np.repeat(np.eye(4)[None], t, axis=0), id_table=(),
                  flow_fwd=flow, flow_valid=arrays["flow_valid"][row].astype(bool), seg=arrays["seg"][row].astype(np.int32))


def dynamic_ids(arrays: dict[str, np.ndarray], row: int) -> frozenset[int]:
    """Seg ids of the moving parts of shard row `row`: every id seen except 0 and the static ones."""
    seen = set(np.unique(arrays["seg"][row]).tolist()) - {0}
    return frozenset(int(i) for i in seen - set(arrays["static_ids"][row].tolist()))


def request_for(arrays: dict[str, np.ndarray], row: int, seed: int, guided: bool, kinds: tuple[str, ...],
                steps: int, guidance_scale: float, model_path: str | None):
    """The GenerationRequest of shard row `row`: guided (controls + warped noise) or unguided."""
    from engine.backends.base import ControlInput, GenerationRequest, NoiseFlow

    from .controls import unpack_images

    t, size = arrays["rgb"].shape[1:3]
    controls, noise_flow = (), None
    if guided:
        images = unpack_images(arrays["control"][row])
        controls = tuple(ControlInput(kind=k, frames=images[k]) for k in kinds)
        noise_flow = NoiseFlow(arrays["flow_fwd"][row].astype(np.float32), arrays["flow_valid"][row].astype(bool))
    return GenerationRequest(prompt=str(arrays["caption"][row]), num_frames=t, fps=8, width=size, height=size,
                             seed=seed, steps=steps, guidance_scale=guidance_scale, controls=controls,
                             noise_flow=noise_flow, model_path=model_path)


def evaluate(data_dir: str | Path, model_path: str | None = None, seeds: tuple[int, ...] = (0,),
             kinds: tuple[str, ...] = ("depth", "normal", "edges", "flow", "seg"), steps: int = 10,
             guidance_scale: float = 1.0, max_shots: int | None = None,
             keep_frames: bool = False) -> tuple[list[ShotScore], dict]:
    """Score every shot (up to max_shots) of `data_dir`; returns per-shot scores and a summary dict
    (means, the margin unguided - guided on moving objects, and the share of shots guided wins).
    With keep_frames the summary holds the generated frames under 'frames' as {(row, seed): (guided, unguided)}."""
    from engine.backends.builtin import BuiltinBackend
    from engine.metrics.flow_error import flow_error

    from .dataset import load_shards

    arrays = load_shards(Path(data_dir))
    rows = range(len(arrays["caption"]) if max_shots is None else min(max_shots, len(arrays["caption"])))
    backend = BuiltinBackend(model_path)
    scores, frames = [], {}
    for row in rows:
        passes, ids = shot_passes(arrays, row), dynamic_ids(arrays, row)
        for seed in seeds:
            results = {}
            for guided in (True, False):
                video = backend.generate(request_for(arrays, row, seed, guided, kinds, steps, guidance_scale, model_path))
                metrics = {m.name: m.value for m in flow_error(video.frames, passes, ids)}
                results[guided] = (metrics, video.frames)
            if keep_frames:
                frames[(row, seed)] = (results[True][1], results[False][1])
            scores.append(ShotScore(int(arrays["shot_index"][row]), seed,
                                    results[True][0]["flow_epe_object"], results[False][0]["flow_epe_object"],
                                    results[True][0]["flow_epe_background"], results[False][0]["flow_epe_background"]))
    summary = summarise(scores)
    summary.update({"data_dir": str(data_dir), "seeds": list(seeds), "kinds": list(kinds), "steps": steps,
                    "guidance_scale": guidance_scale})
    if keep_frames:
        summary["frames"] = frames
    return scores, summary


def summarise(scores: list[ShotScore]) -> dict:
    """Means over shots (NaN-free ones), margin = unguided - guided on moving objects, guided win share."""
    obj = np.array([[s.guided_object, s.unguided_object] for s in scores], dtype=np.float64)
    bg = np.array([[s.guided_background, s.unguided_background] for s in scores], dtype=np.float64)
    ok = np.isfinite(obj).all(axis=1)
    ok_bg = np.isfinite(bg).all(axis=1)
    return {
        "shots_scored": int(ok.sum()),
        "guided_epe_object_px": float(obj[ok, 0].mean()),
        "unguided_epe_object_px": float(obj[ok, 1].mean()),
        "margin_object_px": float((obj[ok, 1] - obj[ok, 0]).mean()),
        "guided_wins_object": float((obj[ok, 0] < obj[ok, 1]).mean()),
        "guided_epe_background_px": float(bg[ok_bg, 0].mean()),
        "unguided_epe_background_px": float(bg[ok_bg, 1].mean()),
        "margin_background_px": float((bg[ok_bg, 1] - bg[ok_bg, 0]).mean()),
    }

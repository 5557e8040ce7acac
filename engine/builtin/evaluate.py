"""Guided vs unguided on held-out shots: does the builtin model's video move as the simulation does?

For each shot of a dataset directory (made with a seed the training data did not use), the
builtin backend generates the video twice from the same caption and seed:
- guided: the shot's control images of `kinds` and noise warped along the simulated flow;
- unguided: no control, independent noise per frame (what issue 5 defines as unguided).
Both are scored by engine.metrics.flow_error: OpenCV DIS flow of the generated frames against
the simulated flow_fwd, end-point error (px) on the valid pixels of moving objects
(`flow_epe_object`) and of the rest (`flow_epe_background`), and by their mean squared error
against the simulated preview (`frame_error`: does the model draw what the control shows?).
Lower is better.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from physreel.conditioning.records import Passes
from physreel.sim.spec.types import ControlKind

from ..backends.builtin import BuiltinBackend
from ..metrics.flow_error import flow_error
from ..records import ControlInput, GenerationRequest, NoiseFlow
from .controls import CONTROL_KINDS, control_from_packed, unpack_images
from .shards import load_shards
from .text import tokenize


@dataclass(frozen=True)
class ShotScore:
    shot_index: int
    seed: int
    guided_object: float
    unguided_object: float
    guided_background: float
    unguided_background: float
    guided_frame_mse: float
    """MSE of the generated frames against the simulated preview ([-1, 1] units; frame_error)."""
    unguided_frame_mse: float


def shot_passes(arrays: dict[str, np.ndarray], row: int, fps: int = 8):
    """A Passes record with the arrays the flow metric reads (flow_fwd, flow_valid, seg) of shard row `row`."""
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
             kinds: tuple[ControlKind, ...] = CONTROL_KINDS, steps: int = 10,
             guidance_scale: float = 1.0, max_shots: int | None = None,
             keep_frames: bool = False) -> tuple[list[ShotScore], dict]:
    """Score every shot (up to max_shots) of `data_dir`; returns per-shot scores and a summary dict
    (means, the margin unguided - guided on moving objects, and the share of shots guided wins).
    With keep_frames the summary holds the generated frames under 'frames' as {(row, seed): (guided, unguided)}."""
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
                                    results[True][0]["flow_epe_background"], results[False][0]["flow_epe_background"],
                                    frame_error(results[True][1], arrays["rgb"][row]),
                                    frame_error(results[False][1], arrays["rgb"][row])))
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
        "guided_frame_mse": float(np.mean([s.guided_frame_mse for s in scores])),
        "unguided_frame_mse": float(np.mean([s.unguided_frame_mse for s in scores])),
    }


def x0_error_by_timestep(model, arrays: dict[str, np.ndarray], rows: range,
                         timesteps: tuple[int, ...] = (999, 950, 900, 800, 600, 400, 200),
                         frames_per_shot: int = 2, seed: int = 0) -> dict[str, float]:
    """How well one model call recovers the frame from its noised version, by noise level.

    For the first `frames_per_shot` frames of each shard row in `rows`, with every control kind and
    the shot's caption: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps (eps seeded by `seed` and t), the
    model's v turned into x0_hat = sqrt(ab) x_t - sqrt(1 - ab) v; the MSE of x0_hat against x0 in
    [-1, 1] units. Returns {str(t): mse, ..., 'mean_image': the MSE of predicting the frames' mean
    image, the score of a model that ignores its inputs}. At t = 999 (ab ~ 2e-9) x_t is pure noise:
    the frame must come from the control and caption alone, as in the first sampling step.
    """
    import torch
    from diffusers import DDPMScheduler

    rows = list(rows)
    x0 = torch.from_numpy(arrays["rgb"][rows, :frames_per_shot]).flatten(0, 1).permute(0, 3, 1, 2).float() / 127.5 - 1
    packed = torch.from_numpy(arrays["control"][rows, :frames_per_shot]).flatten(0, 1)
    control = control_from_packed(packed, torch.ones(x0.shape[0], len(CONTROL_KINDS)))
    ids = tokenize([str(arrays["caption"][r]) for r in rows for _ in range(frames_per_shot)], model.config.max_tokens)
    schedule = DDPMScheduler(num_train_timesteps=model.config.num_train_timesteps,
                             beta_schedule=model.config.beta_schedule, prediction_type=model.config.prediction_type)
    errors = {"mean_image": float((x0 - x0.mean(0, keepdim=True)).square().mean())}
    with torch.no_grad():
        states, mask = model.encode_text(ids)
        for t in timesteps:
            noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed * 100_003 + t))
            step = torch.full((x0.shape[0],), t)
            noisy = schedule.add_noise(x0, noise, step)
            v = model(noisy, step, control, states, mask)
            alpha_bar = schedule.alphas_cumprod[t]
            x0_hat = alpha_bar.sqrt() * noisy - (1 - alpha_bar).sqrt() * v
            errors[str(t)] = float((x0_hat - x0).square().mean())
    return errors


def frame_error(frames: np.ndarray, preview: np.ndarray) -> float:
    """Mean squared error in [-1, 1] units between uint8 frames [T, S, S, 3] and the simulated preview."""
    a = frames.astype(np.float64) / 127.5 - 1.0
    b = preview.astype(np.float64) / 127.5 - 1.0
    return float(np.square(a - b).mean())


ABLATION_VARIANTS = ("controls+warp", "warp only", "controls only", "unguided")
"""What each ablation run keeps of the guided request: its controls, its warped noise, both or neither."""


def ablation(data_dir: str | Path, model_path: str | None = None, shots: int = 4, seed: int = 0, steps: int = 10,
             kinds: tuple[ControlKind, ...] = CONTROL_KINDS) -> list[dict]:
    """Which ingredient of guidance moves the video: for each of the first `shots` shots, the guided
    request with its controls and/or its warped noise removed (ABLATION_VARIANTS). Returns one row
    per shot and variant: flow EPE on objects and the rest (px) and the frame MSE against the preview."""
    arrays = load_shards(Path(data_dir))
    backend = BuiltinBackend(model_path)
    rows = []
    for row in range(min(shots, len(arrays["caption"]))):
        guided = request_for(arrays, row, seed, True, kinds, steps, 1.0, model_path)
        requests = {"controls+warp": guided, "warp only": replace(guided, controls=()),
                    "controls only": replace(guided, noise_flow=None), "unguided": replace(guided, controls=(), noise_flow=None)}
        for variant in ABLATION_VARIANTS:
            frames = backend.generate(requests[variant]).frames
            metrics = {m.name: m.value for m in flow_error(frames, shot_passes(arrays, row), dynamic_ids(arrays, row))}
            rows.append({"shot": int(arrays["shot_index"][row]), "variant": variant,
                         "flow_epe_object": metrics["flow_epe_object"], "flow_epe_background": metrics["flow_epe_background"],
                         "frame_mse": frame_error(frames, arrays["rgb"][row])})
    return rows

"""Training the builtin model: v-prediction diffusion on single frames with control and caption dropout.

Procedure (`train`):
1. load the dataset shards (frames are the training samples; each keeps its shot's caption);
2. build the model from a seed, or restore model, EMA, optimiser and step from DIR/checkpoint;
3. loop: a batch of random frames, random timesteps and noise, control dropout (20 % of frames
   lose every control, otherwise each kind is dropped with probability 30 %, so any subset of
   kinds, or none, is a trained input), caption dropout 15 %; MSE on v; AdamW with warm-up then
   a constant rate; gradient clipping at 1; an exponential moving average of the weights;
4. every `checkpoint_every` steps and at the end: checkpoint, loss.csv, loss.png, and the EMA
   weights as DIR/builtin.safetensors + builtin.json (usable with --model DIR).
Every random draw of step k comes from generators seeded (seed, k), so a resumed run makes the
same batches as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from physreel.sim.files import atomic_path, write_json

from .controls import CONTROL_KINDS, IMAGE_CHANNELS, control_from_packed
from .shards import load_shards
from .kinds import input_channel_names
from .model import CONFIG_NAME, BuiltinConfig, BuiltinModel, load_model, save_model
from .text import EMPTY, PAD, tokenize

CONTROL_DROP_ALL = 0.2
CONTROL_DROP_KIND = 0.3
CAPTION_DROP = 0.15
WARMUP_STEPS = 50
HIGH_NOISE_START = 800
"""Timesteps from here up keep less than 31 % of the frame's amplitude (alpha_bar(800) = 0.093)."""
EMA_DECAY = 0.995


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 600
    batch: int = 32
    lr: float = 1e-3
    seed: int = 0
    checkpoint_every: int = 50
    threads: int = 2
    init: str | None = None
    """A trained model directory (builtin.safetensors + builtin.json) to start from instead of a seeded
    initialisation: its architecture and EMA weights; optimiser and step start fresh (fine-tuning)."""
    device: str = "cpu"
    """torch device the model, the data and each batch live on ("cpu", "cuda", "cuda:1")."""
    precision: str = "fp32"
    """"fp32", or "bf16": the forward pass under bfloat16 autocast (loss, optimiser and EMA stay
    float32), for a GPU's tensor cores (its speed-up on this model is not measured yet)."""
    high_noise_share: float = 0.5
    """Share of each batch whose timestep is drawn from [HIGH_NOISE_START, T) instead of [0, T): the
    noisiest steps, where x_t holds almost nothing of the frame, are where the model must learn to
    read the control and caption, and a uniform draw visits them too rarely for a small CPU budget."""
    snr_cap: float | None = 5.0
    """Loss weight per frame min(1 + SNR, 1 + snr_cap) / (1 + SNR) on the v error, i.e. the x0 error
    weighted by 1 + SNR capped at 1 + snr_cap ("truncated SNR"). Plain MSE on v (None) spends most
    of the gradient on the lowest noise levels (the v error there is 1 + SNR times the x0 error), while
    the frame's layout and colours, what the control must decide, are made at the highest ones."""


@dataclass
class TrainData:
    """The dataset in memory: frames flattened over shots."""

    rgb: torch.Tensor
    """uint8 [F, S, S, 3]."""
    control: torch.Tensor
    """uint8 [F, S, S, IMAGE_CHANNELS] packed control images."""
    caption_ids: torch.Tensor
    """int64 [N, L], one row per shot."""
    frames_per_shot: int

    @property
    def num_frames(self) -> int:
        return int(self.rgb.shape[0])


def load_data(directory: Path, max_tokens: int, device: str | torch.device = "cpu") -> TrainData:
    arrays = load_shards(directory)
    if arrays["control"].shape[-1] != IMAGE_CHANNELS:
        raise ValueError(f"{directory} holds {arrays['control'].shape[-1]} control channels, made for other control kinds; "
                         f"this version trains on {', '.join(CONTROL_KINDS)} ({IMAGE_CHANNELS} channels): make the "
                         f"dataset again with `physreel dataset -o NEW --shots N`")
    n, t = arrays["rgb"].shape[:2]
    size = arrays["rgb"].shape[2]
    return TrainData(
        rgb=torch.from_numpy(arrays["rgb"].reshape(n * t, size, size, 3)).to(device),
        control=torch.from_numpy(arrays["control"].reshape(n * t, size, size, -1)).to(device),
        caption_ids=tokenize([str(c) for c in arrays["caption"]], max_tokens).to(device),
        frames_per_shot=t,
    )


def make_batch(data: TrainData, seed: int, step: int, batch: int, max_tokens: int,
               high_noise_share: float = 0.0, num_timesteps: int = 1000) -> dict[str, torch.Tensor]:
    """The batch of step `step`: frames, timesteps, control weights and caption ids; seeded by (seed, step)."""
    rng = np.random.default_rng([seed, step])
    device = data.rgb.device
    index = torch.from_numpy(rng.integers(0, data.num_frames, batch)).to(device)
    keep = (rng.random((batch, len(CONTROL_KINDS))) >= CONTROL_DROP_KIND) & (rng.random((batch, 1)) >= CONTROL_DROP_ALL)
    ids = data.caption_ids[index // data.frames_per_shot].clone()
    dropped = torch.from_numpy(rng.random(batch) < CAPTION_DROP).to(device)
    ids[dropped] = PAD
    ids[dropped, 0] = EMPTY
    return {
        "x0": data.rgb[index].permute(0, 3, 1, 2).float() / 127.5 - 1.0,
        "control": control_from_packed(data.control[index], torch.from_numpy(keep.astype(np.float32)).to(device)),
        "ids": ids[:, :max_tokens],
        "timesteps": torch.from_numpy(_timesteps(rng, batch, high_noise_share, num_timesteps)).to(device),
    }


def _timesteps(rng: np.random.Generator, batch: int, high_noise_share: float, num_timesteps: int) -> np.ndarray:
    """int64 [batch] timesteps; a share of 0 draws exactly as runs made before the option did (one
    uniform draw), so those runs are reproduced bit for bit."""
    if high_noise_share == 0.0:
        return rng.integers(0, num_timesteps, batch)
    return np.where(rng.random(batch) < high_noise_share, rng.integers(HIGH_NOISE_START, num_timesteps, batch),
                    rng.integers(0, num_timesteps, batch))


def loss_weights(noise_schedule, timesteps: torch.Tensor, snr_cap: float | None) -> torch.Tensor:
    """float32 [B]: each frame's weight on its v error (TrainConfig.snr_cap); ones for None."""
    if snr_cap is None:
        return torch.ones(timesteps.shape, dtype=torch.float32, device=timesteps.device)
    alpha_bar = noise_schedule.alphas_cumprod.to(timesteps.device)[timesteps].double()
    one_plus_snr = 1.0 / (1.0 - alpha_bar)
    return (one_plus_snr.clamp(max=1.0 + snr_cap) / one_plus_snr).float()


def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up over WARMUP_STEPS, then constant; the EMA does the averaging.

    Nothing depends on the total step count, so the state after k steps of a longer run is the
    state of a run with --steps k (a run can be stopped at a checkpoint or extended with --resume).
    """
    if step < WARMUP_STEPS:
        return config.lr * (step + 1) / WARMUP_STEPS
    return config.lr


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op CPU thread count set to `threads` for the block, restored afterwards
    (the count is process-wide: a library call must not leave it changed)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(data_dir: str | Path, out_dir: str | Path, config: TrainConfig, resume: bool = False,
          progress: bool = False, model_config: BuiltinConfig | None = None, val_dir: str | Path | None = None) -> dict:
    """Train (or resume) into `out_dir` on `config.threads` torch threads (the caller's count is
    restored on return); returns the summary written to train.json. With `val_dir` (a dataset of
    other shots), the EMA model's loss on it is measured at every checkpoint (`validation_loss`)
    and written to DIR/val.csv: where it turns up while the training loss falls, the run overfits."""
    with torch_threads(config.threads):
        return _train(data_dir, out_dir, config, resume, progress, model_config, val_dir)


def _train(data_dir: str | Path, out_dir: str | Path, config: TrainConfig, resume: bool, progress: bool,
           model_config: BuiltinConfig | None, val_dir: str | Path | None) -> dict:
    from diffusers import DDPMScheduler

    out_dir = Path(out_dir)
    init_model = _init_model(config, model_config)
    model_config = _model_config(out_dir, resume, model_config, init_model)
    if model_config.control_kinds != CONTROL_KINDS:
        raise ValueError(f"this version trains models that read {', '.join(CONTROL_KINDS)}, not {', '.join(model_config.control_kinds)}")
    # 1. data
    device = torch.device(config.device)
    data = load_data(Path(data_dir), model_config.max_tokens, device)
    val = None if val_dir is None else load_data(Path(val_dir), model_config.max_tokens, device)
    if data.rgb.shape[1] != model_config.resolution:
        raise ValueError(f"the dataset is {data.rgb.shape[1]} px but the model is {model_config.resolution} px")
    # 2. model, EMA, optimiser (fresh or restored)
    torch.manual_seed(config.seed)
    model = BuiltinModel(model_config)
    if init_model is not None:
        _init_weights(model, init_model)
    model.to(device)
    ema = BuiltinModel(model_config).to(device)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
    noise_schedule = DDPMScheduler(num_train_timesteps=model_config.num_train_timesteps,
                                   beta_schedule=model_config.beta_schedule,
                                   prediction_type=model_config.prediction_type)
    start_step, losses, wall_before, val_losses = 0, [], 0.0, []
    if resume:
        start_step, losses, wall_before = _restore(out_dir, config, model, ema, optimizer)
        val_losses = [row for row in _read_val_losses(out_dir) if row[0] <= start_step]
    elif (out_dir / "checkpoint").exists():
        raise ValueError(f"{out_dir} already holds a checkpoint; pass --resume to continue it or choose another -o")
    if start_step > config.steps:
        raise ValueError(f"the checkpoint in {out_dir} is at step {start_step}, beyond --steps {config.steps}")
    # 3. loop
    started = time.perf_counter()
    model.train()
    for step in range(start_step, config.steps):
        batch = make_batch(data, config.seed, step, config.batch, model_config.max_tokens, config.high_noise_share,
                           model_config.num_train_timesteps)
        # On the CPU the same draws as runs before the device option; a GPU draws its own stream.
        generator = torch.Generator(device).manual_seed(config.seed * 1_000_003 + step)
        noise = torch.randn(batch["x0"].shape, generator=generator, device=device)
        prediction, target = predict_v(model, noise_schedule, batch["x0"], noise, batch["timesteps"], batch["control"],
                                       batch["ids"], config.precision)
        if config.snr_cap is None:  # plain MSE, computed as runs before the option computed it
            loss = torch.nn.functional.mse_loss(prediction, target)
        else:
            weights = loss_weights(noise_schedule, batch["timesteps"], config.snr_cap)
            loss = (weights[:, None, None, None] * (prediction - target).square()).mean()
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        _update_ema(ema, model, step)
        wall = wall_before + time.perf_counter() - started
        losses.append((step + 1, float(loss.detach()), learning_rate(config, step), wall))
        if progress and (step + 1) % 10 == 0:
            recent = np.mean([row[1] for row in losses[-10:]])
            print(f"step {step + 1}/{config.steps} loss {recent:.4f} ({wall:.0f} s)", flush=True)
        # 4. checkpoint + shipped files
        if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
            if val is not None:
                val_losses.append((step + 1, validation_loss(ema, val, noise_schedule, config, model_config.max_tokens)))
                _write_val_losses(out_dir, val_losses)
                if progress:
                    print(f"step {step + 1}: validation loss {val_losses[-1][1]:.4f}", flush=True)
            summary = _summary(config, data, losses, wall, Path(data_dir), init_model, val_losses)
            _checkpoint(out_dir, config, model, ema, optimizer, step + 1, losses, wall, summary)
    wall = wall_before + time.perf_counter() - started
    summary = _summary(config, data, losses, wall, Path(data_dir), init_model, val_losses)
    if start_step == config.steps:
        # A run stopped at a checkpoint and resumed with --steps equal to it: nothing to train,
        # the files are rewritten with these settings (identical to a run of exactly this length).
        _checkpoint(out_dir, config, model, ema, optimizer, start_step, losses, wall, summary)
    return summary


def _init_model(config: TrainConfig, model_config: BuiltinConfig | None) -> BuiltinModel | None:
    """The model named by config.init (None without one).

    The requested architecture (model_config, if given) must be the init model's, except that it may
    add the caption time embedding to a model without it, and control kinds to a model reading fewer
    (the new layers and input channels start at zero)."""
    if config.init is None:
        return None
    init_model = load_model(Path(config.init), any_kinds=True)
    missing = [k for k in init_model.config.control_kinds if k not in CONTROL_KINDS]
    if missing:
        raise ValueError(f"--init {config.init} reads the control kinds {', '.join(missing)}, which this version does not feed")
    if model_config is not None:
        same = replace(model_config, extra={}, caption_time_embedding=False, control_kinds=()) == \
            replace(init_model.config, extra={}, caption_time_embedding=False, control_kinds=())
        if not same:
            raise ValueError(f"--init {config.init}: its architecture differs from the requested model's")
        if init_model.config.caption_time_embedding and not model_config.caption_time_embedding:
            raise ValueError(f"--init {config.init} has the caption time embedding; a fine-tuned model keeps it")
    return init_model


def _model_config(out_dir: Path, resume: bool, requested: BuiltinConfig | None,
                  init_model: BuiltinModel | None) -> BuiltinConfig:
    """The architecture to train: a resumed run's own (which a request must match), else the request,
    else the init model's, else the default."""
    if resume and (out_dir / CONFIG_NAME).is_file():
        saved = replace(BuiltinConfig.from_json(out_dir / CONFIG_NAME), extra={})
        if requested is not None and replace(requested, extra={}) != saved:
            raise ValueError(f"--resume: the model in {out_dir} has another architecture than the one requested")
        return saved
    if requested is not None:
        return requested
    if init_model is not None:
        return replace(init_model.config, extra={}, control_kinds=CONTROL_KINDS)
    return BuiltinConfig()


def _init_weights(model: BuiltinModel, init_model: BuiltinModel) -> None:
    """Copy init_model's weights into model; the caption time embedding, if only model has it, stays at
    its zero start, and so do the input weights of control kinds only model reads (so the fine-tuned
    model starts as the init model: a zero weight on a new channel adds nothing)."""
    state = init_model.state_dict()
    state[INPUT_WEIGHT] = widened_input_weight(state[INPUT_WEIGHT], init_model.config.control_kinds,
                                               model.config.control_kinds, model.config.patch)
    missing, unexpected = model.load_state_dict(state, strict=False)
    added = [k for k in missing if not k.startswith("unet.class_embedding.")]
    if added or unexpected:
        raise ValueError(f"--init: the weights do not fit the model (missing {added[:3]}, unexpected {unexpected[:3]})")


INPUT_WEIGHT = "unet.conv_in.weight"
"""The UNet's first convolution: the only weight whose shape depends on the control kinds."""


def widened_input_weight(weight: torch.Tensor, old_kinds: tuple[str, ...], new_kinds: tuple[str, ...],
                         patch: int) -> torch.Tensor:
    """conv_in's weight [O, C_old * patch^2, k, k] for a model reading `old_kinds`, laid out for
    `new_kinds` (a superset): each old input channel's columns moved to where that channel now sits,
    zeros for the new ones. pixel_unshuffle puts input channel c's patch^2 pixels at c*patch^2 + i."""
    old_names, new_names = input_channel_names(old_kinds), input_channel_names(new_kinds)
    fold = patch * patch
    widened = weight.new_zeros((weight.shape[0], len(new_names) * fold, *weight.shape[2:]))
    for old_index, name in enumerate(old_names):
        new_index = new_names.index(name)
        widened[:, new_index * fold:(new_index + 1) * fold] = weight[:, old_index * fold:(old_index + 1) * fold]
    return widened


def predict_v(model: BuiltinModel, noise_schedule, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor,
              control: torch.Tensor, ids: torch.Tensor, precision: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the model's v prediction, the true v), float32 [B, 3, S, S], for frames x0 [B, 3, S, S] in [-1, 1]
    noised by `noise` to `timesteps`; the forward pass under bfloat16 autocast when precision is "bf16"."""
    noisy = noise_schedule.add_noise(x0, noise, timesteps)
    target = noise_schedule.get_velocity(x0, noise, timesteps)
    states, mask = model.encode_text(ids)
    with torch.autocast(x0.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        prediction = model(noisy, timesteps, control, states, mask).float()
    return prediction, target


VAL_SEED = 1_234_567


@torch.no_grad()
def validation_loss(model: BuiltinModel, val: TrainData, noise_schedule, config: TrainConfig, max_tokens: int,
                    batch: int = 64) -> float:
    """The training loss (same weighting, every control given, captions kept) of `model` on every
    frame of `val`, each at a fixed timestep and noise (seeded by VAL_SEED, spread evenly over
    [0, T)), so the figure is comparable across checkpoints and runs on the same device."""
    model.eval()
    device = val.rgb.device
    num_timesteps = noise_schedule.config.num_train_timesteps
    timesteps = (torch.arange(val.num_frames, device=device) * 7919) % num_timesteps
    generator = torch.Generator(device).manual_seed(VAL_SEED)
    total = 0.0
    for first in range(0, val.num_frames, batch):
        index = torch.arange(first, min(first + batch, val.num_frames), device=device)
        x0 = val.rgb[index].permute(0, 3, 1, 2).float() / 127.5 - 1.0
        control = control_from_packed(val.control[index], torch.ones(len(index), len(CONTROL_KINDS), device=device))
        noise = torch.randn(x0.shape, generator=generator, device=device)
        t = timesteps[index]
        ids = val.caption_ids[index // val.frames_per_shot][:, :max_tokens]
        prediction, target = predict_v(model, noise_schedule, x0, noise, t, control, ids, config.precision)
        error = (prediction - target).square().mean(dim=(1, 2, 3))
        total += float((loss_weights(noise_schedule, t, config.snr_cap) * error).sum())
    model.train()
    return total / val.num_frames


def _write_val_losses(out_dir: Path, rows: list) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "val.csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["step", "validation_loss"])
            writer.writerows(rows)


def _read_val_losses(out_dir: Path) -> list:
    path = out_dir / "val.csv"
    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return [(int(r["step"]), float(r["validation_loss"])) for r in csv.DictReader(fh)]


def _update_ema(ema: BuiltinModel, model: BuiltinModel, step: int) -> None:
    decay = min(EMA_DECAY, (1 + step) / (10 + step))
    with torch.no_grad():
        for e, p in zip(ema.parameters(), model.parameters()):
            e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        for e, b in zip(ema.buffers(), model.buffers()):
            e.copy_(b)


def _summary(config: TrainConfig, data: TrainData, losses: list, wall: float, data_dir: Path,
             init_model: BuiltinModel | None, val_losses: list | None = None) -> dict:
    final = float(np.mean([row[1] for row in losses[-50:]])) if losses else float("nan")
    validation = {"validation_loss": val_losses[-1][1], "validation_step": val_losses[-1][0]} if val_losses else {}
    return validation | {
        "data_dir": str(data_dir),
        "data_shots": int(data.caption_ids.shape[0]),
        "data_frames": data.num_frames,
        "steps": int(losses[-1][0]) if losses else 0,
        "batch": config.batch,
        "frames_seen": (int(losses[-1][0]) if losses else 0) * config.batch,
        "wall_time_s": round(wall, 1),
        "final_loss": final,
        "final_loss_definition": ("mean MSE on v over the last 50 steps" if config.snr_cap is None else
                                  f"mean truncated-SNR weighted MSE on v (snr_cap {config.snr_cap}) over the last 50 steps"),
        "first_loss": float(np.mean([row[1] for row in losses[:50]])) if losses else float("nan"),
        "train_config": asdict(config),
        "threads": torch.get_num_threads(),
        # Where a fine-tuned model started: the directory and the training summary in its builtin.json.
        "initialised_from": None if init_model is None else {"path": config.init, "train": init_model.config.extra},
    }


def _checkpoint(out_dir: Path, config: TrainConfig, model, ema, optimizer, step: int, losses: list, wall: float,
                summary: dict) -> None:
    """Write the checkpoint (weights, EMA, optimiser moments as safetensors; state JSON), logs and the EMA model."""
    from safetensors.torch import save_file

    with atomic_path(out_dir / "checkpoint") as tmp:
        tmp.mkdir()
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        save_file({k: v.detach().cpu().contiguous() for k, v in ema.state_dict().items()}, str(tmp / "ema.safetensors"))
        names = {id(p): n for n, p in model.named_parameters()}
        moments = {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                state = optimizer.state.get(p)
                if state:
                    moments[f"exp_avg/{names[id(p)]}"] = state["exp_avg"].cpu().contiguous()
                    moments[f"exp_avg_sq/{names[id(p)]}"] = state["exp_avg_sq"].cpu().contiguous()
                    moments[f"step/{names[id(p)]}"] = torch.as_tensor(state["step"]).reshape(1).float().cpu()
        save_file(moments, str(tmp / "optimizer.safetensors"))
        (tmp / "state.json").write_text(json.dumps({"step": step, "wall_time_s": wall, "config": asdict(config)}, indent=2))
    with atomic_path(out_dir / "loss.csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["step", "loss", "lr", "wall_time_s"])
            writer.writerows(losses)
    plot_losses(losses, out_dir / "loss.png")
    save_model(ema, out_dir, extra=summary)
    write_json(out_dir / "train.json", summary)


_ADDED_LATER = {"precision": "fp32"}
"""Settings checkpoints written before them lack, with the value those runs used.
(The device is not compared: a run may move between machines, at the cost of another noise stream.)"""


def _restore(out_dir: Path, config: TrainConfig, model, ema, optimizer) -> tuple[int, list, float]:
    from safetensors.torch import load_file

    checkpoint = out_dir / "checkpoint"
    if not (checkpoint / "state.json").exists():
        raise FileNotFoundError(f"--resume: no checkpoint in {checkpoint}; start without --resume")
    state = json.loads((checkpoint / "state.json").read_text())
    saved = _ADDED_LATER | state["config"]
    mismatched = {k: (saved.get(k), v) for k, v in asdict(config).items()
                  if k not in ("steps", "checkpoint_every", "threads", "device") and saved.get(k) != v}
    if mismatched:
        detail = ", ".join(f"{k}: {a} (checkpoint) vs {b}" for k, (a, b) in mismatched.items())
        raise ValueError(f"--resume with different settings ({detail}); use the checkpoint's settings")
    device = str(next(model.parameters()).device)
    model.load_state_dict(load_file(str(checkpoint / "model.safetensors"), device=device), strict=True)
    ema.load_state_dict(load_file(str(checkpoint / "ema.safetensors"), device=device), strict=True)
    moments = load_file(str(checkpoint / "optimizer.safetensors"), device=device)
    for name, p in model.named_parameters():
        if f"exp_avg/{name}" in moments:
            optimizer.state[p] = {"exp_avg": moments[f"exp_avg/{name}"], "exp_avg_sq": moments[f"exp_avg_sq/{name}"],
                                  "step": torch.tensor(float(moments[f"step/{name}"][0]))}
    step = int(state["step"])
    with open(out_dir / "loss.csv", newline="") as fh:
        rows = [(int(r["step"]), float(r["loss"]), float(r["lr"]), float(r["wall_time_s"])) for r in csv.DictReader(fh)]
    return step, [r for r in rows if r[0] <= step], float(state["wall_time_s"])


def plot_losses(losses: list, path: Path) -> None:
    """loss.png: per-step loss (light) and its 50-step running mean, log scale.

    matplotlib's object API (a `Figure` on its own Agg canvas), not pyplot: no backend is switched
    for the process."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps = np.array([r[0] for r in losses])
    values = np.array([r[1] for r in losses])
    window = min(50, len(values))
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    fig = Figure(figsize=(5, 3), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(steps, values, color="0.8", lw=0.6, label="per step")
    ax.plot(steps[window - 1:], smooth, color="C0", lw=1.5, label=f"mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("MSE on v")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")

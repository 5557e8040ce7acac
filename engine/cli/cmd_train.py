"""`physreel train -o DIR --data DATA [--steps N] [--resume]`: train the builtin model from a dataset.

`python -m physreel.engine.cli.cmd_train ARGS` runs `physreel train ARGS` importing nothing of the
other commands, so it works where only torch and diffusers are installed (a borrowed GPU machine
that trains on a packed dataset: engine/builtin/shards.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..builtin.kinds import CONTROL_KINDS
from . import UsageError
from .args import out_folder


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train the builtin model on a `physreel dataset` directory (reproduces the shipped weights)",
        description="Train the builtin control-conditioned diffusion model. Writes DIR/builtin.safetensors + "
        "builtin.json (load with --model DIR), DIR/loss.csv, DIR/loss.png, DIR/train.json (data size, steps, wall "
        "time, final loss) and a resumable checkpoint in DIR/checkpoint/.",
    )
    p.add_argument("-o", "--output", required=True, help="output directory")
    p.add_argument("--data", required=True, help="dataset directory made by `physreel dataset`")
    p.add_argument("--steps", type=int, default=600, help="optimiser steps in all (default 600; --resume with a larger N trains on)")
    p.add_argument("--batch", type=int, default=32, help="frames per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3, help="peak AdamW learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batch sampling (default 0)")
    p.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (default 50)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--device", default="cpu", help="torch device to train on: cpu (default), cuda, cuda:N")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="fp32 (default), or bf16: the forward pass under bfloat16 autocast, for GPUs")
    p.add_argument("--high-noise-share", type=float, default=0.5, metavar="P",
                   help="share of each batch trained on the noisiest timesteps [800, 1000), where the frame must come "
                   "from the control and caption (default 0.5; 0 = uniform timesteps)")
    p.add_argument("--init", metavar="MODEL_DIR", help="start from a trained model directory (fine-tuning: its "
                   "architecture and weights; fresh optimiser and step count) instead of a seeded initialisation")
    p.add_argument("--caption-time-embedding", action=argparse.BooleanOptionalAction, default=None,
                   help="add the pooled caption to the UNet's time embedding (default: on for a new model; with "
                   "--init the init model's choice, and --caption-time-embedding adds it to a model without it)")
    p.add_argument("--snr-cap", type=_snr_cap, default=5.0, metavar="CAP",
                   help="weight each frame's v error by min(1+SNR, 1+CAP)/(1+SNR) (truncated SNR; default 5); "
                   "'none' for plain MSE on v (how weights before this option were trained)")
    p.add_argument("--val-data", metavar="DIR", help="a dataset of other shots: the EMA model's loss on it is "
                   "measured at every checkpoint and written to DIR/val.csv (shows overfitting)")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint (same settings)")
    return p


def _snr_cap(text: str) -> float | None:
    if text.lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'none', got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 or 'none', got {text!r}")
    return value


def _model_config(args):
    """The requested architecture: None unless --(no-)caption-time-embedding was given."""
    from physreel.engine.builtin.model import CONFIG_NAME, BuiltinConfig  # imports torch

    if args.caption_time_embedding is None:
        return None
    base = BuiltinConfig.from_json(Path(args.init) / CONFIG_NAME) if args.init else BuiltinConfig()
    # The model trained reads this version's control kinds; an init model reading fewer is widened.
    return replace(base, extra={}, caption_time_embedding=args.caption_time_embedding, control_kinds=CONTROL_KINDS)


def _check_device(name: str) -> None:
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise UsageError(f"--device {name!r} is not a torch device; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: this torch sees no CUDA device; train with --device cpu")
    if device.type not in ("cpu", "cuda"):
        raise UsageError(f"--device {name}: only cpu and cuda are supported")


def run(args) -> int:
    from physreel.engine.builtin.train import TrainConfig, train  # imports torch

    out_folder(args.output)

    for name in ("steps", "batch", "checkpoint_every", "threads"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not 0.0 <= args.high_noise_share <= 1.0:
        raise UsageError(f"--high-noise-share must be between 0 and 1, got {args.high_noise_share}")
    if not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    _check_device(args.device)
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, threads=args.threads,
                         snr_cap=args.snr_cap, high_noise_share=args.high_noise_share, init=args.init,
                         device=args.device, precision=args.precision)
    try:
        summary = train(args.data, args.output, config, resume=args.resume, progress=not args.quiet,
                        model_config=_model_config(args), val_dir=args.val_data)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print(f"{args.output}: {summary['steps']} steps on {summary['data_shots']} shots ({summary['data_frames']} "
              f"frames) in {summary['wall_time_s']:.0f} s; final loss {summary['final_loss']:.4f}")
    return 0


if __name__ == "__main__":
    from . import main

    raise SystemExit(main(["train", *sys.argv[1:]], commands=("train",)))

"""`physreel train -o DIR --data DATA [--steps N] [--resume]`: train the builtin model from a dataset."""

from __future__ import annotations


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
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint (same settings)")
    return p


def run(args) -> int:
    from engine.builtin.train import TrainConfig, train
    from engine.cli import UsageError

    for name in ("steps", "batch", "checkpoint_every", "threads"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, threads=args.threads)
    try:
        summary = train(args.data, args.output, config, resume=args.resume, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not args.quiet:
        print(f"{args.output}: {summary['steps']} steps on {summary['data_shots']} shots ({summary['data_frames']} "
              f"frames) in {summary['wall_time_s']:.0f} s; final loss {summary['final_loss']:.4f}")
    return 0

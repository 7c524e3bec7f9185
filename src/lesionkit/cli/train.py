"""``lesionkit train DATA -o MODEL_DIR``: train the 3D ResU-Net (Tomita et al. 2020) on a cohort."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train",
        help="train a lesion segmentation model on an ATLAS/BIDS or synthetic cohort",
        description="Train the 3D residual U-Net (zoom-in on small crops, zoom-out fine-tuning on large crops). "
        "Defaults follow Tomita et al. 2020; a TOML file (--config) and the flags below override them. "
        "Run under torchrun for multi-GPU training.",
    )
    parser.add_argument("data", help="cohort folder (anything `load_cohort` reads) with T1w images and lesion masks")
    parser.add_argument("-o", "--output", required=True, help="model folder (checkpoints, log.csv, config.json)")
    parser.add_argument("--config", help="TOML file of training settings (see lesionkit/model/config.py)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run from MODEL_DIR/last.pt")
    parser.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (fine-tuning; "
                        "same network, channels and working grid), e.g. the shipped model")
    parser.add_argument("--export", metavar="FILE", help="also write the best checkpoint as a shippable float16 "
                        "model with its threshold calibrated on the validation split")
    parser.add_argument("--network", choices=("resunet", "dynunet", "segresnet"))
    parser.add_argument("--widths", type=int, nargs="+", help="channels per resolution level (paper: 32 64 128 256)")
    parser.add_argument("--stem-stride", type=int, choices=(1, 2), help="2 = strided first convolution (CPU)")
    parser.add_argument("--epochs", type=int, help="zoom-in epochs (paper: 1200)")
    parser.add_argument("--zoom-out-epochs", type=int, help="zoom-out fine-tuning epochs (paper: 150)")
    parser.add_argument("--crop", type=int, nargs=3, metavar=("X", "Y", "Z"), help="zoom-in crop (paper: 128³)")
    parser.add_argument("--zoom-out-crop", type=int, nargs=3, metavar=("X", "Y", "Z"), help="zoom-out crop")
    parser.add_argument("--lr", type=float, help="zoom-in initial learning rate (paper: 1e-3)")
    parser.add_argument("--batch-size", type=int, help="zoom-in crops per step")
    parser.add_argument("--accumulate", type=int, help="micro-batches per optimiser step (gradient accumulation)")
    parser.add_argument("--steps-per-epoch", type=int, help="optimiser steps per epoch (default: one pass)")
    parser.add_argument("--lesion-fraction", type=float, help="share of crops centred on a lesion (paper: 0)")
    parser.add_argument("--lesion-sampling", choices=("voxel", "lesion"),
                        help="centre lesion crops on a random lesion voxel (default) or a random lesion")
    parser.add_argument("--spacing", type=float, help="working voxel size in mm (default: the data's own)")
    parser.add_argument("--channels", nargs="+", choices=("t1", "mirror", "template"),
                        help="input channels (default: t1)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    parser.add_argument("--loader-threads", type=int, metavar="N",
                        help="threads that prepare the next batches while the network trains (default 0: none)")
    parser.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="stop after the epoch in which this wall-clock budget (data loading included) runs out, "
                        "with the checkpoints of a normal end")
    parser.add_argument("--bf16", action="store_true", default=None,
                        help="bfloat16 autocast on the CPU (faster on CPUs with AVX512-BF16/AMX, slower without)")
    parser.add_argument("--deterministic", action="store_true", default=None,
                        help="torch.use_deterministic_algorithms (bitwise-repeatable on one machine)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    network = {k: v for k, v in {"name": args.network, "widths": args.widths, "stem_stride": args.stem_stride}.items()
               if v is not None}
    zoom_in = {k: v for k, v in {"epochs": args.epochs, "crop": args.crop, "lr": args.lr,
                                 "batch_size": args.batch_size}.items() if v is not None}
    zoom_out = {k: v for k, v in {"epochs": args.zoom_out_epochs, "crop": args.zoom_out_crop}.items() if v is not None}
    top = {k: v for k, v in {"steps_per_epoch": args.steps_per_epoch, "lesion_fraction": args.lesion_fraction,
                             "lesion_sampling": args.lesion_sampling,
                             "seed": args.seed, "threads": args.threads, "spacing": args.spacing,
                             "channels": args.channels, "accumulate": args.accumulate,
                             "loader_threads": args.loader_threads, "time_limit_s": args.time_limit,
                             "deterministic": args.deterministic, "bf16": args.bf16}.items() if v is not None}
    return {**top, **({"network": network} if network else {}), **({"zoom_in": zoom_in} if zoom_in else {}),
            **({"zoom_out": zoom_out} if zoom_out else {})}


def _check_flags(args: argparse.Namespace) -> None:
    import math

    from lesionkit.cli._checks import require

    for flag, value, low in (("--epochs", args.epochs, 1), ("--zoom-out-epochs", args.zoom_out_epochs, 0),
                             ("--batch-size", args.batch_size, 1), ("--steps-per-epoch", args.steps_per_epoch, 1),
                             ("--threads", args.threads, 1), ("--seed", args.seed, 0),
                             ("--loader-threads", args.loader_threads, 0)):
        require(value is None or value >= low, f"{flag} must be at least {low}")
    for flag, value in (("--lr", args.lr), ("--spacing", args.spacing), ("--time-limit", args.time_limit)):
        require(value is None or (math.isfinite(value) and value > 0), f"{flag} must be a positive number")
    for flag, values in (("--widths", args.widths), ("--crop", args.crop), ("--zoom-out-crop", args.zoom_out_crop)):
        require(values is None or min(values) >= 1, f"{flag} must be positive")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lesionkit.cli._checks import UsageError, output_dir, output_file
    from lesionkit.io.errors import InvalidInputError
    from lesionkit.model.config import load_config
    from lesionkit.model.train import train

    _check_flags(args)
    if args.config and not Path(args.config).is_file():
        raise InvalidInputError(args.config, "config file does not exist")
    try:
        load_config(args.config)
    except (ValueError, TypeError, OSError, UnicodeDecodeError) as error:  # unknown keys, bad TOML: the file's fault
        raise InvalidInputError(args.config, str(error)) from error
    try:
        config = load_config(args.config, _overrides(args))
    except (ValueError, TypeError) as error:  # the file was fine: a flag's value is the problem
        raise UsageError(str(error)) from error
    output_dir("train", args.output)
    if args.export:
        output_file("train", args.export)
    best = train(config, args.data, args.output, resume=args.resume, progress=not args.no_progress,
                 init=args.init)
    print(f"best checkpoint: {best}")
    if args.export:
        from lesionkit.model.export import export_model

        print(f"exported model: {export_model(best, args.export, args.data)}")
    return 0

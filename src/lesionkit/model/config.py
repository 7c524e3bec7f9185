"""Typed training configuration: defaults reproduce Tomita et al. (2020); TOML files and CLI flags override.

A TOML file mirrors the dataclasses::

    seed = 0
    lesion_fraction = 0.67
    [network]
    widths = [16, 32, 64, 128]
    stem_stride = 2
    [zoom_in]
    epochs = 40
    crop = [96, 96, 96]
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path

from lesionkit.core import DEFAULT_THRESHOLD
from lesionkit.model.networks import NetworkConfig
from lesionkit.typing import PathLike

__all__ = ["StageConfig", "TrainConfig", "load_config"]


@dataclass
class StageConfig:
    """One optimisation stage (zoom-in on small crops, or zoom-out fine-tuning on large ones)."""

    epochs: int
    crop: list[int]
    lr: float
    cycle_epochs: int
    """Length of one cosine-annealing cycle (warm restart after it; a snapshot is saved at its end)."""
    batch_size: int = 1
    warmup_steps: int = 0
    """Optimiser steps over which the learning rate ramps up linearly at the start of every cosine cycle (0 = the
    paper's plain warm restarts). Adam's first steps after a restart (or with fresh moments) move every weight by
    about the full learning rate; a fine-tuned network can be knocked out of its basin by them (issue 22, run s9b)."""


@dataclass
class TrainConfig:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    # Paper, Table 1: 1200 epochs on 128³ at lr 1e-3, then 150 epochs on 144×172×168 at 1e-4,
    # snapshots at zoom-out epochs 50/100/150. 172 is rounded up to the network's divisor (176).
    zoom_in: StageConfig = field(default_factory=lambda: StageConfig(1200, [128, 128, 128], 1e-3, 200))
    zoom_out: StageConfig = field(default_factory=lambda: StageConfig(150, [144, 172, 168], 1e-4, 50))
    steps_per_epoch: int | None = None
    """Optimiser steps per epoch; None = one pass over the training cases."""
    lesion_fraction: float = 0.0
    """Share of crops centred on a lesion voxel (0 = the paper's uniform crops)."""
    lesion_sampling: str = "voxel"
    """How a lesion-centred crop picks its centre: ``voxel`` (any lesion voxel: large lesions dominate) or
    ``lesion`` (a random connected lesion first: small lesions are seen as often as large ones)."""
    augment: float = 1.0
    """Augmentation strength (0 switches it off)."""
    bce_weight: float = 0.1
    dice_weight: float = 0.9
    blob_weight: float = 0.0
    """Weight of the lesion-wise blob loss (:func:`~lesionkit.model.losses.blob_dice_loss` +
    :func:`~lesionkit.model.losses.blob_cross_entropy`; 0 = the paper's loss). Kofler et al. weigh it half the
    global loss, i.e. 0.5 next to 0.1 BCE + 0.9 Dice."""
    val_fraction: float = 0.1
    val_every: int = 10
    """Validate (and pick the best checkpoint) every this many epochs, and after the last one."""
    val_max_cases: int = 8
    threshold: float = DEFAULT_THRESHOLD
    seed: int = 0
    threads: int | None = None
    """CPU threads for torch (None = torch's default). Fix it for runs that must be repeatable: oneDNN may
    split reductions differently with another thread count."""
    deterministic: bool = False
    """``torch.use_deterministic_algorithms(True)`` for the run: bitwise-repeatable on the same machine and
    thread count (the tests use it). Off by default because on CUDA it needs ``CUBLAS_WORKSPACE_CONFIG`` and
    refuses some kernels."""
    accumulate: int = 1
    """Micro-batches per optimiser step (gradient accumulation): each draws ``batch_size`` crops and the
    gradients are averaged, exactly as DDP averages them over ranks, so one process with ``accumulate = N``
    takes the same steps as N ranks."""
    clip_grad_norm: float = 0.0
    """Clip the gradients' global L2 norm to this before each optimiser step (0 = no clipping, the paper's)."""
    amp: bool = True
    """Mixed precision on CUDA (float16 with gradient scaling)."""
    bf16: bool = False
    """bfloat16 autocast on the CPU (convolutions in bfloat16; GroupNorm, the loss and the weights stay float32).
    On CPUs with AVX512-BF16/AMX a training step of the 8→64 ResU-Net on two 48³ crops measured 1.7× faster
    (0.39 s against 0.68 s, one thread, ``benchmarks/train_precision.py``); on CPUs without bfloat16 support it
    is emulated and slower, hence off by default."""
    loader_threads: int = 0
    """Threads that load the training cases and prepare the next batches (crops and augmentation) while the
    network trains on the current one; 0 = in the training loop, one after another. A batch depends only on
    (seed, step, shard), so the weights are the same for any thread count: this only keeps a GPU busy."""
    time_limit_s: float | None = None
    """Wall-clock budget in seconds, counted from the start of ``train`` (data loading included); None = no
    limit. After the epoch during which it runs out, the run validates, writes ``final.pt``/``best.pt``/
    ``last.pt`` as at a normal end and stops; the checkpoints' provenance says so."""
    tensorboard: bool = True
    """Also log to TensorBoard when it is installed."""
    roi_size: list[int] | None = None
    """Sliding-window size for validation and inference (voxels of the working grid); None = the crop of the
    last stage. GroupNorm statistics are taken over the whole input, so a network predicts best on windows
    the size it was trained on: that is what the zoom-out stage is for. Windows much larger than the training
    crops (e.g. the whole head after training on 48³ lesion-centred crops) shift those statistics and flood
    the prediction with false positives (measured on a half-trained CPU model and 4 held-out synthetic
    subjects: mean Dice 0.22 with whole-head windows, 0.57 with 48³ windows)."""
    spacing: float | None = None
    """Voxel size (mm) the network works at; None = the data's own; 2 on the 1 mm ATLAS grid averages 2×2×2
    blocks (see :mod:`lesionkit.model.features`)."""
    channels: list[str] = field(default_factory=lambda: ["t1"])
    """Input channels (``t1``, ``mirror``, ``template``; see :mod:`lesionkit.model.features`)."""
    prior_jitter_mm: float = 0.0
    """Largest move (mm, per axis) of the ``mirror`` and ``template`` channels of each training crop against its
    image, each channel its own whole-voxel move (0 = off). A synthetic head is the template, smoothly deformed: its
    folds match the template channel and, the template being symmetric, its own mirror, to within a few mm. A real
    head's do not (its own sulci, its own asymmetry), and a network that learnt "darker than the template or the other
    side here" from synthetic heads marks a real head's deep sulci as lesions (issue 22, sessions 10–11)."""

    def window(self, stage: str | None = None) -> list[int]:
        """The inference window: ``roi_size``, else the crop of ``stage`` (default: the last non-empty stage)."""
        if self.roi_size is not None:
            return list(self.roi_size)
        if stage is None:
            stage = "zoom_out" if self.zoom_out.epochs > 0 else "zoom_in"
        return list(getattr(self, stage).crop)

    def validate(self) -> None:
        """Raise ``ValueError`` for settings no run can use (checked before any data is loaded)."""
        if self.lesion_sampling not in ("voxel", "lesion"):
            raise ValueError(f"lesion_sampling must be 'voxel' or 'lesion', not {self.lesion_sampling!r}")
        if self.accumulate < 1:
            raise ValueError(f"accumulate must be at least 1, not {self.accumulate}")
        if not (math.isfinite(self.clip_grad_norm) and self.clip_grad_norm >= 0):
            raise ValueError(f"clip_grad_norm must be a finite number ≥ 0, not {self.clip_grad_norm!r}")
        for name in ("zoom_in", "zoom_out"):
            warmup = getattr(self, name).warmup_steps
            if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
                raise ValueError(f"{name}.warmup_steps must be a whole number ≥ 0, not {warmup!r}")
        if not (math.isfinite(self.prior_jitter_mm) and 0.0 <= self.prior_jitter_mm <= 10.0):
            raise ValueError(f"prior_jitter_mm must be within [0, 10] mm, not {self.prior_jitter_mm!r}")
        if not 0.0 <= self.lesion_fraction <= 1.0:
            raise ValueError(f"lesion_fraction must be within [0, 1], not {self.lesion_fraction}")
        if isinstance(self.loader_threads, bool) or not isinstance(self.loader_threads, int) \
                or self.loader_threads < 0:
            raise ValueError(f"loader_threads must be a whole number ≥ 0, not {self.loader_threads!r}")
        limit = self.time_limit_s
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                                  or not math.isfinite(limit) or limit <= 0):
            raise ValueError(f"time_limit_s must be a positive number of seconds, not {limit!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _merge(instance, values: dict, where: str):
    known = {f.name: f for f in fields(instance)}
    for key, value in values.items():
        if key not in known:
            raise ValueError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        current = getattr(instance, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(f"{where}: {key} must be a table")
            _merge(current, value, f"{where}.{key}")
        else:
            setattr(instance, key, value)
    return instance


def load_config(path: PathLike | None = None, overrides: dict | None = None) -> TrainConfig:
    """Defaults, then the TOML file at ``path``, then ``overrides`` (nested dicts, e.g. from CLI flags)."""
    config = TrainConfig()
    if path is not None:
        with Path(path).open("rb") as handle:
            _merge(config, tomllib.load(handle), str(path))
    if overrides:
        _merge(config, overrides, "overrides")
    config.validate()
    return config

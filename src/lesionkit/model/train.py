"""Training: zoom-in on small random crops, then zoom-out fine-tuning on large ones (Tomita et al. 2020).

``train(config, data, out_dir)`` is a short composition of the small functions below. Adam with cosine
annealing and warm restarts; a snapshot checkpoint at the end of every cosine cycle; validation with a
local Dice on whole volumes (sliding window) and best-checkpoint selection (by Dice; lesion-wise F1, detection of
lesions under 500 mm³ and false lesions per lesion-free subject are logged beside it); a CSV log (and TensorBoard
when installed); AMP on CUDA; DDP when launched by ``torchrun`` (or any launcher that sets ``WORLD_SIZE``).

Resuming is exact: the random crops and augmentations of step ``s`` are drawn from a generator seeded
by ``(seed, s, shard)`` (``shard = rank · accumulate + micro-batch``), so a run restarted from ``last.pt``
(weights, optimiser, scheduler, step, torch RNG) produces the same weights as one that was never interrupted,
and N DDP ranks take the same steps as one process accumulating N micro-batches. ``deterministic`` and a
fixed ``threads`` make a run bitwise-repeatable on one machine.

``loader_threads`` prepares the next batches in a thread pool (NumPy, SciPy and PyTorch release the GIL)
while the network trains on the current one; the batches are the same, in the same order, so the weights do
not depend on the thread count. ``time_limit_s`` stops the run after the epoch in which its wall-clock budget
ran out, with the checkpoints of a normal end.

Outputs in ``out_dir``: ``best.pt`` (best validation Dice), ``snapshot-NN.pt`` (end of each cosine cycle),
``final.pt``, ``last.pt`` (resume state), ``log.csv``, ``config.json``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lesionkit.core import binarize_probability, count_lesions, dice, label_components
from lesionkit.io.atomic import atomic_path, write_text
from lesionkit.io.cohort import MNI_SPACE, load_cohort
from lesionkit.io.errors import InvalidInputError
from lesionkit.model.augment import augment, build_augmentation
from lesionkit.model.checkpoint import SegmentationModel, load_weights, read_checkpoint, save_checkpoint
from lesionkit.model.config import StageConfig, TrainConfig
from lesionkit.model.data import Sample, load_samples, split_cases
from lesionkit.model.inference import predict_inputs
from lesionkit.model.losses import BCEDiceLoss
from lesionkit.model.networks import NetworkConfig, build_network
from lesionkit.model.normalize import DEFAULT_NORMALIZATION
from lesionkit.model.sampling import crop_slices, extract_crop, round_up_crop, shift_slices
from lesionkit.model.transfer import strided_config, strided_from_coarse
from lesionkit.typing import PathLike

__all__ = ["train"]

_log = logging.getLogger(__name__)

LOG_COLUMNS = ("epoch", "stage", "step", "lr", "loss", "grad_norm", "val_dice", "val_f1", "val_small_detected",
               "val_false_per_free", "seconds", "note")
#: Lesions under this volume count as small in the validation log (the issue's two smallest size bins).
SMALL_LESION_MM3 = 500.0


@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed() -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world <= 1:
        return _Dist(device=torch.device("cuda" if cuda else "cpu"))
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank()
    local = int(os.environ.get("LOCAL_RANK", rank))
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    return _Dist(rank, dist.get_world_size(), device)


def _stages(config: TrainConfig) -> list[tuple[str, StageConfig, int]]:
    """(name, stage, first epoch) for the non-empty stages."""
    out, first = [], 0
    for name in ("zoom_in", "zoom_out"):
        stage = getattr(config, name)
        if stage.epochs > 0:
            out.append((name, stage, first))
            first += stage.epochs
    if not out:
        raise ValueError("both training stages have 0 epochs")
    return out


def _stage_at(stages: list[tuple[str, StageConfig, int]], epoch: int) -> tuple[str, StageConfig, int]:
    return [s for s in stages if s[2] <= epoch][-1]


class _WarmCosine:
    """The learning-rate factor of cosine annealing with warm restarts (floor 1 % of the peak, as
    ``CosineAnnealingWarmRestarts(eta_min=lr / 100)``) and a linear warm-up over the first ``warmup`` steps of
    every cycle. A class, not a closure, so ``LambdaLR`` saves and restores it with the run's state."""

    def __init__(self, cycle: int, warmup: int) -> None:
        self.cycle, self.warmup = cycle, warmup

    def __call__(self, step: int) -> float:
        t = step % self.cycle
        cosine = 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * t / self.cycle))
        return cosine * min(1.0, (t + 1) / self.warmup) if self.warmup else cosine


def _optimizer(model: nn.Module, stage: StageConfig, steps_per_epoch: int):
    optimizer = torch.optim.Adam(model.parameters(), lr=stage.lr)
    cycle = max(1, stage.cycle_epochs * steps_per_epoch)
    if stage.warmup_steps:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _WarmCosine(cycle, stage.warmup_steps))
    else:  # the paper's schedule, and the one older runs' last.pt holds the state of
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=cycle, eta_min=stage.lr * 0.01)
    return optimizer, scheduler


def _batch(
    samples: list[Sample], stage: StageConfig, crop: tuple[int, int, int], config: TrainConfig, transform,
    step: int, shard: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The crops of global step ``step`` for ``shard`` (one micro-batch of one rank; deterministic in
    (seed, step, shard), so N ranks and one process accumulating N micro-batches see the same crops)."""
    rng = np.random.default_rng([config.seed, step, shard])
    images, labels = [], []
    for _ in range(stage.batch_size):
        sample = samples[int(rng.integers(len(samples)))]
        bounds = sample.lesion_bounds if config.lesion_sampling == "lesion" else None
        slices = crop_slices(sample.mask.shape, crop, rng, sample.lesion_voxels, config.lesion_fraction, bounds)
        image = np.stack([
            extract_crop(channel, _prior_slices(slices, name, sample, config, rng), crop, fill=float(channel.min()))
            for name, channel in zip(config.channels, sample.image, strict=True)
        ])
        label = extract_crop(sample.mask, slices, crop)[None]
        image, label = image.astype(np.float32), label.astype(np.float32)
        image, label = augment(transform, image, label, int(rng.integers(2**31)))
        images.append(image)
        labels.append(label)
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(labels))


def _prior_slices(slices: tuple[slice, ...], channel: str, sample: Sample, config: TrainConfig,
                  rng: np.random.Generator) -> tuple[slice, ...]:
    """Where to crop ``channel``: with ``prior_jitter_mm``, the mirror and template channels each from their own
    random place up to that far from the image's (a whole-voxel move per crop and channel: a smooth warp of each
    crop, the better model of a real head's drift, cost 0.2–0.4 s per 80³ crop here, as much as the step itself)."""
    if config.prior_jitter_mm <= 0 or channel not in ("mirror", "template"):
        return slices  # nothing drawn: runs without it keep their crops
    reach = int(round(config.prior_jitter_mm / float(np.mean(sample.spacing))))
    return shift_slices(slices, sample.mask.shape, rng.integers(-reach, reach + 1, 3))


class _Batches:
    """The batches of a sequence of (step, shard) keys, in that order, prepared by ``threads`` worker threads up
    to ``2 · threads`` ahead (0 threads: each one when it is asked for, in the caller's thread).

    Each worker thread builds its own augmentation pipeline: MONAI's random transforms keep their random state
    in the object, so one shared pipeline would let two threads reseed each other's crops mid-way.
    """

    def __init__(self, threads: int, build_transform, pin: bool = False) -> None:
        self._threads, self._build, self._pin = threads, build_transform, pin
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="lesionkit-batch") if threads else None
        self._serial_transform = None if threads else build_transform()

    def _transform(self):
        if self._serial_transform is not None:
            return self._serial_transform
        if not hasattr(self._local, "transform"):
            self._local.transform = self._build()
        return self._local.transform

    def _make(self, make_batch, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = make_batch(self._transform(), *key)
        if self._pin:  # page-locked host memory: the copy to the GPU can overlap the previous step
            images, labels = images.pin_memory(), labels.pin_memory()
        return images, labels

    def iterate(self, make_batch, keys: list[tuple[int, int]]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``make_batch(transform, step, shard)`` for each key, in order."""
        if self._pool is None:
            for key in keys:
                yield self._make(make_batch, key)
            return
        pending: deque = deque()
        ahead = iter(keys)
        try:
            for key in ahead:
                pending.append(self._pool.submit(self._make, make_batch, key))
                if len(pending) >= 2 * self._threads:
                    break
            while pending:
                batch = pending.popleft().result()
                for key in ahead:  # keep the queue full: one submitted for each one taken
                    pending.append(self._pool.submit(self._make, make_batch, key))
                    break
                yield batch
        finally:
            for future in pending:
                future.cancel()

    def map(self, function, items: list) -> list:
        """``[function(item) for item in items]``, on the worker threads when there are any."""
        return list(self._pool.map(function, items)) if self._pool is not None else [function(i) for i in items]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _validate(
    network: nn.Module, samples: list[Sample], config: TrainConfig, dist: _Dist, stage: str
) -> dict[str, float]:
    """Whole-volume validation (sliding windows of the current stage's crop) at the config's threshold:
    :func:`_validation_figures` of the predictions."""
    wrapper = SegmentationModel([network], config.network.to_dict(), roi_size=config.window(stage),
                                channels=config.channels)

    def pairs() -> Iterator[tuple[np.ndarray, np.ndarray, float]]:
        for sample in samples:  # on the working grid: a soft target counts where it is ≥ 0.5
            probability = predict_inputs(wrapper, sample.image.astype(np.float32), device=dist.device)
            yield (binarize_probability(probability, config.threshold), sample.mask >= 0.5,
                   float(np.prod(sample.spacing)))

    return _validation_figures(pairs())


def _validation_figures(pairs: Iterator[tuple[np.ndarray, np.ndarray, float]]) -> dict[str, float]:
    """Of (prediction, truth, voxel mm³) triples: mean Dice (every subject; it selects ``best.pt``), mean lesion-wise
    F1 over lesioned subjects, the share of true lesions under :data:`SMALL_LESION_MM3` that a prediction touches, and
    false lesions per lesion-free subject — the Dice alone hid that a run found no lacune at all (issue 22). NaN
    where a figure has no subject or lesion to count."""
    dices, f1s, small_hits, false_free = [], [], [], []
    for pred, truth, voxel_mm3 in pairs:
        dices.append(dice(pred, truth))
        counts = count_lesions(pred, truth)
        if not counts.truth:
            false_free.append(counts.false_positive)
            continue
        f1s.append(counts.f1)
        labels, n = label_components(truth)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:] * voxel_mm3
        hit = np.bincount(labels[pred], minlength=n + 1)[1:] > 0
        small_hits += hit[sizes < SMALL_LESION_MM3].tolist()

    def mean(values: list) -> float:
        return float(np.mean(values)) if values else float("nan")

    return {"dice": mean(dices), "f1": mean(f1s), "small_detected": mean(small_hits),
            "false_per_free": mean(false_free)}


def _append_log(path: Path, row: dict) -> None:
    new = not path.exists()
    columns = LOG_COLUMNS
    if not new:  # a run resumed from an older version's log keeps that log's columns
        with path.open(newline="", encoding="utf-8") as handle:
            columns = tuple(next(csv.reader(handle), LOG_COLUMNS))
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow(row)


def _save_state(path: Path, model: nn.Module, optimizer, scheduler, epoch: int, stage: str, best: float) -> None:
    state = {
        "model": getattr(model, "module", model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "stage": stage,
        "best": best,
        "torch_rng": torch.get_rng_state(),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _provenance(data: PathLike, train_ids: list[str], val_ids: list[str], config: TrainConfig, **metrics) -> dict:
    from lesionkit import __version__

    return {
        "lesionkit_version": __version__,
        "torch_version": str(torch.__version__),
        "training_data": {"path": str(data), "n_train": len(train_ids), "n_val": len(val_ids),
                          "train_ids": train_ids, "val_ids": val_ids},
        "config": config.to_dict(),
        "metrics": metrics,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _load_initial_weights(network: nn.Module, config: TrainConfig, path: PathLike) -> None:
    """Start from another checkpoint's weights (fine-tuning, or a second run of cosine cycles). Its
    architecture, input channels and working grid must be the ones this run trains, or it must be the
    stride-1 ResU-Net at twice this run's voxel size whose strided twin this run trains
    (:mod:`lesionkit.model.transfer`: the run starts from the same function at full resolution)."""
    payload = read_checkpoint(path)
    theirs = NetworkConfig(**payload["network"])  # a checkpoint older than a field gets its default
    spacing = np.asarray(payload.get("spacing", [1.0] * 3), float)
    refine = (theirs.name == "resunet" and theirs.stem_stride == 1 and config.spacing is not None
              and bool(np.allclose(spacing, 2 * config.spacing))
              and config.network == strided_config(theirs, config.network.stem_channels))
    mismatches = []
    if not refine and theirs != config.network:
        mismatches.append(f"network {theirs.to_dict()} != {config.network.to_dict()}")
    if list(payload.get("channels", ["t1"])) != list(config.channels):
        mismatches.append(f"channels {payload.get('channels', ['t1'])} != {config.channels}")
    if not refine and config.spacing is not None and not np.allclose(spacing, config.spacing):
        mismatches.append(f"spacing {payload.get('spacing')} != {config.spacing} mm")
    if "state_dicts" in payload:
        mismatches.append("it is an ensemble of several networks")
    if mismatches:
        raise InvalidInputError(path, "cannot start from this checkpoint: " + "; ".join(mismatches))
    if refine:
        coarse = load_weights(build_network(theirs), payload["state_dict"])
        network.load_state_dict(strided_from_coarse(coarse, config.network, seed=config.seed).state_dict())
    else:
        load_weights(network, payload["state_dict"])


def train(
    config: TrainConfig, data: PathLike, out_dir: PathLike, *, resume: bool = False, progress: bool = True,
    init: PathLike | None = None,
) -> Path:
    """Train on every case with a mask under ``data`` (any layout ``load_cohort`` reads); returns ``best.pt``.

    ``init``: a checkpoint whose weights this run starts from (same architecture and channels) instead of
    a random initialisation; ``resume`` takes precedence once the run has written ``last.pt``.
    """
    with _deterministic(config.deterministic):
        return _train(config, data, out_dir, resume=resume, progress=progress, init=init)


@contextlib.contextmanager
def _deterministic(enabled: bool):
    """``torch.use_deterministic_algorithms`` for the run only (it is process-wide)."""
    previous = torch.are_deterministic_algorithms_enabled()
    if enabled:
        torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def _train(
    config: TrainConfig, data: PathLike, out_dir: PathLike, *, resume: bool, progress: bool, init: PathLike | None
) -> Path:
    clock = time.monotonic()  # the time limit counts data loading too: it is what a lease of a GPU pays for
    dist = _init_distributed()
    if config.threads:
        torch.set_num_threads(config.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    workers = _Batches(config.loader_threads, partial(build_augmentation, config.augment),
                       pin=dist.device.type == "cuda")
    try:
        return _run(config, data, out, dist, workers, clock, resume=resume, progress=progress, init=init)
    finally:
        workers.close()


def _time_is_up(config: TrainConfig, clock: float, dist: _Dist) -> bool:
    """Whether the wall-clock budget is spent; rank 0's clock decides for every rank (they must stop together)."""
    up = config.time_limit_s is not None and time.monotonic() - clock > config.time_limit_s
    if dist.world > 1 and config.time_limit_s is not None:
        flag = torch.tensor([float(up)], device=dist.device)
        torch.distributed.broadcast(flag, 0)
        up = bool(flag.item())
    return up


@dataclass
class _Data:
    """The loaded training and validation samples, their working grid and the case ids the provenance lists."""

    train: list[Sample]
    val: list[Sample]
    spacing: list[float]
    train_ids: list[str]
    val_ids: list[str]


def _load_data(config: TrainConfig, data: PathLike, dist: _Dist, workers: _Batches) -> _Data:
    train_cases, val_cases = split_cases(load_cohort(data, truth=True), config.val_fraction, config.seed)
    if not train_cases:
        raise InvalidInputError(data, "no case with both a T1w image and a lesion mask to train on")
    config.network.in_channels = len(config.channels)  # the channels decide it; stored for the checkpoint
    load = partial(load_samples, normalization=DEFAULT_NORMALIZATION, channels=config.channels,
                   spacing=config.spacing)

    def load_all(cases) -> list[Sample]:
        # the first case alone: it fills the template caches that the threads then share
        first = load(cases[:1])
        return first + [s for part in workers.map(lambda case: load([case]), cases[1:]) for s in part]

    train_samples = load_all(train_cases)
    spacing = list(train_samples[0].spacing)  # the working grid the checkpoint records
    val_samples = load_all(val_cases[: config.val_max_cases]) if dist.main and val_cases else []
    return _Data(train_samples, val_samples, spacing, [s.case_id for s in train_samples], [c.id for c in val_cases])


@dataclass
class _Setup:
    """What every step uses: the network (and the DDP wrapper that trains it), the loss and the numerics."""

    network: nn.Module
    model: nn.Module
    loss_fn: BCEDiceLoss
    scaler: torch.amp.GradScaler
    autocast: dict
    channels_last: bool
    divisor: int
    steps_per_epoch: int


def _set_up(config: TrainConfig, dist: _Dist, init: PathLike | None, n_train: int) -> _Setup:
    network = build_network(config.network)
    if init is not None:
        _load_initial_weights(network, config, init)
    network = network.to(dist.device)
    cpu = dist.device.type == "cpu"
    if not cpu and not config.deterministic:  # crops of one size per stage: cuDNN's fastest 3-D kernels, once
        torch.backends.cudnn.benchmark = True
    channels_last = cpu and not config.bf16  # measured: faster in float32, slower under bfloat16 autocast
    if channels_last:  # oneDNN's 3-D convolution backward is several times faster in channels-last layout
        network = network.to(memory_format=torch.channels_last_3d)
    model: nn.Module = network
    if dist.world > 1:
        model = nn.parallel.DistributedDataParallel(network, device_ids=None if cpu else [dist.device])
    loss_fn = BCEDiceLoss(config.bce_weight, config.dice_weight, config.blob_weight)
    amp = config.amp and not cpu
    autocast = dict(device_type=dist.device.type, dtype=torch.bfloat16 if cpu else torch.float16,
                    enabled=amp or (cpu and config.bf16))
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    divisor = config.network.stem_stride * 2 ** (len(config.network.widths) - 1)
    steps_per_epoch = config.steps_per_epoch or max(
        1, math.ceil(n_train / (config.zoom_in.batch_size * config.accumulate * dist.world))
    )
    return _Setup(network, model, loss_fn, scaler, autocast, channels_last, divisor, steps_per_epoch)


@dataclass
class _Run:
    """One training run's fixed parts, and the best validation Dice so far."""

    config: TrainConfig
    data: PathLike
    out: Path
    dist: _Dist
    samples: _Data
    setup: _Setup
    stages: list[tuple[str, StageConfig, int]]
    best: float = -1.0

    @property
    def total_epochs(self) -> int:
        return sum(s.epochs for _, s, _ in self.stages)

    def save(self, path: Path, stage: str, **metrics) -> None:
        # the window of the stage that trained these weights: GroupNorm statistics must match it (a run
        # stopped by its time limit in zoom-in never trained on the zoom-out crop)
        config = self.config
        save_checkpoint(path, self.setup.network, config.network, roi_size=config.window(stage), space=MNI_SPACE,
                        spacing=self.samples.spacing, channels=config.channels,
                        provenance=_provenance(self.data, self.samples.train_ids, self.samples.val_ids, config,
                                               **metrics))


def _resume(run: _Run, resume: bool) -> tuple[int, dict | None]:
    """The epoch to start from and the state of ``last.pt`` (weights, best score and RNG restored from it)."""
    if not (resume and (run.out / "last.pt").exists()):
        return 0, None
    state = torch.load(run.out / "last.pt", map_location="cpu", weights_only=True)
    run.setup.network.load_state_dict(state["model"])
    run.best = float(state["best"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"]), state


def _train_steps(run: _Run, optimizer, scheduler, batches: Iterator, on_step) -> tuple[list[float], list[float]]:
    """One epoch's optimiser steps (each over ``accumulate`` micro-batches); returns the loss and the gradient
    norm (before clipping) of each step."""
    setup, config, dist = run.setup, run.config, run.dist
    losses, norms = [], []
    for _ in range(setup.steps_per_epoch):
        optimizer.zero_grad(set_to_none=True)
        loss = 0.0
        for micro in range(config.accumulate):
            images, labels = next(batches)
            images = images.to(dist.device, non_blocking=True)
            labels = labels.to(dist.device, non_blocking=True)
            if setup.channels_last:
                images = images.contiguous(memory_format=torch.channels_last_3d)
            # DDP all-reduces on the last micro-batch's backward only
            last = micro == config.accumulate - 1
            with (contextlib.nullcontext() if last or dist.world == 1 else setup.model.no_sync()):
                with torch.autocast(**setup.autocast):
                    logits = setup.model(images)
                part = setup.loss_fn(logits.float(), labels) / config.accumulate  # the loss in float32
                setup.scaler.scale(part).backward()
            loss += float(part.detach())
        # the true gradients' norm (not the float16-scaled ones), clipped when asked; the log's grad_norm column
        # shows a run heading for a collapse before its loss does
        setup.scaler.unscale_(optimizer)
        norms.append(float(nn.utils.clip_grad_norm_(setup.model.parameters(), config.clip_grad_norm or math.inf)))
        setup.scaler.step(optimizer)
        setup.scaler.update()
        scheduler.step()
        losses.append(loss)
        on_step(loss)
    return losses, norms


def _record_epoch(run: _Run, epoch: int, stage: tuple[str, StageConfig, int], row: dict, started: float,
                  end_epoch: int, stopped: dict, writer, optimizer, scheduler) -> None:
    """Rank 0 at the end of an epoch: snapshot at a cycle's end, validation (and best.pt), log row, last.pt."""
    name, config, first = stage
    if (epoch + 1 - first) % config.cycle_epochs == 0 or epoch + 1 == first + config.epochs:
        run.save(run.out / f"snapshot-{epoch + 1:04d}.pt", name, epoch=epoch + 1)
    if run.samples.val and ((epoch + 1) % run.config.val_every == 0 or epoch + 1 == end_epoch):
        figures = _validate(run.setup.network, run.samples.val, run.config, run.dist, name)
        score = figures["dice"]
        row.update({f"val_{key}": f"{value:.4f}" for key, value in figures.items()})
        if score > run.best:
            run.best = score
            run.save(run.out / "best.pt", name, epoch=epoch + 1, val_dice=score, **stopped)
        if writer is not None:
            for key, value in figures.items():
                writer.add_scalar(f"val/{key}", value, epoch + 1)
    row["seconds"] = f"{time.time() - started:.1f}"
    _append_log(run.out / "log.csv", row)
    if writer is not None:
        writer.add_scalar("train/loss", float(row["loss"]), epoch + 1)
        writer.add_scalar("train/grad_norm", float(row["grad_norm"]), epoch + 1)
        writer.add_scalar("train/lr", optimizer.param_groups[0]["lr"], epoch + 1)
    _save_state(run.out / "last.pt", run.setup.model, optimizer, scheduler, epoch + 1, name, run.best)


def _finish(run: _Run, end_epoch: int, end_stage: str, stopped: dict) -> Path:
    """The last checkpoints (final.pt; best.pt when no validation chose one) and, after a time limit, the note."""
    if run.dist.main:
        if stopped:
            # a log record, not a print: the library does not write to the terminal; unconfigured, Python's
            # last-resort handler shows it on stderr as before, and an application can route or silence it
            _log.warning("lesionkit train: the time limit of %g s ran out in epoch %d of %d (%g s): stopped there",
                         run.config.time_limit_s, end_epoch, run.total_epochs, stopped["elapsed_s"])
        run.save(run.out / "final.pt", end_stage, epoch=end_epoch, **stopped)
        if not (run.out / "best.pt").exists():  # no validation split: the final weights are the best we know
            run.save(run.out / "best.pt", end_stage, epoch=end_epoch, **stopped)
    if run.dist.world > 1:
        torch.distributed.barrier()
    return run.out / "best.pt"


def _bar_step(bar, description: str):  # noqa: ANN202
    """What each step tells the progress bar (if any): one step more, and its loss."""
    if bar is None:
        return lambda loss: None
    return lambda loss: bar[0].update(bar[1], advance=1, description=description.format(loss))


def _run(
    config: TrainConfig, data: PathLike, out: Path, dist: _Dist, workers: _Batches, clock: float, *, resume: bool,
    progress: bool, init: PathLike | None,
) -> Path:
    samples = _load_data(config, data, dist, workers)
    setup = _set_up(config, dist, init, len(samples.train))
    run = _Run(config, data, out, dist, samples, setup, _stages(config))
    total_epochs, steps_per_epoch = run.total_epochs, setup.steps_per_epoch
    start, state = _resume(run, resume)
    if dist.main:
        write_text(out / "config.json", json.dumps(config.to_dict(), indent=2) + "\n")

    bar = _progress(progress and dist.main, total_epochs * steps_per_epoch, start * steps_per_epoch)
    writer = _tensorboard(out) if config.tensorboard and dist.main else None
    optimizer = scheduler = current = None
    end_epoch, end_stage, stopped = total_epochs, run.stages[-1][0], {}
    for epoch in range(start, total_epochs):
        name, stage, first = _stage_at(run.stages, epoch)
        if name != current:
            optimizer, scheduler = _optimizer(setup.model, stage, steps_per_epoch)
            if state is not None and state["stage"] == name:
                optimizer.load_state_dict(state["optimizer"])
                scheduler.load_state_dict(state["scheduler"])
            current = name
        crop = round_up_crop(stage.crop, setup.divisor)
        started = time.time()
        setup.model.train()
        keys = [(epoch * steps_per_epoch + i, dist.rank * config.accumulate + micro)
                for i in range(steps_per_epoch) for micro in range(config.accumulate)]
        batches = workers.iterate(partial(_batch, samples.train, stage, crop, config), keys)
        losses, norms = _train_steps(run, optimizer, scheduler, batches,
                                     _bar_step(bar, f"{name} epoch {epoch + 1}/{total_epochs} loss {{:.3f}}"))
        if _time_is_up(config, clock, dist):
            end_epoch, end_stage = epoch + 1, name
            stopped = {"stopped_on_time": True, "time_limit_s": config.time_limit_s,
                       "elapsed_s": round(time.monotonic() - clock, 3), "planned_epochs": total_epochs}
        row = {"epoch": epoch + 1, "stage": name, "step": (epoch + 1) * steps_per_epoch,
               "lr": f"{optimizer.param_groups[0]['lr']:.3g}", "loss": f"{np.mean(losses):.4f}",
               "grad_norm": f"{max(norms):.3g}", "val_dice": "",
               "note": f"time limit {config.time_limit_s:g} s reached: stopped" if stopped else ""}
        if dist.main:
            _record_epoch(run, epoch, (name, stage, first), row, started, end_epoch, stopped, writer, optimizer,
                          scheduler)
        if stopped:
            break
    if bar is not None:
        bar[0].stop()
    if writer is not None:
        writer.close()
    return _finish(run, end_epoch, end_stage, stopped)


def _progress(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    bar.start()
    return bar, bar.add_task("training", total=total, completed=done)


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # TensorBoard is optional
        return None
    return SummaryWriter(str(out / "tensorboard"))

"""Tomita et al.'s objective, an affine combination of binary cross-entropy and soft Dice (0.1·BCE + 0.9·Dice),
plus an optional lesion-wise term (blob loss) that makes every connected lesion count alike."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from monai.losses import DiceLoss
from torch import nn

from lesionkit.core import label_components

__all__ = ["BLOB_CROSS_ENTROPY_SHARE", "BCEDiceLoss", "blob_cross_entropy", "blob_dice_loss"]

BLOB_CROSS_ENTROPY_SHARE = 0.06
"""The blob loss is ``blob_dice_loss + 0.06 · blob_cross_entropy``. The cross-entropy is what raises lacunes a Dice-
trained network is confidently wrong about; it pulls only lesion voxels, so at an equal share it flooded the brain
(a third of it above 0.5 after 1,000 steps, session 8). At 0.06 (0.03 next to the global loss) three small-lesion
subjects were fitted within 30 steps with a few hundred false voxels per batch, fewer than at 0.2."""


class BCEDiceLoss(nn.Module):
    """``bce_weight · BCE(logits, y) + dice_weight · (1 − soft Dice(sigmoid(logits), y)) + blob_weight · blob loss``.

    The Dice term is computed over the whole batch (``batch=True``): crops without any lesion then add
    false-positive mass to the denominator instead of a per-crop Dice of 0 or 1 that jumps with one voxel. The
    price is that a crop's large lesion outweighs its lacunes; ``blob_weight`` > 0 adds the blob loss
    (:func:`blob_dice_loss` + :data:`BLOB_CROSS_ENTROPY_SHARE` · :func:`blob_cross_entropy`), in which each lesion
    weighs the same.
    """

    def __init__(self, bce_weight: float = 0.1, dice_weight: float = 0.9, blob_weight: float = 0.0) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight, self.blob_weight = bce_weight, dice_weight, blob_weight
        self.bce = nn.BCEWithLogitsLoss()
        self.dice = DiceLoss(sigmoid=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(logits.dtype)
        loss = self.bce_weight * self.bce(logits, target) + self.dice_weight * self.dice(logits, target)
        if self.blob_weight:
            dice, cross_entropy = _blob_terms(logits, target)
            loss = loss + self.blob_weight * (dice + BLOB_CROSS_ENTROPY_SHARE * cross_entropy)
        return loss


def _lesions(target: torch.Tensor, spatial: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(lesion number of every voxel, ``(N·V,)``, 0 = background; crop of each lesion) for flattened ``(N, V)``
    targets: the 6-connected components of voxels > 0, numbered 1, 2, … across the batch. None without lesions."""
    labels, crop_of_lesion = [], []
    for crop, values in enumerate(target.detach().cpu().numpy()):
        crop_labels, count = label_components(values.reshape(spatial) > 0)
        labels.append(np.where(crop_labels > 0, crop_labels.astype(np.int64) + len(crop_of_lesion), 0).ravel())
        crop_of_lesion.extend([crop] * count)
    if not crop_of_lesion:
        return None
    return (torch.from_numpy(np.stack(labels)).to(target.device).flatten(),
            torch.tensor(crop_of_lesion, device=target.device))


def _per_lesion(index: torch.Tensor, values: torch.Tensor, n_lesions: int) -> torch.Tensor:
    """Sums of ``values`` over each lesion's voxels (lesion 1 first; background dropped)."""
    sums = torch.zeros(n_lesions + 1, device=values.device, dtype=values.dtype)
    return sums.index_add(0, index, values.flatten())[1:]


def _mean_per_crop(per_lesion: torch.Tensor, crops: torch.Tensor, n_crops: int) -> torch.Tensor:
    """The mean over a crop's lesions, then over the crops that hold any."""
    total = torch.zeros(n_crops, device=per_lesion.device).index_add(0, crops, per_lesion)
    count = torch.bincount(crops, minlength=n_crops)
    return (total[count > 0] / count[count > 0]).mean()


def blob_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 0.1) -> torch.Tensor:
    """Blob loss (Kofler et al., IPMI 2023) with a soft Dice: for each connected lesion of the target (6-connected,
    voxels > 0), 1 − Dice between that lesion and the prediction with the other lesions of its crop masked out;
    averaged over the lesions of a crop, then over the crops that hold any. A missed 50 mm³ lacune costs as much as a
    missed 50 cm³ infarct, and false positives anywhere in the crop still lower every lesion's Dice.

    ``logits`` and ``target`` are ``(N, 1, X, Y, Z)``; the target may be soft (lesion fractions of coarse voxels).
    Zero (with a gradient path) when no crop holds a lesion. ``smooth`` is small (0.1, not the global Dice's 1):
    a missed lacune of one or two coarse voxels must still cost nearly a whole lesion.
    """
    return _blob_terms(logits, target, smooth)[0]


def blob_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The mean binary cross-entropy of each lesion's own voxels, averaged like :func:`blob_dice_loss`.

    The Dice terms reach a voxel through the sigmoid's slope, which vanishes where a network is confidently wrong:
    the shipped model put logits near −19 on the lacunes it misses (slope 6·10⁻⁹), so no Dice term could raise
    them, and the global cross-entropy spreads its pull over every voxel of the batch. Here each lesion's voxels pull
    their logits up with a slope of 1 − p, whatever the lesion's size; the Dice terms and the global loss keep the
    borders and the background in check, provided its share is small (:data:`BLOB_CROSS_ENTROPY_SHARE`).
    """
    return _blob_terms(logits, target)[1]


def _blob_terms(logits: torch.Tensor, target: torch.Tensor, smooth: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """(:func:`blob_dice_loss`, :func:`blob_cross_entropy`) from one labelling of the target's lesions (the
    labelling runs on the CPU every training step: once is enough)."""
    found = _lesions(target.float().flatten(1), tuple(logits.shape[2:]))
    if found is None:
        zero = logits.sum() * 0.0
        return zero, zero
    index, crops = found
    n, n_crops = len(crops), target.shape[0]
    logits, target = logits.float().flatten(1), target.float().flatten(1)  # (N, V)
    probability = torch.sigmoid(logits)
    overlap, predicted = _per_lesion(index, probability * target, n), _per_lesion(index, probability, n)
    true = _per_lesion(index, target, n)
    # The prediction with the crop's other lesions masked out: the crop's probability off every lesion, plus
    # what lies on this one.
    off_lesions = (probability * (target.detach() <= 0)).sum(1)
    dice = (2 * overlap + smooth) / (off_lesions[crops] + predicted + true + smooth)
    entropy = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    voxels = _per_lesion(index, torch.ones_like(target), n)
    return (_mean_per_crop(1 - dice, crops, n_crops),
            _mean_per_crop(_per_lesion(index, entropy, n) / voxels, crops, n_crops))

"""Tomita et al.'s objective, an affine combination of binary cross-entropy and soft Dice (0.1·BCE + 0.9·Dice),
plus an optional lesion-wise term (blob loss) that makes every connected lesion count alike."""

from __future__ import annotations

import numpy as np
import torch
from monai.losses import DiceLoss
from torch import nn

from lesionkit.core import label_components

__all__ = ["BCEDiceLoss", "blob_dice_loss"]


class BCEDiceLoss(nn.Module):
    """``bce_weight · BCE(logits, y) + dice_weight · (1 − soft Dice(sigmoid(logits), y)) + blob_weight · blob loss``.

    The Dice term is computed over the whole batch (``batch=True``): crops without any lesion then add
    false-positive mass to the denominator instead of a per-crop Dice of 0 or 1 that jumps with one voxel. The
    price is that a crop's large lesion outweighs its lacunes; ``blob_weight`` > 0 adds :func:`blob_dice_loss`,
    in which each lesion weighs the same.
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
            loss = loss + self.blob_weight * blob_dice_loss(logits, target)
        return loss


def blob_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 0.1) -> torch.Tensor:
    """Blob loss (Kofler et al., IPMI 2023) with a soft Dice: for each connected lesion of the target (6-connected,
    voxels > 0), 1 − Dice between that lesion and the prediction with the other lesions of its crop masked out;
    averaged over the lesions of a crop, then over the crops that hold any. A missed 50 mm³ lacune costs as much as a
    missed 50 cm³ infarct, and false positives anywhere in the crop still lower every lesion's Dice.

    ``logits`` and ``target`` are ``(N, 1, X, Y, Z)``; the target may be soft (lesion fractions of coarse voxels).
    Zero (with a gradient path) when no crop holds a lesion. ``smooth`` is small (0.1, not the global Dice's 1):
    a missed lacune of one or two coarse voxels must still cost nearly a whole lesion.
    """
    probability = torch.sigmoid(logits.float()).flatten(1)  # (N, V)
    target = target.float().flatten(1)
    labels, crop_of_lesion = [], []
    for crop, values in enumerate(target.detach().cpu().numpy()):
        crop_labels, count = label_components(values.reshape(logits.shape[2:]) > 0)
        # one number per lesion across the batch (1, 2, …); 0 stays background
        labels.append(np.where(crop_labels > 0, crop_labels.astype(np.int64) + len(crop_of_lesion), 0).ravel())
        crop_of_lesion.extend([crop] * count)
    if not crop_of_lesion:
        return logits.sum() * 0.0
    index = torch.from_numpy(np.stack(labels)).to(logits.device).flatten()
    crops = torch.tensor(crop_of_lesion, device=logits.device)
    n = len(crop_of_lesion) + 1

    def per_lesion(values: torch.Tensor) -> torch.Tensor:  # sums over each lesion's voxels (row 0: background)
        return torch.zeros(n, device=values.device, dtype=values.dtype).index_add(0, index, values.flatten())[1:]

    overlap, predicted, true = per_lesion(probability * target), per_lesion(probability), per_lesion(target)
    # The prediction with the crop's other lesions masked out: the crop's probability off every lesion, plus
    # what lies on this one.
    off_lesions = (probability * (target.detach() <= 0)).sum(1)
    masked = off_lesions[crops] + predicted
    dice = (2 * overlap + smooth) / (masked + true + smooth)
    per_crop = torch.zeros(target.shape[0], device=logits.device).index_add(0, crops, 1 - dice)
    lesions_per_crop = torch.bincount(crops, minlength=target.shape[0])
    has = lesions_per_crop > 0
    return (per_crop[has] / lesions_per_crop[has]).mean()

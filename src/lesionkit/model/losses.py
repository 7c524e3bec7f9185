"""Tomita et al.'s objective: an affine combination of binary cross-entropy and soft Dice (0.1·BCE + 0.9·Dice)."""

from __future__ import annotations

import torch
from monai.losses import DiceLoss
from torch import nn

__all__ = ["BCEDiceLoss"]


class BCEDiceLoss(nn.Module):
    """``bce_weight · BCE(logits, y) + dice_weight · (1 − soft Dice(sigmoid(logits), y))``.

    The Dice term is computed over the whole batch (``batch=True``): crops without any lesion then add
    false-positive mass to the denominator instead of a per-crop Dice of 0 or 1 that jumps with one voxel.
    """

    def __init__(self, bce_weight: float = 0.1, dice_weight: float = 0.9) -> None:
        super().__init__()
        self.bce_weight, self.dice_weight = bce_weight, dice_weight
        self.bce = nn.BCEWithLogitsLoss()
        self.dice = DiceLoss(sigmoid=True, batch=True, smooth_nr=1.0, smooth_dr=1.0)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        target = target.to(logits.dtype)
        return self.bce_weight * self.bce(logits, target) + self.dice_weight * self.dice(logits, target)

import torch

from lesionkit.model.losses import BCEDiceLoss


def test_confident_correct_prediction_has_small_loss_and_wrong_one_large():
    target = torch.zeros(1, 1, 8, 8, 8)
    target[..., 2:5, 2:5, 2:5] = 1
    good = (target * 2 - 1) * 20
    loss = BCEDiceLoss()
    assert loss(good, target) < 0.01
    assert loss(-good, target) > 0.9


def test_weights_combine_bce_and_dice():
    target = (torch.rand(1, 1, 6, 6, 6) > 0.7).float()
    logits = torch.randn(1, 1, 6, 6, 6)
    bce_only, dice_only = BCEDiceLoss(1.0, 0.0), BCEDiceLoss(0.0, 1.0)
    mixed = BCEDiceLoss(0.1, 0.9)(logits, target)
    assert torch.isclose(mixed, 0.1 * bce_only(logits, target) + 0.9 * dice_only(logits, target))

import pytest
import torch

from lesionkit.model.losses import BLOB_CROSS_ENTROPY_SHARE, BCEDiceLoss, blob_cross_entropy, blob_dice_loss


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


def _two_lesions() -> torch.Tensor:
    """A crop with one large lesion (4³ = 64 voxels) and one lacune (a single voxel), far apart."""
    target = torch.zeros(1, 1, 12, 12, 12)
    target[..., 1:5, 1:5, 1:5] = 1
    target[..., 9, 9, 9] = 1
    return target


def test_blob_loss_weighs_a_missed_lacune_like_a_missed_infarct():
    target = _two_lesions()
    finds_both = (target * 2 - 1) * 20
    misses_lacune = finds_both.clone()
    misses_lacune[..., 9, 9, 9] = -20
    # batch Dice barely notices the lacune (1 voxel of 65); the blob loss loses half of its credit
    assert BCEDiceLoss(0.0, 1.0)(misses_lacune, target) < 0.02
    assert blob_dice_loss(finds_both, target) < 0.01
    assert 0.4 < blob_dice_loss(misses_lacune, target) < 0.55


def test_blob_loss_masks_the_other_lesions_but_not_false_positives():
    target = _two_lesions()
    both = torch.where(target > 0, 20.0, -20.0)
    # the large lesion's 64 predicted voxels are not false positives for the lacune (unmasked, its Dice would be
    # 2/66): both lesions score ~1
    assert blob_dice_loss(both, target) < 0.01
    with_false_positive = both.clone()
    with_false_positive[..., 9, 1:4, 1:4] = 20  # 9 voxels off any lesion
    assert blob_dice_loss(with_false_positive, target) > blob_dice_loss(both, target) + 0.1
    large_missed = torch.where(target > 0, 20.0, -20.0)
    large_missed[..., 1:5, 1:5, 1:5] = -20
    lacune_missed = both.clone()
    lacune_missed[..., 9, 9, 9] = -20
    # either miss costs about half: one of two lesions
    assert abs(float(blob_dice_loss(large_missed, target)) - float(blob_dice_loss(lacune_missed, target))) < 0.05


def test_blob_loss_averages_per_crop_and_skips_crops_without_lesions():
    target = torch.cat([_two_lesions(), torch.zeros(1, 1, 12, 12, 12)])
    logits = torch.randn(2, 1, 12, 12, 12, generator=torch.Generator().manual_seed(0))
    assert torch.isclose(blob_dice_loss(logits, target), blob_dice_loss(logits[:1], target[:1]))
    empty = torch.zeros_like(target)
    logits.requires_grad_(True)
    zero = blob_dice_loss(logits, empty)
    zero.backward()
    assert float(zero.detach()) == 0.0 and logits.grad is not None


def test_blob_loss_has_gradients_and_joins_the_loss_by_weight():
    target = _two_lesions()
    logits = torch.randn(1, 1, 12, 12, 12, generator=torch.Generator().manual_seed(1), requires_grad=True)
    combined = BCEDiceLoss(0.1, 0.9, 0.5)(logits, target)
    blob = blob_dice_loss(logits, target) + BLOB_CROSS_ENTROPY_SHARE * blob_cross_entropy(logits, target)
    assert torch.isclose(combined, BCEDiceLoss()(logits, target) + 0.5 * blob)
    combined.backward()
    assert logits.grad is not None and float(logits.grad[..., 9, 9, 9]) < 0  # raise the lacune's logit


def test_blob_cross_entropy_pulls_a_confidently_missed_lacune_up_where_dice_cannot():
    target = _two_lesions()
    logits = torch.where(target > 0, -20.0, -20.0).requires_grad_(True)  # everything confidently background
    blob_dice_loss(logits, target).backward()
    assert float(logits.grad[..., 9, 9, 9]) > -1e-6  # the sigmoid's slope at -20: no pull at all
    logits.grad = None
    blob_cross_entropy(logits, target).backward()
    # the lacune (1 voxel) and the large lesion (64 voxels) pull with the same total strength: half each
    assert float(logits.grad[..., 9, 9, 9]) == pytest.approx(-0.5, abs=1e-3)
    assert float(logits.grad[..., 1:5, 1:5, 1:5].sum()) == pytest.approx(-0.5, abs=1e-3)
    assert float(logits.grad[target == 0].abs().max()) == 0.0  # background is the other terms' business


def test_blob_cross_entropy_is_small_when_every_lesion_is_found():
    target = _two_lesions()
    assert blob_cross_entropy(torch.where(target > 0, 20.0, -20.0), target) < 1e-6
    assert float(blob_cross_entropy(torch.zeros_like(target), torch.zeros_like(target))) == 0.0

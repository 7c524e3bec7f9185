import pytest
import torch
import torch.nn.functional as F

from lesionkit.model.networks import NetworkConfig, ResUNet3D, build_network
from lesionkit.model.transfer import strided_config, strided_from_coarse


def _coarse(seed: int = 0) -> ResUNet3D:
    torch.manual_seed(seed)
    network = build_network(NetworkConfig(widths=[8, 16, 16], in_channels=3))
    with torch.no_grad():  # random GroupNorm affines and head bias too, so nothing matches by accident
        for name, value in network.named_parameters():
            if "body.0" in name or "body.3" in name or name.startswith("head.0"):
                value.add_(0.3 * torch.randn_like(value))
        network.head[2].bias.fill_(1.7)
    return network.eval()


def test_the_strided_twin_computes_the_coarse_networks_logits_on_block_averages():
    coarse = _coarse()
    fine = strided_from_coarse(coarse, strided_config(NetworkConfig(widths=[8, 16, 16], in_channels=3)),
                               noise=0.0).eval()
    x = torch.randn(1, 3, 32, 24, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = F.interpolate(coarse(F.avg_pool3d(x, 2)), scale_factor=2, mode="nearest")
        got = fine(x)
    assert got.shape == x.shape[:1] + (1,) + x.shape[2:]
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_noise_leaves_the_function_close_and_the_new_channels_trainable():
    coarse = _coarse()
    config = strided_config(NetworkConfig(widths=[8, 16, 16], in_channels=3))
    fine = strided_from_coarse(coarse, config, noise=1e-2, seed=3)
    x = torch.randn(1, 3, 16, 16, 16, generator=torch.Generator().manual_seed(2))
    expected = F.interpolate(coarse(F.avg_pool3d(x, 2)), scale_factor=2, mode="nearest").detach()
    out = fine(x)
    assert (out - expected).abs().max() < 0.05 * expected.abs().max()
    out.sum().backward()
    # the head's extra channels and its view of the raw 1 mm input get gradients: fine-tuning can use them
    assert fine.head[2].weight.grad[0, 2:].abs().sum() > 0
    assert fine.head[0].weight.grad[2:, -3:].abs().sum() > 0


def test_only_a_stride_1_resunet_has_a_strided_twin():
    with pytest.raises(ValueError, match="stride-1 resunet"):
        strided_config(NetworkConfig(stem_stride=2))
    with pytest.raises(ValueError, match="2 channels"):
        strided_from_coarse(_coarse(), strided_config(NetworkConfig(widths=[8, 16, 16], in_channels=3), 1))

import pytest
import torch

from lesionkit.model.networks import NetworkConfig, ResBlock, ResUNet3D, build_network


@pytest.mark.parametrize("stem_stride", [1, 2])
def test_resunet_returns_one_logit_per_voxel(stem_stride):
    net = ResUNet3D(widths=(8, 16, 32), stem_stride=stem_stride)
    x = torch.randn(2, 1, 16, 24, 32)
    y = net(x).detach()
    assert y.shape == (2, 1, 16, 24, 32)
    assert y.min() < 0  # logits, not probabilities
    # the head's bias starts at a 1 % lesion prior, so an untrained network predicts little lesion
    assert 0.002 < float(torch.sigmoid(y).mean()) < 0.05


def test_resunet_paper_widths_by_default():
    net = ResUNet3D()
    widths = [block[0].body[2].out_channels for block in net.encoder]
    assert widths == [32, 64, 128, 256]
    assert isinstance(net.up[0], torch.nn.ConvTranspose3d)


def test_resunet_refuses_indivisible_input():
    with pytest.raises(ValueError, match="divisible by 8"):
        ResUNet3D(widths=(8, 16, 32), stem_stride=2)(torch.zeros(1, 1, 12, 16, 16))


def test_resblock_projection_only_when_channels_change():
    assert isinstance(ResBlock(8, 8).skip, torch.nn.Identity)
    assert isinstance(ResBlock(8, 16).skip, torch.nn.Conv3d)


@pytest.mark.parametrize("name", ["dynunet", "segresnet"])
def test_monai_networks_selectable(name):
    net = build_network(NetworkConfig(name=name, widths=[8, 16, 32]))
    assert net(torch.randn(1, 1, 16, 16, 16)).shape == (1, 1, 16, 16, 16)


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="unknown network"):
        build_network({"name": "vnet"})

"""Start a full-resolution model from a half-resolution one without losing what it learned.

A ResU-Net trained on 2 mm voxels (the inputs block-averaged from the 1 mm grid) becomes a 1 mm network with a
strided stem (``stem_stride=2``, ``stem_kernel=6``) that computes the same function: the 6×6×6, stride-2 stem is
the 3×3×3 kernel spread over 2×2×2 blocks (a convolution of the block average, exactly), the U-Net body is copied,
and the full-resolution head is set to repeat the 2 mm logit over each 2×2×2 block (``relu(l) − relu(−l) = l``
through two of its channels). The other head channels, and the head's view of the raw 1 mm input, start near zero
(``noise``) so that fine-tuning at 1 mm can grow them: the network starts where the 2 mm model is, lesions it
already finds included, and learns the 1 mm detail (lacunes, borders) from there.
"""

from __future__ import annotations

import torch
from torch import nn

from lesionkit.model.networks import NetworkConfig, ResUNet3D, build_network

__all__ = ["STRIDED_STEM_KERNEL", "strided_config", "strided_from_coarse"]

STRIDED_STEM_KERNEL = 6


def strided_config(coarse: NetworkConfig | dict, stem_channels: int = 8) -> NetworkConfig:
    """The full-resolution twin of a stride-1 ResU-Net's configuration."""
    coarse = NetworkConfig(**coarse) if isinstance(coarse, dict) else coarse
    if coarse.name != "resunet" or coarse.stem_stride != 1:
        raise ValueError(f"only a stride-1 resunet can be refined to full resolution, not {coarse.to_dict()}")
    return NetworkConfig(name="resunet", widths=list(coarse.widths), blocks=coarse.blocks, stem_stride=2,
                         stem_channels=stem_channels, in_channels=coarse.in_channels, stem_kernel=STRIDED_STEM_KERNEL)


@torch.no_grad()
def strided_from_coarse(coarse: ResUNet3D, config: NetworkConfig, *, noise: float = 1e-2, seed: int = 0) -> ResUNet3D:
    """A network of ``config`` (:func:`strided_config`) that on a 1 mm input computes ``coarse``'s logits on the
    2×2×2 block average of that input, each repeated over its block (up to ``noise``; 0 = exactly)."""
    if config.stem_channels < 2:
        raise ValueError("the full-resolution head needs at least 2 channels to carry a signed logit")
    fine = build_network(config)
    assert isinstance(fine, ResUNet3D)
    generator = torch.Generator().manual_seed(seed)
    fine_state = fine.state_dict()
    for name, value in coarse.state_dict().items():  # the body: same names, same shapes
        if name.startswith(("encoder.", "down.", "up.", "decoder.")):
            fine_state[name].copy_(value)
    fine.load_state_dict(fine_state)
    # stem: W6[2t + e] = W3[t] / 2 per axis (t = 0, 1, 2; e = 0, 1): the 3×3×3 kernel on block averages
    fine.stem.weight.copy_(coarse.stem.weight.repeat_interleave(2, 2).repeat_interleave(2, 3)
                           .repeat_interleave(2, 4) / 8)
    norm, _, conv = coarse.head  # GroupNorm → ReLU → 1×1×1 conv to one logit
    fine.up_full[0].load_state_dict(norm.state_dict())
    transposed: nn.ConvTranspose3d = fine.up_full[2]
    first, last = fine.head[0], fine.head[2]
    for layer in (transposed, first, last):
        layer.weight.copy_(noise * torch.randn(layer.weight.shape, generator=generator))
        layer.bias.zero_()
    # transposed channel 0 = the logit l, channel 1 = −l at each of the 8 positions of the block
    transposed.weight[:, 0] = conv.weight[0, :, 0, 0, 0, None, None, None]
    transposed.weight[:, 1] = -conv.weight[0, :, 0, 0, 0, None, None, None]
    transposed.bias[0], transposed.bias[1] = conv.bias[0], -conv.bias[0]
    for channel in (0, 1):  # the first point-wise layer passes relu(l) and relu(−l) on ...
        first.weight[channel] = 0.0
        first.weight[channel, channel] = 1.0
    last.weight[0, :2] = torch.tensor([1.0, -1.0])[:, None, None, None]  # ... and the last takes their difference
    last.bias[0] = 0.0
    return fine

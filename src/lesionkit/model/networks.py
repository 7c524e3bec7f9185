"""Tomita et al. (2020) 3D residual U-Net, plus a strided-stem variant cheap enough for CPUs.

The paper's network (NeuroImage: Clinical 27, 102276, Fig. 1) stacks pre-activation residual blocks
(GroupNorm → ReLU → 3×3×3 conv, twice, plus an identity or 1×1×1 projection) over 4 resolution levels
(32→64→128→256 channels), down-samples with strided convolutions, up-samples with transposed
convolutions, and ends in a 1×1×1 head. The network returns logits; the sigmoid is applied outside
(in the loss and at inference) so that BCE-with-logits stays numerically stable.

``stem_stride=2`` runs the whole U-Net at half resolution behind a strided first convolution and
recovers full resolution with one transposed convolution and a thin full-resolution skip: on a
2-core CPU this is ~8× cheaper than the paper's widths at full resolution (see ``benchmarks/``).
With ``stem_kernel=6`` the strided stem can hold exactly a half-resolution network's first convolution
on 2×2×2-averaged input, which is how :mod:`lesionkit.model.transfer` starts a 1 mm model from a 2 mm one.
MONAI's ``DynUNet`` and ``SegResNet`` are available through :func:`build_network`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

__all__ = ["NetworkConfig", "ResBlock", "ResUNet3D", "build_network"]


def _norm(channels: int, groups: int) -> nn.GroupNorm:
    # GroupNorm (not BatchNorm) because 3-D batches hold 1-2 crops (Tomita et al., Fig. 1b).
    return nn.GroupNorm(min(groups, channels), channels)


class ResBlock(nn.Module):
    """Pre-activation residual block: ``x + conv(relu(gn(conv(relu(gn(x))))))``."""

    def __init__(self, in_channels: int, out_channels: int, groups: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(in_channels, groups),
            nn.ReLU(inplace=True),
            nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),
            _norm(out_channels, groups),
            nn.ReLU(inplace=True),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
        )
        self.skip = (
            nn.Identity() if in_channels == out_channels else nn.Conv3d(in_channels, out_channels, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class ResUNet3D(nn.Module):
    """Tomita's 3D ResU-Net; input ``(N, C, X, Y, Z)`` with sides divisible by ``stem_stride·2^(levels-1)``.

    Parameters
    ----------
    widths:
        Channels per resolution level (the paper: 32, 64, 128, 256).
    blocks:
        Residual blocks per encoder level (decoder levels get one).
    stem_stride:
        1 = the paper (first level at full resolution); 2 = strided stem for CPUs.
    stem_channels:
        Channels of the point-wise full-resolution head used when ``stem_stride == 2``.
    stem_kernel:
        Side of the first convolution's kernel (3; 6 with ``stem_stride=2`` spans the 3×3×3 kernel of a
        network working at twice the voxel size).
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256),
        blocks: int = 1,
        stem_stride: int = 1,
        stem_channels: int = 8,
        groups: int = 8,
        stem_kernel: int = 3,
    ) -> None:
        super().__init__()
        widths = list(widths)
        if stem_stride not in (1, 2):
            raise ValueError(f"stem_stride must be 1 or 2, got {stem_stride}")
        if stem_kernel < 1 or (stem_stride == 1 and stem_kernel % 2 == 0):
            raise ValueError(f"stem_kernel must be ≥ 1 (odd without a strided stem), got {stem_kernel}")
        self.stem_stride = stem_stride
        self.divisor = stem_stride * 2 ** (len(widths) - 1)
        # (k − 1) // 2 keeps sides at n / stem_stride for 3 (padding 1) and for 6 (padding 2)
        self.stem = nn.Conv3d(in_channels, widths[0], stem_kernel, stride=stem_stride, padding=(stem_kernel - 1) // 2,
                              bias=False)
        self.encoder = nn.ModuleList()
        self.down = nn.ModuleList()
        for level, width in enumerate(widths):
            self.encoder.append(nn.Sequential(*[ResBlock(width, width, groups) for _ in range(blocks)]))
            if level + 1 < len(widths):
                self.down.append(nn.Conv3d(width, widths[level + 1], 3, stride=2, padding=1, bias=False))
        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in range(len(widths) - 1, 0, -1):
            self.up.append(nn.ConvTranspose3d(widths[level], widths[level - 1], 2, stride=2, bias=False))
            self.decoder.append(ResBlock(2 * widths[level - 1], widths[level - 1], groups))
        if stem_stride == 1:
            self.head = nn.Sequential(
                _norm(widths[0], groups), nn.ReLU(inplace=True), nn.Conv3d(widths[0], out_channels, 1)
            )
        else:
            # Full resolution is recovered by a transposed convolution whose output is combined, voxel by
            # voxel (1×1×1 convolutions), with the raw input: full-resolution 3×3×3 convolutions with few
            # channels are the slowest part of CPU back-propagation, point-wise ones are cheap.
            self.up_full = nn.Sequential(
                _norm(widths[0], groups),
                nn.ReLU(inplace=True),
                nn.ConvTranspose3d(widths[0], stem_channels, 2, stride=2),
            )
            self.head = nn.Sequential(
                nn.Conv3d(stem_channels + in_channels, stem_channels, 1),
                nn.ReLU(inplace=True),
                nn.Conv3d(stem_channels, out_channels, 1),
            )

        # Start every voxel at a 1 % lesion probability instead of 50 % (Lin et al. 2017, focal loss): with a zero
        # bias the first hundreds of steps are spent unlearning a prediction of lesion everywhere.
        nn.init.constant_(self.head[-1].bias, -math.log(99.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(s % self.divisor for s in x.shape[2:]):
            raise ValueError(f"input sides {tuple(x.shape[2:])} must be divisible by {self.divisor}")
        h = self.stem(x)
        skips = []
        for level, block in enumerate(self.encoder):
            h = block(h)
            if level < len(self.down):
                skips.append(h)
                h = self.down[level](h)
        for up, block in zip(self.up, self.decoder, strict=True):
            h = block(torch.cat([up(h), skips.pop()], dim=1))
        if self.stem_stride == 2:
            h = torch.cat([self.up_full(h), x], dim=1)
        return self.head(h)


@dataclass
class NetworkConfig:
    """Architecture description stored in every checkpoint (so a checkpoint rebuilds its own network)."""

    name: str = "resunet"
    """``resunet`` (Tomita), ``dynunet`` or ``segresnet`` (MONAI)."""
    widths: list[int] = field(default_factory=lambda: [32, 64, 128, 256])
    blocks: int = 1
    stem_stride: int = 1
    stem_channels: int = 8
    in_channels: int = 1
    stem_kernel: int = 3

    def to_dict(self) -> dict:
        return asdict(self)


def build_network(config: NetworkConfig | dict) -> nn.Module:
    """Instantiate the network a :class:`NetworkConfig` (or its dict) describes; one logit channel out."""
    if isinstance(config, dict):
        config = NetworkConfig(**config)
    if config.name == "resunet":
        return ResUNet3D(config.in_channels, 1, config.widths, config.blocks, config.stem_stride, config.stem_channels,
                         stem_kernel=config.stem_kernel)
    if config.name == "dynunet":
        from monai.networks.nets import DynUNet

        levels = len(config.widths)
        strides = [config.stem_stride] + [2] * (levels - 1)
        return DynUNet(3, config.in_channels, 1, [3] * levels, strides, strides[1:], filters=config.widths,
                       norm_name=("group", {"num_groups": 8}), res_block=True)
    if config.name == "segresnet":
        from monai.networks.nets import SegResNet

        levels = len(config.widths)
        return SegResNet(3, init_filters=config.widths[0], in_channels=config.in_channels, out_channels=1,
                         blocks_down=[1, 2, 2, 4][:levels], blocks_up=[1] * (levels - 1))
    raise ValueError(f"unknown network {config.name!r} (resunet, dynunet, segresnet)")

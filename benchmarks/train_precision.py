"""Training-step time of the default ResU-Net (8→64, three input channels) under bfloat16 autocast on the CPU,
against the float32 step the trainer otherwise takes (channels-last layout), in the same run.

One optimiser step = forward, BCE loss in float32, backward and Adam on two 48³ crops, one thread; the median of
``--steps`` steps after one warm-up step. Prints one JSON line; ``ratio`` = float32 / bfloat16 (above 1: bfloat16
is faster). On CPUs without AVX512-BF16/AMX bfloat16 is emulated and the ratio falls below 1.

    python benchmarks/train_precision.py [--steps 8] [--widths 8 16 32 64]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from lesionkit.model.networks import NetworkConfig, build_network


def step_seconds(widths: list[int], bf16: bool, steps: int) -> float:
    torch.manual_seed(0)
    network = build_network(NetworkConfig(in_channels=3, widths=widths))
    x = torch.randn(2, 3, 48, 48, 48)
    y = (torch.rand(2, 1, 48, 48, 48) > 0.9).float()
    if not bf16:  # what the trainer does in float32 on the CPU
        network = network.to(memory_format=torch.channels_last_3d)
        x = x.contiguous(memory_format=torch.channels_last_3d)
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = network(x)
        torch.nn.functional.binary_cross_entropy_with_logits(logits.float(), y).backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32, 64])
    args = parser.parse_args()
    torch.set_num_threads(1)
    float32 = step_seconds(args.widths, False, args.steps)
    bfloat16 = step_seconds(args.widths, True, args.steps)
    print(json.dumps({"benchmark": "train_precision", "widths": args.widths, "crops": "2x48^3", "threads": 1,
                      "float32_s": round(float32, 3), "bfloat16_s": round(bfloat16, 3),
                      "ratio": round(float32 / bfloat16, 2),
                      "cpu_capability": torch.backends.cpu.get_cpu_capability()}))


if __name__ == "__main__":
    main()

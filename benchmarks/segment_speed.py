"""Speed and peak memory of ``lesionkit.model.segment`` on one ATLAS-sized volume (197×233×189).

Each measurement runs in its own subprocess (so ``ru_maxrss`` is that run's peak) with 2 PyTorch
threads; the whole-volume run is timed after one warm-up run. The peer, measured in the same run, is one
forward pass of the paper's ResU-Net (widths 32→256, full resolution) on a single 128³ window, the
paper's training crop. Prints one JSON line; ``ratio`` = default model's whole-volume seconds / paper
network's one-window seconds.

    python benchmarks/segment_speed.py [--model CHECKPOINT] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_DEFAULT = """
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads({threads})
from lesionkit.io import load_template
from lesionkit.model import load_model, segment
model = load_model({model!r})
image = load_template("t1")
image = type(image)(np.asarray(image.dataobj, dtype=np.float32) * 1000.0, image.affine)
segment(model, image)  # warm-up (oneDNN primitive creation, template channel cache)
start = time.perf_counter()
probability = segment(model, image)
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb, "shape": list(probability.shape),
                  "roi_size": list(model.roi_size), "parameters": sum(p.numel() for p in model.parameters())}}))
"""

_PEER = """
import json, resource, time
import torch
torch.set_num_threads({threads})
from lesionkit.model import ResUNet3D
net = ResUNet3D(widths=(32, 64, 128, 256), stem_stride=1).eval()
x = torch.randn(1, 1, *{roi})
with torch.no_grad():
    net(x[..., :32, :32, :32])
    start = time.perf_counter()
    net(x)
    seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


PEER_WINDOW = (128, 128, 128)


def _run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    ours = _run(_DEFAULT.format(threads=args.threads, model=args.model))
    peer = _run(_PEER.format(threads=args.threads, roi=PEER_WINDOW))
    print(json.dumps({
        "benchmark": "segment_speed",
        "volume": ours["shape"],
        "threads": args.threads,
        "seconds": round(ours["seconds"], 2),
        "peak_mb": round(ours["peak_mb"]),
        "parameters": ours["parameters"],
        "roi_size": ours["roi_size"],
        "peer": f"paper ResU-Net 32-256, one {'x'.join(map(str, PEER_WINDOW))} window forward",
        "peer_seconds": round(peer["seconds"], 2),
        "peer_peak_mb": round(peer["peak_mb"]),
        "ratio": round(ours["seconds"] / peer["seconds"], 3),
    }))


if __name__ == "__main__":
    main()

"""Speed and peak memory of ``lesionkit.model.segment`` against a MONAI whole-volume peer doing the same job.

The job, for every contestant: one 197×233×189 T1w on the ATLAS grid (the MNI template ×1000) in, a lesion
probability map on that same 1 mm grid out, every voxel covered by MONAI's ``sliding_window_inference``
(overlap 0.25, Gaussian blending, one window per batch), intensity normalisation included. Each contestant
runs in its own subprocess (so ``ru_maxrss`` is its own peak) with the same PyTorch thread count, runs the
whole job once untimed (warm-up: oneDNN primitives, caches), then once timed.

* lesionkit: the shipped default model (or ``--model``): its normalisation and input channels, 2 mm blocks,
  its 64×80×64 windows, trilinear up-sampling back to 1 mm.
* ``monai_unet_1mm`` (the peer): ``monai.networks.nets.UNet(spatial_dims=3, channels=(16, 32, 64, 128, 256),
  strides=(2, 2, 2, 2), num_res_units=2)``, the 3-D U-Net of MONAI's segmentation tutorials (4.8 M
  parameters, batch norm), on the data's own 1 mm grid with 96³ windows (the tutorials' crop), after
  ``NormalizeIntensity(nonzero=True)``. It is what a skilled MONAI user trains on ATLAS first: ATLAS
  ships at 1 mm and nothing in MONAI suggests working coarser. Its weights are random (seeded): time and
  memory do not depend on them.
* ``monai_unet_2mm``: the same network on lesionkit's own working grid (2×2×2 mm block means, lesionkit's
  64×80×64 windows, trilinear up-sampling), so the ratio to it isolates the network's cost.

Prints ONE JSON line: seconds and peak MB of each, parameters, and ``ratio`` = lesionkit seconds / peer
seconds (below 1: lesionkit is faster), also per peer.

    python benchmarks/segment_speed.py [--model CHECKPOINT] [--threads 2] [--repeats 1] [--peer-roi 96] [--skip-2mm]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_IMAGE = """
import json, resource, time
import numpy as np, torch
torch.set_num_threads({threads})
torch.manual_seed(0)
from lesionkit.io import load_template
image = load_template("t1")
image = type(image)(np.asarray(image.dataobj, dtype=np.float32) * 1000.0, image.affine)

def report(job, **facts):
    job()  # warm-up: the same whole-volume job, untimed
    times = []
    for _ in range({repeats}):
        start = time.perf_counter()
        shape = job()
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({{"seconds": seconds, "peak_mb": peak_mb, "shape": list(shape), **facts}}))
"""

_LESIONKIT = _IMAGE + """
from lesionkit.model import load_model, segment
model = load_model({model!r})
report(lambda: segment(model, image).shape, roi_size=list(model.roi_size), spacing=list(model.spacing),
       parameters=sum(p.numel() for p in model.parameters()))
"""

_MONAI = _IMAGE + """
import torch.nn.functional as F
from monai.inferers import sliding_window_inference
from monai.networks.nets import UNet
from monai.transforms import NormalizeIntensity
net = UNet(spatial_dims=3, in_channels=1, out_channels=1, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2),
           num_res_units=2).eval()
block, roi = {block}, {roi}
normalize = NormalizeIntensity(nonzero=True)

@torch.no_grad()
def job():
    x = torch.from_numpy(np.asarray(image.dataobj, dtype=np.float32))[None, None]
    shape = x.shape[2:]
    if block > 1:  # block means, as lesionkit pools (ceil: the last block is padded by edge values)
        pad = [p for s in reversed(shape) for p in (0, -s % block)]
        x = F.avg_pool3d(F.pad(x, pad, mode="replicate"), block)
    x = normalize(x[0])[None]
    probability = torch.sigmoid(sliding_window_inference(x, roi, sw_batch_size=1, predictor=net, overlap=0.25,
                                                         mode="gaussian"))
    if block > 1:
        probability = F.interpolate(probability, scale_factor=block, mode="trilinear")[..., :shape[0], :shape[1],
                                                                                          :shape[2]]
    return probability.shape[2:]

report(job, roi_size=list(roi), spacing=[float(block)] * 3, parameters=sum(p.numel() for p in net.parameters()))
"""


def _run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _round(run: dict) -> dict:
    return {"seconds": round(run["seconds"], 2), "peak_mb": round(run["peak_mb"]), "parameters": run["parameters"],
            "spacing_mm": run["spacing"], "roi_size": run["roi_size"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="checkpoint (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per contestant (median)")
    parser.add_argument("--peer-roi", type=int, default=96, help="the 1 mm peer's cubic window (voxels)")
    parser.add_argument("--skip-2mm", action="store_true", help="leave out the 2 mm MONAI run")
    args = parser.parse_args(argv)
    common = {"threads": args.threads, "repeats": args.repeats}
    ours = _run(_LESIONKIT.format(model=args.model, **common))
    peers = {"monai_unet_1mm": _run(_MONAI.format(block=1, roi=(args.peer_roi,) * 3, **common))}
    if not args.skip_2mm:
        peers["monai_unet_2mm"] = _run(_MONAI.format(block=2, roi=tuple(ours["roi_size"]), **common))
    for run in peers.values():
        assert run["shape"] == ours["shape"], (run["shape"], ours["shape"])  # the same job: a 1 mm map
    print(json.dumps({
        "benchmark": "segment_speed",
        "volume": ours["shape"],
        "threads": args.threads,
        "repeats": args.repeats,
        "lesionkit": _round(ours),
        **{name: _round(run) for name, run in peers.items()},
        "peer": "monai_unet_1mm",
        "ratio": round(ours["seconds"] / peers["monai_unet_1mm"]["seconds"], 3),
        "ratio_per_peer": {name: round(ours["seconds"] / run["seconds"], 3) for name, run in peers.items()},
    }))


if __name__ == "__main__":
    main()

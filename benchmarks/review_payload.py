"""Size and speed of the review app's save payload against uploading the mask as a gzipped NIfTI.

Prints ONE JSON line. For each real lesion tracing on the 197×233×189 ATLAS grid (``--masks``, default the
155 tracings in ``../shared/data/real-lesion-masks``, relative to the repository root), the corrected mask
goes back to the server as:

* lesionkit: :func:`lesionkit.review.encode_drawing` — niivue's bitmap, one bit per voxel, gzip, base64, in a
  JSON body — then :meth:`ReviewFolder.save_drawing`'s decoding (:func:`decode_drawing` + :func:`from_niivue`);
* peer: the same mask as a uint8 ``.nii.gz`` (what niivue's own ``saveImage`` would upload), base64 in JSON,
  and nibabel reading it back.

It reports the median and largest body sizes, the median decode times (server side, one thread) and their
ratios peer / lesionkit, and checks that every decoded mask equals the original.

    python benchmarks/review_payload.py [--masks DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import statistics
import time
from pathlib import Path

import nibabel as nib
import numpy as np

DEFAULT = Path("../shared/data/real-lesion-masks")  # from the repository root, as the other benchmarks


def main() -> None:
    from lesionkit.review import decode_drawing, encode_drawing, from_niivue, niivue_order, to_niivue

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masks", type=Path, default=DEFAULT)
    parser.add_argument("--limit", type=int, default=0, help="only the first N masks (0: all)")
    args = parser.parse_args()
    paths = sorted(args.masks.rglob("*.nii.gz"))[: args.limit or None]
    if not paths:
        parser.error(f"no *.nii.gz masks under {args.masks}")
    ours, peer, t_ours, t_peer = [], [], [], []
    for path in paths:
        img = nib.load(path)
        mask = np.asanyarray(img.dataobj) != 0
        order = niivue_order(img.affine, mask.shape)
        body = json.dumps(encode_drawing(to_niivue(mask, img.affine), order))
        start = time.perf_counter()
        back = from_niivue(decode_drawing(json.loads(body), order), img.affine, mask.shape)
        t_ours.append(time.perf_counter() - start)
        assert np.array_equal(back, mask), path
        ours.append(len(body))
        nifti = gzip.compress(nib.Nifti1Image(mask.astype(np.uint8), img.affine).to_bytes(), compresslevel=6)
        other = json.dumps({"data": base64.b64encode(nifti).decode()})
        start = time.perf_counter()
        raw = gzip.decompress(base64.b64decode(json.loads(other)["data"]))
        again = np.asanyarray(nib.Nifti1Image.from_stream(io.BytesIO(raw)).dataobj) != 0
        t_peer.append(time.perf_counter() - start)
        assert np.array_equal(again, mask), path
        peer.append(len(other))
    print(json.dumps({
        "benchmark": "review_payload", "masks": len(paths), "grid": list(mask.shape),
        "lesionkit_body_bytes_median": int(statistics.median(ours)), "lesionkit_body_bytes_max": max(ours),
        "nifti_gz_body_bytes_median": int(statistics.median(peer)), "nifti_gz_body_bytes_max": max(peer),
        "size_ratio_peer_over_lesionkit": round(statistics.median(peer) / statistics.median(ours), 2),
        "lesionkit_decode_s_median": round(statistics.median(t_ours), 4),
        "nifti_gz_decode_s_median": round(statistics.median(t_peer), 4),
        "decode_ratio_peer_over_lesionkit": round(statistics.median(t_peer) / statistics.median(t_ours), 2),
        "exact": True,
    }))


if __name__ == "__main__":
    main()

"""False-positive lesion volume of ``lesionkit segment`` on a real healthy head (pycortex's ``S1``).

Fetches pycortex's source distribution into a cache folder once (``pip download --no-deps
pycortex==1.4.0 -d CACHE``; BSD-2; the product itself never downloads anything), reads
``filestore/db/S1/anatomicals/raw.nii.gz`` (a real whole-head T1w in native space) from the tarball, and
runs ``lesionkit segment`` on it as a native scan (N4, registration to MNI, segmentation, back to native).
Every predicted voxel is a false positive. The peer, in the same run and through the same command, is a
lesion-free synthetic native whole-head scan of lesionkit's own default generator (seed 1, 1 mm): the
figure the model is trained to get right. Prints one JSON line (mm³; ``ratio`` = S1 / peer, with 1 mm³
added to both so an empty peer does not divide by zero).

    python benchmarks/real_healthy.py [--cache ~/.cache/lesionkit-bench] [--model CHECKPOINT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

PYCORTEX = "pycortex==1.4.0"
S1_MEMBER = "filestore/db/S1/anatomicals/raw.nii.gz"


def fetch_s1(cache: Path) -> Path:
    """``CACHE/S1_raw.nii.gz``, extracted from pycortex's sdist (downloaded into CACHE if missing)."""
    target = cache / "S1_raw.nii.gz"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    sdists = sorted(cache.glob("pycortex-1.4.0.tar.gz"))
    if not sdists:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PYCORTEX,
                        "-d", str(cache)], check=True, capture_output=True)
        sdists = sorted(cache.glob("pycortex-1.4.0.tar.gz"))
    with tarfile.open(sdists[0]) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith(S1_MEMBER))
        data = archive.extractfile(member).read()  # type: ignore[union-attr]
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.rename(target)
    return target


def synthetic_peer(folder: Path) -> Path:
    """A lesion-free native whole-head scan of the default generator (seed 1, 1 mm)."""
    from lesionkit.io.nifti import save_nifti
    from lesionkit.synth import SynthOptions, generate_subject

    subject = generate_subject(1, 1.0, native=True, options=SynthOptions(lesion_free_share=1.0))
    path = folder / "sub-synth_T1w.nii.gz"
    save_nifti(np.clip(np.rint(subject.native["t1w"]), 0, 32767).astype(np.int16), path, subject.native["affine"])
    return path


def false_positive_mm3(t1w: Path, out: Path, model: str | None) -> float:
    """Run ``lesionkit segment`` on one native T1w; the predicted lesion volume (mm³)."""
    command = [sys.executable, "-m", "lesionkit.cli", "segment", str(t1w), "-o", str(out)]
    if model:
        command += ["--model", model]
    subprocess.run(command, check=True, capture_output=True, text=True)
    (mask_path,) = out.rglob("*desc-lesionkit_mask.nii.gz")
    img = nib.load(mask_path)
    voxel = float(abs(np.linalg.det(img.affine[:3, :3])))
    return float(np.count_nonzero(np.asanyarray(img.dataobj)) * voxel)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lesionkit-bench")
    parser.add_argument("--model", default=None, help="checkpoint (default: the shipped model)")
    args = parser.parse_args(argv)
    s1 = fetch_s1(args.cache)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        real = false_positive_mm3(s1, work / "s1", args.model)
        peer = false_positive_mm3(synthetic_peer(work), work / "synth", args.model)
    print(json.dumps({
        "benchmark": "real_healthy",
        "input": f"{PYCORTEX} {S1_MEMBER} (native whole head)",
        "false_positive_mm3": round(real, 1),
        "peer": "lesion-free synthetic native whole head, default generator seed 1",
        "peer_false_positive_mm3": round(peer, 1),
        "ratio": round((real + 1.0) / (peer + 1.0), 2),
    }))


if __name__ == "__main__":
    main()

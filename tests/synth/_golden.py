"""Golden synthetic cohorts compared by content, not by file bytes (issue 21).

gzip bytes encode one machine's floating-point bits and one zlib's choices; these summaries do not:

* masks and other integer label volumes: the voxel indices of every non-zero label, compared **exactly**;
* intensity volumes (float computations stored as int16): means and standard deviations over 8³ blocks,
  compared within :data:`BLOCK_ATOL` (another CPU path may round a handful of voxels the other way);
* NIfTI headers by their fields (shape, dtype, units, codes exactly; affine and zooms within 1e-6);
* JSON sidecars and TSV tables by their parsed fields (numbers within a relative 1e-6, text exactly).

Regenerate the fixture (only when the generator's output changes on purpose, and say so in the commit):
``PYTHONPATH=src python -m tests.synth._golden``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

__all__ = ["BLOCK", "BLOCK_ATOL", "GOLDEN", "assert_matches", "make", "summarise"]

GOLDEN = Path(__file__).with_name("golden")
BLOCK = 8
#: One voxel rounded the other way moves an 8³ block's mean by 1/512 ≈ 0.002; this admits ~25 such voxels per
#: block, far below what a real change does (another noise draw moves block means by ~0.5, a shifted lesion more).
BLOCK_ATOL = 0.05
NUMBER_RTOL, AFFINE_ATOL = 1e-6, 1e-6


def make(root: Path) -> None:
    """The cohorts the fixture describes (the classic preset, before the realistic options existed)."""
    from lesionkit.synth import generate_cohort
    from lesionkit.synth.options import CLASSIC

    generate_cohort(root / "mni", 2, seed=0, resolution=2, progress=False, options=CLASSIC)
    generate_cohort(root / "both", 1, seed=1, resolution=2, space="both", progress=False, options=CLASSIC)


def _blocks(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    padded = [math.ceil(n / BLOCK) * BLOCK for n in data.shape]
    values = np.full(padded, np.nan)
    values[tuple(slice(0, n) for n in data.shape)] = data
    shape = [n // BLOCK for n in padded]
    tiles = values.reshape(shape[0], BLOCK, shape[1], BLOCK, shape[2], BLOCK).transpose(0, 2, 4, 1, 3, 5)
    tiles = tiles.reshape(*shape, -1)
    return np.nanmean(tiles, axis=-1), np.nanstd(tiles, axis=-1)


def _nifti(path: Path, name: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    img = nib.load(path)
    header = img.header
    data = np.asanyarray(img.dataobj)
    label = "_mask" in name or "_dseg" in name
    if label:
        arrays[f"{name}:labels"] = np.flatnonzero(data).astype(np.int64)
        arrays[f"{name}:values"] = data.ravel()[arrays[f"{name}:labels"]]
    else:
        arrays[f"{name}:mean"], arrays[f"{name}:std"] = _blocks(data.astype(np.float64))
    return {"kind": "label" if label else "intensity", "shape": list(data.shape), "dtype": str(data.dtype),
            "affine": img.affine.tolist(), "zooms": [float(z) for z in header.get_zooms()],
            "xyzt_units": int(header["xyzt_units"]), "qform_code": int(header["qform_code"]),
            "sform_code": int(header["sform_code"])}


def summarise(root: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(fields of every file under ``root``, arrays of the volumes' voxel summaries), keyed by relative path."""
    fields: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        if name.endswith((".nii", ".nii.gz")):
            fields[name] = _nifti(path, name, arrays)
        elif name.endswith(".json"):
            fields[name] = json.loads(path.read_text(encoding="utf-8"))
        elif name.endswith(".tsv"):
            with path.open(encoding="utf-8", newline="") as handle:
                fields[name] = list(csv.DictReader(handle, delimiter="\t"))
        else:
            fields[name] = path.read_text(encoding="utf-8")
    return fields, arrays


def _float(value: Any) -> float | None:
    """A non-integer number (or a TSV cell holding one), else None: integers (seeds, counts) compare exactly."""
    if isinstance(value, float):
        return value
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _assert_close(got: Any, want: Any, where: str) -> None:
    """Nested JSON-like values equal; non-integer numbers (also in TSV cells) within a relative 1e-6."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{where}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            _assert_close(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{where}: {got!r} != {want!r}"
        for index, (a, b) in enumerate(zip(got, want, strict=True)):
            _assert_close(a, b, f"{where}[{index}]")
    elif (b := _float(want)) is not None and (a := _float(got)) is not None:
        assert math.isclose(a, b, rel_tol=NUMBER_RTOL, abs_tol=1e-9), f"{where}: {got!r} != {want!r}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def _assert_header(got: dict[str, Any], want: dict[str, Any], name: str) -> None:
    for key in ("kind", "shape", "dtype", "xyzt_units", "qform_code", "sform_code"):
        assert got[key] == want[key], f"{name}: {key} {got[key]} != {want[key]}"
    np.testing.assert_allclose(got["affine"], want["affine"], rtol=0, atol=AFFINE_ATOL, err_msg=f"{name}: affine")
    np.testing.assert_allclose(got["zooms"], want["zooms"], rtol=0, atol=AFFINE_ATOL, err_msg=f"{name}: zooms")


def assert_matches(root: Path, fixture: str) -> None:
    """``root``'s files agree with the fixture ``GOLDEN/<fixture>.{json,npz}`` (see the module docstring)."""
    got_fields, got_arrays = summarise(root)
    want_fields = json.loads((GOLDEN / f"{fixture}.json").read_text(encoding="utf-8"))
    assert sorted(got_fields) == sorted(want_fields), "the cohort's file list changed"
    with np.load(GOLDEN / f"{fixture}.npz") as stored:
        want_arrays = dict(stored)
    assert sorted(got_arrays) == sorted(want_arrays)
    for name, want in want_fields.items():
        got = got_fields[name]
        if name.endswith((".nii", ".nii.gz")):
            _assert_header(got, want, name)
            if want["kind"] == "label":  # masks exactly: voxel for voxel, label for label
                np.testing.assert_array_equal(got_arrays[f"{name}:labels"], want_arrays[f"{name}:labels"], name)
                np.testing.assert_array_equal(got_arrays[f"{name}:values"], want_arrays[f"{name}:values"], name)
            else:
                for stat in ("mean", "std"):
                    np.testing.assert_allclose(got_arrays[f"{name}:{stat}"], want_arrays[f"{name}:{stat}"], rtol=0,
                                               atol=BLOCK_ATOL, err_msg=f"{name}: 8³-block {stat}")
        else:
            _assert_close(got, want, name)


def _write(root: Path, fixture: str) -> None:
    fields, arrays = summarise(root)
    GOLDEN.mkdir(exist_ok=True)
    (GOLDEN / f"{fixture}.json").write_text(json.dumps(fields, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    np.savez_compressed(GOLDEN / f"{fixture}.npz", **{k: (v.astype(np.float32) if v.dtype == np.float64 else v)
                                                       for k, v in arrays.items()})


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp))
        _write(Path(tmp), "classic_cohort")
    print(f"wrote {GOLDEN / 'classic_cohort'}.json and .npz")

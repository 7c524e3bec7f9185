"""Saving and loading the native ↔ MNI affine: an ANTs ``.mat`` and a plain 4×4 JSON, both directions.

BIDS/fMRIPrep naming: ``from-orig_to-MNI152NLin2009aSym_mode-image_xfm.mat`` is the transform that
``antsApplyTransforms`` needs to bring the native image into MNI space (ITK convention: it maps MNI
points to native points); ``from-MNI152NLin2009aSym_to-orig`` is its inverse. The JSON files hold the
matrix lesionkit uses everywhere: RAS+ world points (mm) of the ``from`` space → the ``to`` space.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lesionkit.io import InvalidInputError, atomic_path, write_text
from lesionkit.preprocess.ants_bridge import ants_transform_from_matrix
from lesionkit.typing import PathLike

__all__ = ["load_transform_json", "save_transform"]


def save_transform(matrix: np.ndarray, mat_path: PathLike, json_path: PathLike, *, source: str, target: str) -> None:
    """Write the RAS point map ``source → target`` as an ANTs ``.mat`` (for resampling) and a JSON 4×4."""
    import ants

    matrix = np.asarray(matrix, dtype=float)
    with atomic_path(mat_path) as tmp:
        ants.write_transform(ants_transform_from_matrix(matrix), str(tmp))
    # Same layout as the truth files of ``lesionkit synth --space native``, so the two compare directly.
    doc = {
        "FromSpace": source,
        "ToSpace": target,
        "Convention": f"RAS+ world millimetres; p_{target} = Matrix @ [x, y, z, 1] for a {source} RAS point",
        "Matrix": matrix.tolist(),
    }
    write_text(json_path, json.dumps(doc, indent=2) + "\n")


def load_transform_json(path: PathLike) -> np.ndarray:
    """The 4×4 RAS point map stored by :func:`save_transform`."""
    path = Path(path)
    try:
        matrix = np.asarray(json.loads(path.read_text(encoding="utf-8"))["Matrix"], dtype=float)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(path, f"not a lesionkit transform JSON ({type(exc).__name__}: {exc})") from exc
    if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
        raise InvalidInputError(path, "Matrix must be a finite 4x4 matrix")
    return matrix

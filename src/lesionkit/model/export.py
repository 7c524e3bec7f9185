"""Turn a training checkpoint into a shippable model: threshold and minimum lesion size chosen on the validation
split, float16 weights.

The validation subjects are the ones the training run held out (their ids are in the checkpoint's
provenance), so the threshold is never tuned on test data. Several checkpoints of one architecture are
written as one ensemble file, calibrated on the subjects that every one of their runs held out.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lesionkit.io.cohort import load_case_mask, load_cohort
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import load_image
from lesionkit.model.calibrate import Objective, best_postprocessing
from lesionkit.model.checkpoint import load_model, read_checkpoint, save_checkpoint
from lesionkit.model.inference import predict_array
from lesionkit.typing import PathLike

__all__ = ["export_model"]


def export_model(
    checkpoint: PathLike | Sequence[PathLike],
    out: PathLike,
    data: PathLike | None = None,
    *,
    half: bool = True,
    roi_size: Sequence[int] | None = None,
    device: str | None = None,
    objective: Objective = "dice",
) -> Path:
    """Write ``out``: ``checkpoint``'s network(s) with a calibrated threshold and minimum lesion size (when
    ``data`` holds their validation subjects) and float16 weights; the calibration is recorded in
    ``provenance["calibration"]``. ``roi_size`` replaces the checkpoint's inference window (and is used for the
    calibration); ``device`` (default CPU) runs the calibration's predictions, e.g. ``"cuda"``; ``objective``: what the
    calibration maximises (:data:`lesionkit.model.calibrate.Objective`)."""
    paths = [checkpoint] if isinstance(checkpoint, str | Path) else list(checkpoint)
    payloads = [read_checkpoint(p) for p in paths]
    payload = payloads[0]
    for path, other in zip(paths[1:], payloads[1:], strict=True):
        if other["network"] != payload["network"]:
            raise InvalidInputError(path, f"ensemble members must share one architecture; {paths[0]} differs")
    if roi_size is not None:
        payload["roi_size"] = [int(s) for s in roi_size]
    model = load_model(paths)
    model.roi_size = tuple(payload["roi_size"])
    provenance = dict(payload["provenance"])
    threshold, min_size = float(payload.get("threshold", 0.5)), float(payload.get("min_size_mm3", 0.0))
    held_out = [set(p["provenance"].get("training_data", {}).get("val_ids", [])) for p in payloads]
    val_ids = set.intersection(*held_out)  # no member trained on these
    cases = [c for c in load_cohort(data, truth=True) if c.id in val_ids] if data is not None and val_ids else []
    if cases:
        probabilities, truths, voxel_mm3 = [], [], []
        for case in cases:
            image = load_image(case.t1w)
            spacing = image.header.get_zooms()[:3]
            probabilities.append(predict_array(model, np.asarray(image.dataobj), image_spacing=spacing, device=device))
            truths.append(np.asarray(load_case_mask(case).dataobj) > 0)
            voxel_mm3.append(float(np.prod(spacing)))
        if len(set(voxel_mm3)) > 1:
            raise InvalidInputError(data, "validation images of different voxel sizes: cannot calibrate in mm³")
        threshold, min_size, score = best_postprocessing(probabilities, truths, voxel_mm3=voxel_mm3[0],
                                                         objective=objective)
        dice = score if objective == "dice" else best_postprocessing(
            probabilities, truths, [threshold], [min_size], voxel_mm3[0])[2]
        provenance["calibration"] = {
            "threshold": threshold, "min_size_mm3": min_size, "val_dice": dice, "objective": objective,
            "val_score": score,
            "val_dice_at_0.5": best_postprocessing(probabilities, truths, [0.5], [0.0])[2],
            "cases": sorted(c.id for c in cases),
        }
    provenance["source_checkpoint"] = str(paths[0]) if len(paths) == 1 else [str(p) for p in paths]
    return save_checkpoint(
        out, list(model.networks), payload["network"], normalization=payload["normalization"], space=payload["space"],
        spacing=payload["spacing"], roi_size=payload["roi_size"], provenance=provenance, threshold=threshold,
        half=half, channels=payload.get("channels", ["t1"]), min_size_mm3=min_size,
    )

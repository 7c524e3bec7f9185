"""Compare candidate checkpoints on their training run's validation split and on a real healthy head.

For each checkpoint: mean Dice over the validation subjects (lesion-free ones count 1 only when nothing is
predicted) at the best of thresholds 0.3–0.8 × minimum sizes 10/30/100 mm³, the mean over the lesioned
subjects, the predicted volume on each lesion-free one, and the false-positive volume on a healthy head
already in MNI space (e.g. pycortex's S1 after ``lesionkit preprocess``). One thread. Prints one JSON line
per checkpoint (``shipped`` = the default model).

    python scripts/model_candidates.py DATA HEALTHY_MNI_T1W CHECKPOINT... [--tta]
"""

import json
import sys
import time

import nibabel as nib
import numpy as np
import torch

from lesionkit.core import dice
from lesionkit.io.cohort import load_case_mask, load_cohort
from lesionkit.model import load_model
from lesionkit.model.checkpoint import read_checkpoint
from lesionkit.model.inference import predict_array, threshold_probability


def main(argv: list[str]) -> None:
    tta = "--tta" in argv
    data, healthy, *checkpoints = [a for a in argv if not a.startswith("--")]
    torch.set_num_threads(1)
    first = checkpoints[0] if checkpoints[0] != "shipped" else checkpoints[-1]
    val_ids = set(read_checkpoint(first)["provenance"]["training_data"]["val_ids"])
    cases = [c for c in load_cohort(data, truth=True) if c.id in val_ids]
    head = nib.load(healthy)
    for checkpoint in checkpoints:
        start = time.time()
        model = load_model(None if checkpoint == "shipped" else checkpoint)
        probabilities, truths = [], []
        for case in cases:
            image = nib.load(case.t1w)
            probabilities.append(predict_array(model, np.asarray(image.dataobj),
                                               image_spacing=image.header.get_zooms()[:3], tta=tta))
            truths.append(np.asarray(load_case_mask(case).dataobj) > 0)
        head_probability = predict_array(model, np.asarray(head.dataobj), image_spacing=head.header.get_zooms()[:3],
                                         tta=tta)
        best = None
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            for min_size in (10, 30, 100):
                scores = [dice(threshold_probability(p, threshold, min_size, 1.0), y)
                          for p, y in zip(probabilities, truths, strict=True)]
                if best is None or np.mean(scores) > best[0]:
                    best = (float(np.mean(scores)), threshold, min_size, scores)
        mean, threshold, min_size, scores = best
        print(json.dumps({
            "checkpoint": checkpoint, "tta": tta, "val_dice": round(mean, 4), "threshold": threshold,
            "min_size_mm3": min_size,
            "lesioned_dice": round(float(np.mean([d for d, y in zip(scores, truths, strict=True) if y.any()])), 4),
            "lesion_free_fp_mm3": [int(threshold_probability(p, threshold, min_size, 1.0).sum())
                                   for p, y in zip(probabilities, truths, strict=True) if not y.any()],
            "healthy_fp_mm3": int(threshold_probability(head_probability, threshold, min_size, 1.0).sum()),
            "seconds": round(time.time() - start)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

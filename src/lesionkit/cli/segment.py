"""``lesionkit segment IN… -o OUT``: lesion probability maps and masks as BIDS derivatives.

MNI152NLin2009aSym input on the ATLAS grid is segmented directly. Any other (native) T1w goes through
``lesionkit.preprocess`` (N4, registration to MNI), is segmented in MNI space, and its probability map is
mapped back to the native grid linearly and thresholded there. That composition lives here, in the CLI,
because ``preprocess`` and ``model`` are parallel stages of the data flow and neither imports the other.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "segment",
        help="segment stroke lesions in T1w images",
        description="Segment chronic-stroke lesions with the 3D ResU-Net (whole-volume sliding window). "
        "Writes OUT/sub-X/[ses-Y/]anat/sub-X_[ses-Y_]space-S_label-L_desc-lesionkit_{mask,probseg}.nii.gz.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="T1w NIfTI file(s) or an ATLAS/BIDS folder")
    parser.add_argument("-o", "--output", required=True, help="output derivatives folder")
    parser.add_argument("--model", nargs="+", help="checkpoint(s); several = ensemble (default: the shipped model)")
    parser.add_argument("--tta", action="store_true", help="average with the left-right flipped prediction")
    parser.add_argument("--threshold", type=float, help="probability >= threshold is lesion (default: the "
                        "checkpoint's, chosen on its validation split; 0.5 if it has none)")
    parser.add_argument("--min-size", type=float, metavar="MM3", help="drop predicted lesions smaller than this "
                        "(mm³; default: the checkpoint's, chosen on its validation split; 0 if it has none)")
    parser.add_argument("--participant-label", nargs="+", help="subjects to process (without 'sub-')")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch")
    return parser


def _segment_native(model, image, tta: bool):
    """Preprocess a native T1w to MNI, segment there, map the probabilities back (linear)."""
    from lesionkit.model import segment
    from lesionkit.preprocess import preprocess_t1w, to_native  # without ANTsPy: main names the extra

    result = preprocess_t1w(image, deface=False)
    probability = segment(model, result.t1w_mni, tta=tta)
    return to_native(probability, result.transform, image, order=1)


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import collect_cases, validate_cases

    require(args.threshold is None or 0.0 < args.threshold < 1.0, "--threshold must be between 0 and 1")
    require(args.min_size is None or args.min_size >= 0, "--min-size must be at least 0")
    require(args.threads is None or args.threads >= 1, "--threads must be at least 1")
    out = output_dir("segment", args.output)
    cases = collect_cases(args.inputs, need="t1w", participant_label=args.participant_label)
    # Every T1w is read and checked before the first subject starts, and before torch is even imported:
    # a bad input fails in a second, small, with nothing written.
    validate_cases(cases, scans=True)

    import numpy as np
    import torch
    from rich.progress import Progress

    from lesionkit.io import (
        MNI_SPACE,
        derivative_path,
        is_atlas_grid,
        load_image,
        save_nifti,
        write_dataset_description,
    )
    from lesionkit.model import load_model, segment, threshold_probability

    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model(args.model)
    threshold = model.threshold if args.threshold is None else args.threshold
    min_size = model.min_size_mm3 if args.min_size is None else args.min_size
    # First, so that whatever is written below (also by an interrupted run) is a valid derivatives dataset.
    write_dataset_description(out, "lesionkit lesion segmentations")
    with Progress(transient=True) as bar:
        task = bar.add_task("segmenting", total=len(cases))
        for case in cases:
            image = load_image(case.t1w)
            if is_atlas_grid(image):
                probability, space = segment(model, image, tta=args.tta), case.space or MNI_SPACE
            else:
                probability, space = _segment_native(model, image, args.tta), case.space or "orig"
            data = np.asarray(probability.dataobj, dtype=np.float32)
            voxel_mm3 = float(np.prod(image.header.get_zooms()[:3]))
            mask = threshold_probability(data, threshold, min_size, voxel_mm3)
            kwargs = {"space": space, "label": "L", "desc": "lesionkit"}
            save_nifti(data, derivative_path(out, case.subject, case.session, "probseg", **kwargs),
                       image.affine, dtype=np.float32)
            written = save_nifti(mask, derivative_path(out, case.subject, case.session, "mask", **kwargs),
                                 image.affine, dtype=np.uint8)
            bar.console.print(f"{case.id}: {int(mask.sum())} lesion voxels → {written}")
            bar.advance(task)
    print(f"wrote {len(cases)} segmentation(s) to {out}")
    return 0

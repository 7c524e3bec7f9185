"""``lesionkit synth OUT --subjects N --seed S``: write a synthetic ATLAS-like cohort."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "synth",
        help="write a synthetic ATLAS-like cohort (T1w, lesion masks, metadata)",
        description="Write a synthetic cohort in the ATLAS v2.0 layout (OUT/Training/R0xx/sub-*/ses-1/anat/) with "
        "T1w images, lesion masks, participants.tsv and lesions.tsv per cohort. Deterministic for a seed.",
    )
    parser.add_argument("out", metavar="OUT", help="output folder")
    parser.add_argument("--subjects", type=int, default=10, help="number of subjects (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--resolution", type=int, choices=(1, 2), default=1,
                        help="grid spacing in mm: 1 is the ATLAS grid 197x233x189; 2 (99x117x95, same field of "
                        "view) is a fast test aid")
    parser.add_argument("--space", choices=("mni", "native", "both"), default="mni",
                        help="mni: MNI152NLin2009aSym images; native: oblique anisotropic space-orig images and "
                        "the true native-to-MNI transform; both: both")
    parser.add_argument("--cohorts", type=int, default=None, help="number of cohorts/sites (default ceil(sqrt(N)))")
    parser.add_argument("--first-cohort", type=int, default=1,
                        help="number of the first cohort folder (R001 by default); lets several seeds share OUT")
    parser.add_argument("--jobs", type=int, default=1, help="parallel worker processes (output is identical)")
    parser.add_argument("--overwrite", action="store_true",
                        help="regenerate every subject (default: keep subjects an interrupted run already wrote)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    realism = parser.add_argument_group("realism (the classic preset reproduces the original generator exactly)")
    realism.add_argument("--preset", choices=("atlas", "classic", "realistic", "wide"), default="atlas",
                         help="atlas (default): the original anatomy and scanner with mixed lesion shapes; classic: "
                         "the original generator, byte for byte (generated shapes only); realistic: also ages "
                         "30-85, acquisitions calibrated to real research and clinical scans, 30%% brain-extracted, "
                         "25%% lesion-free, 35%% of the lesioned with small lesions only; wide: realistic before its "
                         "calibration (SNR 5-40, 2-6 mm slices); flags below override")
    realism.add_argument("--lesion-shapes", choices=("generated", "real", "mixed"),
                         help="mixed (default: each lesion either), real (155 real tracings, mirrored, scaled, "
                         "bent) or generated (territory-grown shapes)")
    realism.add_argument("--age-range", nargs=2, type=float, metavar=("LOW", "HIGH"),
                         help="draw ages (years): wider sulci, thinner cortex, larger ventricles with age")
    realism.add_argument("--randomize-contrast", action="store_true", default=None,
                         help="per-subject tissue contrast, 2-6 mm slices, SNR 5-40, bias, gamma, 8-bit storage")
    realism.add_argument("--skull-strip-share", type=float, metavar="P", help="share of brain-extracted subjects")
    realism.add_argument("--lesion-free-share", type=float, metavar="P", help="share of subjects without lesions")
    realism.add_argument("--small-lesion-share", type=float, metavar="P",
                         help="share of lesioned subjects with small lesions only (lacunes, 15-1,500 mm3)")
    realism.add_argument("--acquisition", choices=("wide", "calibrated"),
                         help="with randomised contrast: wide (SNR 5-40, 2-6 mm slices for half) or calibrated "
                         "(mostly 1 mm research scans, some older and clinical 3-5 mm ones)")
    realism.add_argument("--cortex-warp", type=float, metavar="MM",
                         help="move each subject's gyri and sulci by up to MM mm (a fine warp on an 8 mm grid), so "
                         "its folding is its own, not the template's (default 0: off)")
    realism.add_argument("--sulcal-csf", type=float, metavar="A",
                         help="draw CSF along each sulcus to its fundus, as a real 1 mm scan shows it (0-1: how dark; "
                         "the template's averaged sulci are grey at depth; default 0: off)")
    return parser


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from lesionkit.cli._checks import output_dir, require
    from lesionkit.synth import PRESETS, generate_cohort

    require(min(args.subjects, args.jobs, args.first_cohort) >= 1 and (args.cohorts is None or args.cohorts >= 1),
            "--subjects, --jobs, --cohorts and --first-cohort must be at least 1")
    require(args.seed >= 0, "--seed must be at least 0")
    chosen = {"lesion_shapes": args.lesion_shapes, "age_range": tuple(args.age_range) if args.age_range else None,
              "randomize_contrast": args.randomize_contrast, "skull_strip_share": args.skull_strip_share,
              "lesion_free_share": args.lesion_free_share, "small_lesion_share": args.small_lesion_share,
              "acquisition": args.acquisition, "cortex_warp_mm": args.cortex_warp, "sulcal_csf": args.sulcal_csf}
    try:
        options = dataclasses.replace(PRESETS[args.preset], **{k: v for k, v in chosen.items() if v is not None})
    except ValueError as error:
        require(False, str(error))
    output_dir("synth", args.out)
    paths = generate_cohort(args.out, args.subjects, args.seed, resolution=args.resolution, space=args.space,
                            n_cohorts=args.cohorts, jobs=args.jobs, progress=not args.quiet,
                            resume=not args.overwrite, first_cohort=args.first_cohort, options=options)
    print(f"wrote {len(paths)} subjects under {args.out}/Training")
    return 0

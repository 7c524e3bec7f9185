"""``lesionkit lsm MASKS… TABLE -o OUT``: voxel-based lesion–symptom mapping."""

from __future__ import annotations

import argparse


def _min_lesioned(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count (10), a share (0.1) or a percentage (10%), got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


#: lesionkit.analysis.lsm.mapping's TESTS and CORRECTIONS, spelled out so ``--help`` imports no SciPy (a test checks)
TESTS = ("ttest", "bm", "regression", "chisq", "fisher", "svr")
CORRECTIONS = ("fwe", "cfwe", "fdr", "none")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "lsm",
        help="lesion–symptom mapping: voxel-wise tests or SVR-LSM with permutation FWE/cFWE/FDR, maps and report",
        description="Relate where the lesions are to a behavioural score. MASKS are MNI-space lesion masks (files or "
        "folders of any layout lesionkit reads, all on one grid); TABLE is a TSV/CSV with a subject column "
        "(participant_id, subject, id, or the first) and the score. Voxels lesioned in at least --min-lesioned "
        "subjects are tested, identical lesion patterns once. A positive statistic means lesioned subjects score "
        "LOWER (use --higher-is-worse when a high score is the deficit). Writes into OUT: lsm_desc-<test>_stat, _p, "
        "<test><correction>_pcorr and _thresholded maps, the lesioned-count and power (minimum detectable effect) "
        "maps, lsm_clusters.tsv, lsm_regions.tsv, lsm_subjects.tsv, lsm_null.tsv, lsm_provenance.json, "
        "lsm_figure.png and lsm_report.html.",
    )
    parser.add_argument("inputs", nargs="+", metavar="MASKS TABLE", help="mask files/folders, then the table")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder")
    parser.add_argument("--score", metavar="COLUMN",
                        help="score column (default: 'score', else the only numeric column)")
    parser.add_argument("--subject-column", metavar="COLUMN", help="subject column of the table")
    parser.add_argument("--covariates", nargs="+", default=[], metavar="C",
                        help="table columns, or 'lesion_volume' (from the masks); with --test regression they enter "
                        "the model, otherwise the score is residualised on them")
    parser.add_argument("--test", choices=TESTS, default="bm", help="default bm (Brunner–Munzel)")
    parser.add_argument("--correction", choices=CORRECTIONS, default="fwe", help="default fwe (permutation max-stat)")
    parser.add_argument("--permutations", type=int, default=1000, metavar="N", help="default 1000")
    parser.add_argument("--seed", type=int, default=0, help="permutation seed (default 0)")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    parser.add_argument("--v", type=int, default=10, metavar="V", help="cfwe: the V-th largest voxel (default 10)")
    parser.add_argument("--min-lesioned", type=_min_lesioned, default=0.1, metavar="N|SHARE",
                        help="test voxels lesioned in at least N subjects, or this share/percentage (default 10%%)")
    parser.add_argument("--two-sided", action="store_true", help="two-sided tests (default: lesion → worse score)")
    parser.add_argument("--higher-is-worse", action="store_true", help="a higher score is the deficit")
    parser.add_argument("--parcellation", metavar="NIFTI", help="label image on the masks' grid for region shares")
    parser.add_argument("--parcellation-labels", metavar="TABLE", help="its 'index name' table (optional)")
    parser.add_argument("--svr-gamma", type=float, default=5.0, help="SVR RBF gamma (default 5)")
    parser.add_argument("--svr-c", type=float, default=30.0, help="SVR cost C (default 30)")
    parser.add_argument("--svr-epsilon", type=float, default=0.1, help="SVR epsilon (default 0.1)")
    parser.add_argument("--no-dtlvc", action="store_true", help="SVR without direct total lesion volume control")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="only these subjects of folders")
    parser.add_argument("--jobs", type=int, default=1, help="threads for the permutations (default 1)")
    parser.add_argument("--no-report", action="store_true", help="no figure, no lsm_report.html")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from lesionkit.analysis.lsm.mapping import LSMSettings
    from lesionkit.cli._checks import UsageError, output_dir, require
    from lesionkit.io import InvalidInputError, OutputPathError, collect_cases
    from lesionkit.pipeline.lsm import lesion_symptom_map

    require(len(args.inputs) >= 2, "give the lesion masks, then the behaviour table")
    require(args.parcellation is not None or args.parcellation_labels is None,
            "--parcellation-labels needs --parcellation")
    settings = LSMSettings(test=args.test, correction=args.correction, permutations=args.permutations, seed=args.seed,
                           alpha=args.alpha, v=args.v, two_sided=args.two_sided, higher_is_worse=args.higher_is_worse,
                           svr_gamma=args.svr_gamma, svr_c=args.svr_c, svr_epsilon=args.svr_epsilon,
                           dtlvc=not args.no_dtlvc, jobs=args.jobs)
    try:
        settings.check()
    except ValueError as error:
        raise UsageError(str(error)) from None
    out = output_dir("lsm", args.output)
    cases = collect_cases(args.inputs[:-1], need="mask", participant_label=args.participant_label)
    with Progress(disable=args.quiet, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            done = lesion_symptom_map(cases, args.inputs[-1], out, settings, score=args.score,
                                      subject_column=args.subject_column, covariates=args.covariates,
                                      min_lesioned=args.min_lesioned, parcellation=args.parcellation,
                                      parcellation_labels=args.parcellation_labels, report=not args.no_report,
                                      progress=progress)
        except ValueError as error:
            if isinstance(error, InvalidInputError | OutputPathError):
                raise
            raise UsageError(str(error)) from None  # a setting the data make unusable (e.g. a fractional count)
    r = done.result
    if done.unmatched_rows:
        print(f"lesionkit lsm: warning: {len(done.unmatched_rows)} table row(s) without a mask, not used: "
              f"{', '.join(done.unmatched_rows[:10])}{' …' if len(done.unmatched_rows) > 10 else ''}")
    peak = done.clusters.iloc[0] if len(done.clusters) else None
    where = "" if peak is None else f"; largest cluster {int(peak.voxels)} voxels, peak {peak.peak_stat:.2f} at " \
        f"({peak.peak_x:.0f}, {peak.peak_y:.0f}, {peak.peak_z:.0f}) mm"
    print(f"{len(r.behavior.subjects)} subjects, {r.matrix.voxels.size} voxels tested in {r.matrix.patches.shape[1]} "
          f"patches; {r.significant_voxels} significant ({r.settings.test}, {r.settings.correction}, "
          f"α = {r.settings.alpha:g}){where}; wrote {len(done.files)} files to {out}")
    return 0

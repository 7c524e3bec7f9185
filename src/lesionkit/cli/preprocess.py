"""``lesionkit preprocess IN… OUT``: native T1w → MNI152NLin2009aSym BIDS derivatives, transforms and QC figures."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "preprocess",
        help="native T1w → MNI152NLin2009aSym like ATLAS (N4, standardisation, affine, brain mask, defacing)",
        description="Preprocess native T1w scans as the ATLAS releases were made: reorientation, N4 bias correction, "
        "white-matter-peak intensity standardisation, affine registration to MNI152NLin2009aSym, template brain "
        "mask, defacing, resampling onto the ATLAS grid (197x233x189, 1 mm). Writes BIDS derivatives, forward and "
        "inverse transforms (ANTs .mat and 4x4 JSON), a JSON sidecar with steps and run times, and a QC PNG.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="T1w NIfTI file(s), or one BIDS/ATLAS folder")
    parser.add_argument("output", metavar="OUT", help="output folder (BIDS derivatives)")
    parser.add_argument("--mask", help="lesion mask of the (single) input T1w file, on its grid")
    parser.add_argument("--participant-label", nargs="+", metavar="LABEL", help="subjects to process (without sub-)")
    parser.add_argument("--no-deface", action="store_true", help="keep the face")
    parser.add_argument("--jobs", type=int, default=1, metavar="J", help="scans processed in parallel (default 1)")
    return parser


def _cases(args: argparse.Namespace):
    from lesionkit.io import MNI_SPACE, collect_cases

    found = collect_cases(args.inputs, need="t1w", participant_label=args.participant_label, space=None, truth=True)
    # ATLAS ships space-orig and MNI images side by side: the MNI ones are already preprocessed.
    native = {(c.subject, c.session) for c in found if c.space != MNI_SPACE}
    return [c for c in found if c.space != MNI_SPACE or (c.subject, c.session) not in native]


def _process(case, mask, output: str, deface: bool, progress=None) -> dict:
    from lesionkit.io import load_case_mask, write_dataset_description
    from lesionkit.preprocess import preprocess_t1w
    from lesionkit.preprocess.outputs import write_outputs
    from lesionkit.report.preprocess_qc import plot_preprocess_qc

    if mask is None and (case.mask or case.mask_parts):
        mask = load_case_mask(case)
    result = preprocess_t1w(case.t1w, mask, deface=deface, progress=progress)
    paths = write_outputs(result, output, case.subject, case.session)
    plot_preprocess_qc(
        result.t1w_mni, paths["qc"], mask_mni=result.mask_mni, brain_mask_mni=result.brain_mask_mni, title=case.id
    )
    write_dataset_description(output, "lesionkit preprocess")
    done = {"id": case.id, "seconds": sum(step["seconds"] for step in result.steps), "paths": paths}
    registration = next(step for step in result.steps if step["name"] == "registration")["parameters"]
    if "fallback" in registration["initialisation_chosen"]:
        done["warning"] = (f"{case.id}: every affine fit failed its sanity check; the rigid start was kept — "
                           f"check {paths['qc']}")
    return done


def _process_in_worker(case, mask, output: str, deface: bool) -> dict:
    """:func:`_process` for a worker process: an invalid input comes back as data (InvalidInputError's
    two-argument constructor does not survive pickling)."""
    from lesionkit.io import InvalidInputError

    try:
        return _process(case, mask, output, deface)
    except InvalidInputError as error:
        return {"id": case.id, "error": (str(error.path) if error.path else None, error.problem)}


def run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from lesionkit.cli._checks import output_dir, require
    from lesionkit.io import check_same_grid, load_image, load_mask, validate_cases

    require(args.jobs >= 1, "--jobs must be at least 1")
    output_dir("preprocess", args.output)
    cases = _cases(args)
    require(not args.mask or len(cases) == 1, "--mask needs exactly one input T1w")
    # Every input is read and checked before the first scan starts: a corrupt file in a folder of many
    # fails now, with nothing written, instead of when its turn comes.
    validate_cases(cases, masks=True, scans=True)
    if args.mask:
        check_same_grid(load_image(cases[0].t1w), load_mask(args.mask))
    deface = not args.no_deface
    columns = (TextColumn("{task.fields[case]}"), BarColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        if args.jobs == 1:
            for case in cases:
                task = bar.add_task("start", total=7, case=case.id)

                def step(name: str, index: int, total: int, task=task) -> None:
                    bar.update(task, description=name, completed=index, total=total)

                done = _process(case, args.mask, args.output, deface, step)
                bar.update(task, description=f"done in {done['seconds']:.0f} s", completed=7)
                if "warning" in done:
                    bar.console.print(f"[yellow]warning[/]: {done['warning']}")
        else:
            from concurrent.futures import ProcessPoolExecutor

            tasks = {case.id: bar.add_task("queued", total=1, case=case.id) for case in cases}
            with ProcessPoolExecutor(max_workers=args.jobs) as pool:
                futures = [pool.submit(_process_in_worker, case, args.mask, args.output, deface) for case in cases]
                for future in futures:
                    done = future.result()
                    if "error" in done:
                        from lesionkit.io import InvalidInputError

                        raise InvalidInputError(*done["error"])
                    bar.update(tasks[done["id"]], description=f"done in {done['seconds']:.0f} s", completed=1)
                    if "warning" in done:
                        bar.console.print(f"[yellow]warning[/]: {done['warning']}")
    print(f"wrote {len(cases)} preprocessed scan(s) to {args.output}")
    return 0

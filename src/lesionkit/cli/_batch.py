"""Options the batch commands share: where subjects run (``--jobs``/``--scheduler``/``--cluster``), resuming,
the segmentation model's options, and how a batch's outcome becomes an exit code.

Exit codes of a batch: 0 when every subject was done or skipped; 1 (after a summary) when some subject
failed; 3 when every subject failed for invalid input, as for any refused input (nothing is written then).
"""

from __future__ import annotations

import argparse
import sys

#: ``--cluster`` choices (the dask-jobqueue classes are named in lesionkit.pipeline.cluster).
CLUSTER_CHOICES = ("slurm", "pbs", "sge", "lsf")


def add_batch_arguments(parser: argparse.ArgumentParser, *, resumable: bool = True, unit: str = "subject") -> None:
    """The options where the units of work run (subjects; the challenge worker's scoring loops): ``--jobs``,
    ``--scheduler``, ``--cluster`` (and its job options), ``--threads`` and ``--retries``; with ``resumable``,
    ``--overwrite``."""
    group = parser.add_argument_group(f"where {unit}s run (Dask; see docs/batch.md)")
    group.add_argument("--jobs", type=int, default=1, metavar="N",
                       help=f"local worker processes, one {unit} each at a time (default 1: a plain loop, no Dask)")
    group.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    group.add_argument("--cluster", choices=CLUSTER_CHOICES, help="start workers as queue jobs (dask-jobqueue)")
    group.add_argument("--cluster-config", metavar="YAML",
                       help="dask-jobqueue options for --cluster (queue, cores, memory, walltime, account, …); "
                       "flags below override it")
    group.add_argument("--queue", help="--cluster: queue/partition")
    group.add_argument("--cores", type=int, help="--cluster: cores per job")
    group.add_argument("--memory", help="--cluster: memory per job, e.g. 32GB")
    group.add_argument("--walltime", help="--cluster: wall time per job, e.g. 04:00:00")
    group.add_argument("--account", help="--cluster: account (project) the jobs are charged to")
    group.add_argument("--cluster-jobs", type=int, default=1, metavar="J", help="--cluster: jobs to submit (default 1)")
    group.add_argument("--threads", type=int, metavar="T",
                       help=f"threads per {unit} for PyTorch, OpenMP and ITK (default: cores / --jobs locally, "
                       "1 on --scheduler and --cluster workers)")
    group.add_argument("--retries", type=int, default=1,
                       help=f"extra attempts for a {unit} whose task crashed (not for invalid input; default 1)")
    if resumable:
        parser.add_argument("--overwrite", action="store_true",
                            help="redo subjects whose outputs and provenance already match (default: skip them)")


def cluster_spec(args: argparse.Namespace, command: str):
    """The :class:`~lesionkit.pipeline.ClusterSpec` of the parsed options, or None after printing why not."""
    from lesionkit.pipeline.cluster import ClusterSpec, read_cluster_yaml

    options: dict = {}
    if args.cluster and args.cluster_config:
        options.update(read_cluster_yaml(args.cluster_config, args.cluster))
    jobs = options.pop("jobs", None) or args.cluster_jobs
    for name in ("queue", "cores", "memory", "walltime", "account"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if not args.cluster and (options or args.cluster_config):
        print(f"lesionkit {command}: --cluster-config, --queue, --cores, --memory, --walltime and --account "
              "need --cluster", file=sys.stderr)
        return None
    try:
        return ClusterSpec(jobs=args.jobs, scheduler=args.scheduler, cluster=args.cluster, cluster_options=options,
                           cluster_jobs=int(jobs), threads=args.threads, retries=args.retries)
    except ValueError as error:
        print(f"lesionkit {command}: {error}", file=sys.stderr)
        return None


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The segmentation model and its post-processing (``segment`` and ``run``)."""
    parser.add_argument("--model", nargs="+", help="checkpoint(s); several = ensemble (default: the shipped model)")
    parser.add_argument("--tta", action="store_true", help="average with the left-right flipped prediction")
    parser.add_argument("--threshold", type=float, help="probability threshold (default: the checkpoint's, "
                        "chosen on its validation split; 0.5 if it has none)")
    parser.add_argument("--min-size", type=float, metavar="MM3", help="drop predicted lesions smaller than this "
                        "(mm³; default: the checkpoint's, chosen on its validation split; 0 if it has none)")
    parser.add_argument("--no-qc", dest="qc", action="store_false",
                        help="skip the per-case quality estimates (qc.tsv and the sidecars' qc object; without "
                        "--tta they cost one more forward pass per subject, for the flipped member)")
    add_expect_lesions(parser)


def add_expect_lesions(parser: argparse.ArgumentParser) -> None:
    """``--expect-lesions`` (``segment``, ``run`` and ``qc``)."""
    parser.add_argument("--expect-lesions", action="store_true",
                        help="every subject is known to have a lesion (a stroke cohort): QC flags an empty mask "
                        "'check' instead of trusting 'no lesion found'")


def model_options(args: argparse.Namespace, command: str) -> dict | None:
    """``run_subjects`` keyword arguments of :func:`add_model_arguments`, or None after printing why not."""
    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        print(f"lesionkit {command}: --threshold must be between 0 and 1", file=sys.stderr)
        return None
    if args.min_size is not None and args.min_size < 0:
        print(f"lesionkit {command}: --min-size must be at least 0", file=sys.stderr)
        return None
    return {"model": args.model, "tta": args.tta, "threshold": args.threshold, "min_size_mm3": args.min_size,
            "qc": args.qc, "expect_lesions": args.expect_lesions}


def outcome_printer(n_cases: int):
    """An ``on_outcome`` callback: warnings always, failures as they come when there are several subjects."""

    def show(outcome) -> None:
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if outcome.status == "failed" and n_cases > 1:
            print(f"{outcome.subject}: failed: {outcome.error}", file=sys.stderr)

    return show


def exit_code(report, command: str, out) -> int:
    """Print the batch's summary and return its exit code (see the module docstring)."""
    from lesionkit.io import InvalidInputError

    failed = report.failed
    if report.only_invalid_input:
        path, problem = failed[0].invalid
        more = f" (and {len(failed) - 1} more subject(s) with invalid input)" if len(failed) > 1 else ""
        raise InvalidInputError(path, problem + more)
    print(f"lesionkit {command}: {report.summary()}; outputs and run.tsv in {out}")
    if failed:
        print(f"lesionkit {command}: {len(failed)} subject(s) failed:", file=sys.stderr)
        for outcome in failed:
            print(f"  {outcome.subject}: {outcome.error}", file=sys.stderr)
        return 1
    return 0

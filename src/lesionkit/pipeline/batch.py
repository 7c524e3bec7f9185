"""Batches of subjects: one :func:`~lesionkit.pipeline.run_subject` task per subject, serially or on Dask.

:func:`run_subjects` is what ``lesionkit run``, ``segment`` and ``preprocess`` call:

* subjects whose outputs and provenance already match are skipped on the client (``overwrite`` redoes them);
* the rest go to :func:`distributed.Client.map` (one task per subject, ``retries`` for tasks that raised
  something other than invalid input; a task whose worker died is rescheduled by the scheduler, at most
  ``distributed.scheduler.allowed-failures`` times) and come back through :func:`distributed.as_completed`;
  with ``jobs=1`` the same function runs in a plain loop in this process;
* a subject with invalid input is reported with its error and never stops the others;
* with the segment step and ``qc`` (the default), ``OUT/qc.tsv`` and the cohort part of every mask
  sidecar's ``qc`` object are written when the batch finishes (:func:`lesionkit.qc.finish_qc`, over every
  case of ``OUT`` with QC features, earlier batches' too);
* ``OUT/run.tsv`` (subject, status, seconds, worker, error) is rewritten as subjects finish; an
  interrupted batch writes it once more, with ``interrupted`` for the subjects it did not see finish (a
  subject that finished in that last moment is skipped by the next run), and removes the staging folder.

One batch per output folder at a time: a new batch removes the staging leftovers of a killed one.
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lesionkit.io import Case, InvalidInputError, write_text
from lesionkit.pipeline.cluster import RESOURCE, ClusterSpec, open_client
from lesionkit.pipeline.derivatives import finish_derivatives
from lesionkit.pipeline.models import ModelRef, load_cached_model
from lesionkit.pipeline.provenance import record_matches
from lesionkit.pipeline.subject import STAGING, STEPS, SubjectOptions, SubjectResult, run_subject, subject_record
from lesionkit.typing import PathLike

__all__ = ["RUN_COLUMNS", "BatchReport", "Outcome", "map_cases", "run_subjects"]

RUN_COLUMNS = ("subject", "status", "seconds", "worker", "error")
#: Least seconds between two rewrites of run.tsv while a batch runs (it is always written at the end).
_TSV_INTERVAL = 2.0


@dataclass
class Outcome:
    """One subject's row of ``run.tsv``."""

    subject: str
    status: str
    """``done``, ``skipped`` or ``failed``."""
    seconds: float | None = None
    worker: str | None = None
    error: str | None = None
    invalid: tuple[str | None, str] | None = None
    """(path, problem) when the failure was invalid input (an :class:`~lesionkit.io.InvalidInputError`)."""
    warnings: list[str] = field(default_factory=list)


@dataclass
class BatchReport:
    outcomes: list[Outcome]
    seconds: float

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def only_invalid_input(self) -> bool:
        """Every subject failed, each for invalid input: the inputs, not the batch, are the problem."""
        return bool(self.outcomes) and all(o.status == "failed" and o.invalid for o in self.outcomes)

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("done", "skipped", "failed") if self.count(s)]
        return f"{', '.join(parts) or 'nothing to do'} in {self.seconds:.0f} s"


def _worker_name() -> str:
    if "distributed" not in sys.modules:  # the serial loop: do not import Dask just to learn that
        return "local"
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:
        return "local"


def _attempt(function: Callable[..., SubjectResult], case: Case, **kwargs) -> Outcome:
    """Run ``function(case)``; invalid input comes back as a failed outcome (retrying cannot mend it)."""
    start = time.perf_counter()
    try:
        result = function(case, **kwargs)
    except InvalidInputError as error:
        outcome = _invalid(case, error)
        outcome.seconds, outcome.worker = round(time.perf_counter() - start, 3), _worker_name()
        return outcome
    return Outcome(case.id, result.status, round(time.perf_counter() - start, 3), _worker_name(),
                   warnings=result.warnings)


def map_cases(
    function: Callable[..., SubjectResult],
    cases: Sequence[Case],
    client=None,
    *,
    retries: int = 1,
    resources: dict[str, float] | None = None,
    step_progress: Callable[[Case, str], None] | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """Yield ``(index of the case, its Outcome)`` as each case finishes (in completion order).

    ``client`` None runs ``function`` here, one case after the other (``step_progress(case, step)`` is
    passed on as ``progress``); otherwise one Dask task per case. A failure other than invalid input is
    reported with its type and message after the retries, never raised.
    """
    if client is None:
        for index, case in enumerate(cases):
            kwargs = {} if step_progress is None else {"progress": functools.partial(step_progress, case)}
            start = time.perf_counter()
            try:
                outcome = _attempt(function, case, **kwargs)
            except Exception as error:  # noqa: BLE001 - any failure of one subject must not stop the others
                outcome = Outcome(case.id, "failed", round(time.perf_counter() - start, 3), "local",
                                  f"{type(error).__name__}: {error}")
            yield index, outcome
        return
    from distributed import as_completed

    token = f"{time.time_ns():x}"
    keys = [f"lesionkit-{case.id}-{index}-{token}" for index, case in enumerate(cases)]
    futures = client.map(functools.partial(_attempt, function), cases, key=keys, retries=retries, pure=False,
                         resources=resources)
    index_of = {future.key: index for index, future in enumerate(futures)}
    try:
        for future in as_completed(futures):
            index = index_of[future.key]
            if future.status == "finished":
                outcome = future.result()
            else:
                error = future.exception()
                outcome = Outcome(cases[index].id, "failed", None, None, f"{type(error).__name__}: {error}")
            future.release()
            yield index, outcome
    finally:
        client.cancel([f for f in futures if not f.done()])


def _run_tsv(outcomes: Sequence[Outcome]) -> str:
    def cell(value) -> str:
        if value is None or value == "":
            return "n/a"
        return " ".join(str(value).split())  # one line, no tabs

    lines = ["\t".join(RUN_COLUMNS)]
    for o in outcomes:
        seconds = None if o.seconds is None else f"{o.seconds:.2f}"
        lines.append("\t".join(cell(v) for v in (o.subject, o.status, seconds, o.worker, o.error)))
    return "\n".join(lines) + "\n"


class _RunTable:
    """The outcomes so far, in case order, and ``run.tsv`` rewritten at most every few seconds.

    Nothing is written while every outcome is a failure for invalid input: then the batch ends as
    invalid input (exit 3) and, like any refused input, leaves nothing behind.
    """

    def __init__(self, path: Path, cases: Sequence[Case], on_outcome: Callable[[Outcome], None] | None) -> None:
        self.path, self.cases, self.on_outcome = path, cases, on_outcome
        self.rows: list[Outcome | None] = [None] * len(cases)
        self.written = 0.0
        self.interrupted = False

    def add(self, index: int, outcome: Outcome) -> None:
        self.rows[index] = outcome
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        if time.perf_counter() - self.written >= _TSV_INTERVAL:
            self.write()

    @property
    def outcomes(self) -> list[Outcome]:
        return [o for o in self.rows if o is not None]

    def write(self) -> None:
        rows = self.outcomes
        if self.interrupted:  # every subject gets a row: those not seen finishing are "interrupted"
            rows = [o or Outcome(c.id, "interrupted") for o, c in zip(self.rows, self.cases, strict=True)]
        if any(o.status != "failed" or not o.invalid for o in rows):
            write_text(self.path, _run_tsv(rows))
            self.written = time.perf_counter()


def run_subjects(
    cases: Sequence[Case],
    out: PathLike,
    steps: Sequence[str] = STEPS,
    *,
    spec: ClusterSpec | None = None,
    overwrite: bool = False,
    progress: bool = True,
    description: str = "lesionkit derivatives",
    on_outcome: Callable[[Outcome], None] | None = None,
    model: ModelRef | PathLike | Sequence[PathLike] | None = None,
    expect_lesions: bool = False,
    **options,
) -> BatchReport:
    """Run :func:`~lesionkit.pipeline.run_subject` for every case (see the module docstring).

    ``options`` go to ``run_subject`` (``tta``, ``threshold``, ``min_size_mm3``, ``deface``, ``qc``).
    ``description`` names the derivatives dataset (``dataset_description.json``), written with a README
    and ``.bidsignore`` once a subject is done. ``on_outcome`` sees every outcome as it comes (the
    command line prints failures and warnings with it). ``expect_lesions``: every subject has a lesion (a stroke
    cohort), so the cohort's QC flags an empty mask ``check``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    spec = spec or ClusterSpec()
    out = Path(out)
    start = time.perf_counter()
    if "segment" in steps:
        model = model if isinstance(model, ModelRef) else ModelRef.from_paths(model)  # hashed once, here
        load_cached_model(model)  # a bad checkpoint stops the batch before anything is written
    created = not out.exists()
    shutil.rmtree(out / STAGING, ignore_errors=True)  # what a killed batch was assembling
    table = _RunTable(out / "run.tsv", cases, on_outcome)
    pending: list[int] = []
    settings = SubjectOptions(model=model if "segment" in steps else None, **options)
    for index, case in enumerate(cases):
        try:
            path, matched = subject_record(case, out, steps, settings)
        except InvalidInputError as error:
            table.add(index, _invalid(case, error))
            continue
        if not overwrite and record_matches(path, matched, out):
            table.add(index, Outcome(case.id, "skipped"))
        else:
            pending.append(index)
    function = functools.partial(run_subject, out=out, steps=tuple(steps), model=model, overwrite=True, **options)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, disable=not progress, transient=True) as bar:
            task = bar.add_task(description, total=len(cases), completed=len(cases) - len(pending))

            def step_progress(case: Case, step: str) -> None:
                bar.update(task, description=f"{case.id}: {step}")

            with open_client(spec, len(pending)) as client:
                resources = {RESOURCE: 1} if client is not None and spec.needs_resource else None
                todo = [cases[i] for i in pending]
                for i, outcome in map_cases(function, todo, client, retries=spec.retries, resources=resources,
                                            step_progress=None if client is not None else step_progress):
                    table.add(pending[i], outcome)
                    bar.advance(task)
    except KeyboardInterrupt:
        table.interrupted = True
        raise
    finally:
        table.write()
        shutil.rmtree(out / STAGING, ignore_errors=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # every subject was refused: leave no trace
    if any(o.status in ("done", "skipped") for o in table.outcomes):
        finish_derivatives(out, description)
        if "segment" in steps and options.get("qc", True):
            from lesionkit.qc import finish_qc

            finish_qc(out, expect_lesions=expect_lesions)
    return BatchReport(table.outcomes, time.perf_counter() - start)


def _invalid(case: Case, error: InvalidInputError) -> Outcome:
    return Outcome(case.id, "failed", error=str(error), invalid=(str(error.path) if error.path else None,
                                                                  error.problem))

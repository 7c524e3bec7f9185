"""``run_demo``: what ``lesionkit demo`` does — the whole loop on a small synthetic cohort.

Synthesise a held-out cohort (:func:`lesionkit.synth.generate_cohort`, 1 mm MNI), segment it with the shipped
model or the given checkpoints (:func:`~lesionkit.pipeline.run_subjects`, as ``lesionkit segment`` does), and
evaluate the segmentation against the known truth (:func:`~lesionkit.pipeline.evaluate.evaluate_predictions`,
as ``lesionkit evaluate`` does), into ``OUT/data``, ``OUT/predictions`` and ``OUT/evaluation``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lesionkit.pipeline.batch import BatchReport, Outcome, run_subjects
from lesionkit.pipeline.models import ModelRef, load_cached_model
from lesionkit.typing import PathLike

__all__ = ["DEMO_SEED", "DemoResult", "run_demo"]

#: Held-out demo cohort: seeds disjoint from those the shipped model was trained on (see docs/model_card.md).
DEMO_SEED = 20261122


@dataclass(frozen=True)
class DemoResult:
    """The three folders, the segmentation batch, and the evaluation summary (None when a subject failed to
    segment: nothing is evaluated then)."""

    data: Path
    predictions: Path
    evaluation: Path
    segmentation: BatchReport
    summary: dict | None


def run_demo(
    out: PathLike,
    n_subjects: int = 4,
    seed: int | None = None,
    model: Sequence[PathLike] | None = None,
    *,
    log: Callable[[str], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> DemoResult:
    """Synthesise ``n_subjects`` (``seed``, default :data:`DEMO_SEED`), segment them with ``model`` (default:
    the shipped model) and evaluate; see the module docstring. ``log`` receives one line as each step starts
    and ends; ``on_outcome`` is passed to :func:`~lesionkit.pipeline.run_subjects`. Raises what those steps
    raise."""
    from lesionkit.io import validate_cases
    from lesionkit.pipeline.cases import collect_cases
    from lesionkit.pipeline.evaluate import evaluate_predictions
    from lesionkit.synth import generate_cohort

    if n_subjects < 1:
        raise ValueError(f"the demo needs at least one subject, got {n_subjects}")
    ref = ModelRef.from_paths(model)
    load_cached_model(ref)  # a missing or bad checkpoint stops the demo before anything is made
    say = log or (lambda line: None)
    seed = DEMO_SEED if seed is None else seed
    out = Path(out)
    data, predictions, evaluation = out / "data", out / "predictions", out / "evaluation"
    say(f"1/3 synthesising {n_subjects} subjects (seed {seed}) → {data}")
    generate_cohort(data, n_subjects, seed, resolution=1.0, jobs=min(2, n_subjects))
    say(f"2/3 segmenting with {', '.join(map(str, model)) if model else 'the shipped model'} → {predictions}")
    cases = collect_cases([data])
    validate_cases(cases, scans=True)
    batch = run_subjects(cases, predictions, ("segment",), description="lesionkit lesion segmentations",
                         on_outcome=on_outcome, model=ref)
    say(f"segmented: {batch.summary()}")
    if batch.failed:
        return DemoResult(data, predictions, evaluation, batch, None)
    say(f"3/3 evaluating → {evaluation}")
    _, summary = evaluate_predictions(predictions, data, evaluation)
    return DemoResult(data, predictions, evaluation, batch, summary)

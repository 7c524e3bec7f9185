"""run_demo end to end (synthesis, the shipped model, evaluation) takes minutes: tests/cli/test_demo.py runs it
(slow, and in CI) and checks its outputs; here what needs no model."""

import re
from pathlib import Path

import pytest

from lesionkit.pipeline.demo import DEMO_SEED, run_demo


def test_an_empty_demo_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="at least one subject"):
        run_demo(tmp_path / "demo", 0)
    assert not (tmp_path / "demo").exists()


def test_the_demo_seed_is_none_the_model_card_trained_or_validated_on():
    """The shipped model's cohorts are listed with their seeds in docs/model_card.md: the demo's is not among them."""
    card = (Path(__file__).resolve().parents[2] / "docs" / "model_card.md").read_text()
    used = {int(seed) for seed in re.findall(r"--seed (\d+)", card)}
    assert used and DEMO_SEED not in used

"""Leaderboards: entry per team, bootstrap rank intervals, combined weighting (lesionkit.challenge.leaderboard)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import select

from lesionkit.challenge.leaderboard import (
    bootstrap_rank_intervals,
    combined_leaderboard,
    leaderboard_csv,
    leaderboard_json,
    phase_leaderboard,
)
from lesionkit.challenge.phases import PhaseSettings, add_phase
from lesionkit.challenge.submissions import create_submission
from lesionkit.challenge.tables import Phase
from lesionkit.challenge.worker import work_one
from lesionkit.web import auth
from lesionkit.web.tables import User
from tests.challenge.conftest import make_challenge, predictions_zip, write_truth

METRICS = ("dice", "lesion_f1")


def _table(dice, f1) -> pd.DataFrame:  # noqa: ANN001
    return pd.DataFrame({"dice": dice, "lesion_f1": f1}, index=[f"c{i}" for i in range(len(dice))])


def test_rank_intervals_separate_clear_winners_only():
    rng = np.random.default_rng(0)
    n = 60
    tables = {
        "strong": _table(rng.uniform(0.8, 0.9, n), rng.uniform(0.8, 0.9, n)),
        "tie_a": _table(rng.uniform(0.3, 0.6, n), rng.uniform(0.3, 0.6, n)),
        "tie_b": _table(rng.uniform(0.3, 0.6, n), rng.uniform(0.3, 0.6, n)),
    }
    out = bootstrap_rank_intervals(tables, METRICS, n_resamples=500, seed=1)
    assert out.loc["strong", "case_rank"] == 1 and out.loc["strong", "rank_ci_high"] == 1
    assert out.loc["tie_a", "rank_ci_low"] <= 2.5 and out.loc["tie_a", "rank_ci_high"] >= 2.5  # overlap
    assert out.loc["tie_a", "rank_ci_low"] < out.loc["tie_b", "rank_ci_high"]
    again = bootstrap_rank_intervals(tables, METRICS, n_resamples=500, seed=1)
    pd.testing.assert_frame_equal(out, again)  # seeded


def test_undefined_values_rank_last():
    tables = {"a": _table([0.5, np.nan], [1, 1]), "b": _table([0.4, 0.1], [1, 1])}
    out = bootstrap_rank_intervals(tables, ("dice",), n_resamples=10)
    assert out.loc["a", "case_rank_score"] == 1.5 and out.loc["b", "case_rank_score"] == 1.5


def _submit(db, tmp_path, user_name: str, shift: int, phase: str = "test") -> None:  # noqa: ANN001
    archive = tmp_path / f"{user_name}-{shift}.zip"
    archive.write_bytes(predictions_zip(tmp_path, shift))
    with db.write() as session:
        user = session.scalar(select(User).where(User.name == user_name))
        if user is None:
            user = auth.create_user(session, user_name, f"{user_name}@example.org", "correct horse battery")
        target = session.scalar(select(Phase).where(Phase.name == phase))
        target.max_submissions = 50
        with archive.open("rb") as handle:
            create_submission(session, target, user, handle, f"shift{shift}", "d", "https://example.org")
    assert work_one(db) == "scored"


def test_best_or_latest_entry_per_team(tmp_path):
    db = make_challenge(tmp_path)
    _submit(db, tmp_path, "alice", 1)  # better (Dice higher with a smaller shift)
    _submit(db, tmp_path, "alice", 3)
    _submit(db, tmp_path, "bob", 2)
    with db.read() as session:
        board = phase_leaderboard(session, session.scalar(select(Phase)), n_resamples=100)
    assert list(board["team"]) == ["alice", "bob"] and list(board["method"]) == ["shift1", "shift2"]
    with db.write() as session:
        session.scalar(select(Phase)).entry_policy = "latest"
    with db.read() as session:
        board = phase_leaderboard(session, session.scalar(select(Phase)), n_resamples=100)
    assert list(board["team"]) == ["bob", "alice"] and board.set_index("team").loc["alice", "method"] == "shift3"
    rows = json.loads(leaderboard_json(board))
    assert rows[0]["team"] == "bob" and isinstance(rows[0]["rank_ci_low"], float)
    assert leaderboard_csv(board).splitlines()[0].startswith("team,submission,method,code_url")
    db.dispose()


def test_combined_ranking_weights_the_hidden_phase(tmp_path):
    db = make_challenge(tmp_path)
    add_phase(db, "final", write_truth(tmp_path / "truth2"), PhaseSettings(hidden=True, leaderboard_now=True))
    # alice wins the open phase, bob the hidden one (weight 4): bob wins overall
    _submit(db, tmp_path, "alice", 1, "test")
    _submit(db, tmp_path, "bob", 2, "test")
    _submit(db, tmp_path, "alice", 3, "final")
    _submit(db, tmp_path, "bob", 1, "final")
    with db.read() as session:
        table, shown = combined_leaderboard(session, None)
    assert [p.name for p in shown] == ["test", "final"] and shown[1].weight == 4
    assert list(table["team"]) == ["bob", "alice"]
    # per phase: the Dice winner has mean rank (1 + 1.5 + 1.5 + 1.5) / 4, the other (2 + 1.5 + 1.5 + 1.5) / 4
    scores = table.set_index("team")["score"]
    assert np.isclose(scores["bob"], (1.625 * 1 + 1.375 * 4) / 5)
    assert np.isclose(scores["alice"], (1.375 * 1 + 1.625 * 4) / 5)
    db.dispose()


def test_boards_are_cached_until_scoring_and_cost_one_session(client, challenge_db, tmp_path, monkeypatch):
    """The issue: /leaderboard was rebuilt on every request (139 ms CPU each) and a cached phase board still
    opened 2–3 sessions per request. Now both are cached by ``scores_version`` and a request checks out one
    connection."""
    from sqlalchemy import event

    from lesionkit.challenge import leaderboard
    from tests.challenge.conftest import sign_up, upload

    sign_up(client, "vic")
    upload(client, predictions_zip(tmp_path))
    work_one(challenge_db)
    builds = []
    real = leaderboard._combine
    monkeypatch.setattr(leaderboard, "_combine", lambda *a: builds.append(1) or real(*a))
    checkouts = []
    event.listen(challenge_db.engine, "checkout", lambda *a: checkouts.append(1))
    for path in ("/leaderboard", "/leaderboard", "/phases/test/leaderboard"):
        checkouts.clear()
        assert client.get(path).status_code == 200
        assert len(checkouts) == 1, path
    assert len(builds) == 1  # the second /leaderboard came from the cache
    upload(client, predictions_zip(tmp_path, 2))
    work_one(challenge_db)  # scoring bumps scores_version: the next read rebuilds
    assert "vic" in client.get("/leaderboard").text and len(builds) == 2


def test_a_board_is_computed_once_while_readers_get_the_previous_one():
    import threading
    import time

    from lesionkit.challenge import leaderboard

    old, new = ("phase", "db://x", 1, "p"), ("phase", "db://x", 2, "p")
    assert leaderboard._cached(old, lambda: "v1") == "v1"
    calls, started = [], threading.Event()

    def slow():  # noqa: ANN202
        calls.append(1)
        started.set()
        time.sleep(0.5)
        return "v2"

    builder = threading.Thread(target=lambda: leaderboard._cached(new, slow))
    builder.start()
    started.wait(5)
    t0 = time.perf_counter()
    assert leaderboard._cached(new, slow) == "v1"  # not a second computation, and no wait
    assert time.perf_counter() - t0 < 0.2
    builder.join()
    assert leaderboard._cached(new, slow) == "v2" and len(calls) == 1

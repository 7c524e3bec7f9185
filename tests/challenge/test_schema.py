"""The Alembic migrations build exactly the tables the models declare, on both engines (lesionkit.challenge.schema)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import lesionkit.challenge.tables  # noqa: F401
from lesionkit.challenge.schema import upgrade_database
from lesionkit.web.database import Base, Database


def test_migrations_match_the_models(db_url):
    db = Database(db_url)
    upgrade_database(db)
    upgrade_database(db)  # idempotent
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        tables = set(inspect(connection).get_table_names())
    db.dispose()
    assert diff == []
    assert {"users", "phases", "submissions", "jobs", "truth_cases", "case_results"} <= tables


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(str(tmp_path / "c.db"))
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    db.dispose()


def test_upgrade_from_0001_keeps_teams_and_hidden_phases(tmp_path):
    """Existing members become members of record (the first one admin); hidden phases get the hidden defaults."""
    from sqlalchemy import text

    db = Database(str(tmp_path / "old.db"))
    upgrade_database(db, "0001")
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO teams (id, name, created_at) VALUES (1, 'lab', '2026-01-01')"))
        for uid, name in ((1, "a"), (2, "b")):
            connection.execute(text("INSERT INTO users (id, name, email, password_hash, is_admin, team_id, created_at) "
                                    f"VALUES ({uid}, '{name}', '{name}@x.org', 'h', 0, 1, '2026-01-0{uid}')"))
        connection.execute(text(
            "INSERT INTO phases (id, name, title, hidden, leaderboard_now, show_per_case, max_submissions, "
            "window_hours, weight, metrics, entry_policy, grid_shape, grid_affine, spacing, max_upload_bytes, "
            "max_unpacked_bytes, max_members, truth_version) VALUES (1, 'test', 't', 1, 0, 0, 5, 24, 4, "
            "'[\"dice\"]', 'best', '[]', '[]', '[]', 1, 1, 1, 1)"))
    upgrade_database(db)
    with db.engine.connect() as connection:
        rows = connection.execute(text("SELECT user_id, role FROM team_memberships ORDER BY user_id")).all()
        phase = connection.execute(text("SELECT shown_metrics, significant_digits, max_total FROM phases")).one()
    db.dispose()
    assert rows == [(1, "admin"), (2, "member")]
    assert phase == ('["dice"]', 3, 10)

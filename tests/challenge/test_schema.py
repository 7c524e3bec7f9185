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

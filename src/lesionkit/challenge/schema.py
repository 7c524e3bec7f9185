"""Create or upgrade a challenge database with its Alembic migrations (``challenge/migrations``)."""

from __future__ import annotations

from pathlib import Path

from lesionkit.web.database import Database

__all__ = ["MIGRATIONS", "upgrade_database"]

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection):  # noqa: ANN001, ANN202
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade_database(db: Database, revision: str = "head") -> None:
    """Bring the database's tables to ``revision`` (creating them in an empty database).

    On SQLite, altering a table means copying and dropping it, which foreign keys to it forbid while rows
    reference it: the keys are switched off for the migration (outside its transaction, where SQLite honours
    the switch) and checked afterwards, as Alembic's batch-mode documentation advises."""
    from alembic import command

    with db.engine.connect() as connection:
        raw = connection.connection.driver_connection if db.is_sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(_config(connection), revision)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
        if raw is not None and raw.execute("PRAGMA foreign_key_check").fetchall():
            raise RuntimeError("the migration left rows whose foreign keys point nowhere")

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
    """Bring the database's tables to ``revision`` (creating them in an empty database)."""
    from alembic import command

    with db.engine.begin() as connection:
        command.upgrade(_config(connection), revision)

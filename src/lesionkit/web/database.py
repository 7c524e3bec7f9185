"""The database engine: SQLite by default (WAL, busy timeout, ``BEGIN IMMEDIATE`` for writes), PostgreSQL by URL.

SQLite allows one writer at a time. A deferred transaction that reads and then writes can fail at once with
``database is locked`` when another writer committed in between (busy timeout does not help there), so every
write transaction starts with ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of failing, and
readers (leaderboard pages) never block thanks to WAL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

__all__ = ["Base", "Database", "database_url", "open_database"]

#: How long a SQLite writer waits for the lock before giving up (ms).
BUSY_TIMEOUT_MS = 30_000
#: Connections kept open: one per server worker thread (:data:`lesionkit.web.app.THREADS`) plus a few for the
#: event loop's own short lookups, so no request waits on the pool behind the thread pool.
POOL_SIZE = 44


class Base(DeclarativeBase):
    """Declarative base of every lesionkit server table (one metadata, one Alembic history)."""


def database_url(db: str | Path) -> str:
    """``postgresql://…`` (driven by psycopg 3) and ``sqlite:///…`` URLs pass; anything else is a SQLite file path."""
    text = str(db)
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (pysqlite's own BEGIN is deferred)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # noqa: ANN001
        immediate = connection.get_execution_options().get("immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine and two session factories: :meth:`read` (plain) and :meth:`write` (immediate on SQLite)."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            connect = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
            engine = create_engine(self.url, connect_args=connect, pool_size=pool_size, max_overflow=8)
            _configure_sqlite(engine)
        else:
            engine = create_engine(self.url, pool_pre_ping=True, pool_size=pool_size, max_overflow=8)
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(engine.execution_options(immediate=True), expire_on_commit=False)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (it may write too; on SQLite a write may then wait for the lock)."""
        with self._read() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block succeeds, rolled back when it raises."""
        with self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(db: str | Path) -> Database:
    """Open (not create) the database at ``db``: a SQLite path or a ``postgresql://`` URL."""
    return Database(str(db))

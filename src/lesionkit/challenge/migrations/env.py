"""Alembic environment: runs on the connection that :func:`lesionkit.challenge.schema.upgrade_database` passes."""

from alembic import context

import lesionkit.challenge.tables  # noqa: F401  (registers the challenge tables on the shared metadata)
import lesionkit.web.tables  # noqa: F401
from lesionkit.web.database import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()

"""Alembic environment: migrations run inside the connection the store already opened.

The store is encrypted, so Alembic must not open its own connection from a URL;
`upgrade_schema` passes the unlocked connection in `config.attributes`.
"""

from alembic import context

# Imported for their side effect: their tables join Base.metadata.
import coach.store.clinical
import coach.store.legacy  # noqa: F401
from coach.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through coach.store.db.upgrade_schema")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

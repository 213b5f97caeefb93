"""Alembic environment: migrations run on the engine the service hands over."""

from __future__ import annotations

from alembic import context

import ingest.reconciling.models  # noqa: F401  (registers the reconciliation tables)
from ingest.storing import credentials  # noqa: F401  (registers the SFTP tables)
from ingest.storing.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()

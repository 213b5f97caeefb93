"""Alembic environment: migrations run on the engine the service hands over."""

from __future__ import annotations

from alembic import context

import ingest.accounts.models
import ingest.reconciling.models  # noqa: F401  (registers the reconciliation tables)
from ingest.storing import credentials  # noqa: F401  (registers the SFTP tables)
from ingest.storing.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table: copy, drop, rename. With foreign keys enforced, dropping
        # the old table checks every referring table for each of its rows (a full scan where the
        # referring column has no index). Off during the migration (it only works outside a
        # transaction, hence on the driver's connection), then checked as a whole.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise RuntimeError(f"migration broke a foreign key: {tuple(broken)}")
    finally:
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")

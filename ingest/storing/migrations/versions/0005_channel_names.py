"""deliveries: the channel by the names of ``Channel`` (sftp, dropfolder, portal, cli)

Deliveries from the drop folder were recorded as ``drop``; they are ``dropfolder`` now, as the
submission context names the channel. ``sftp`` and ``cli`` (``zvk ingest``) keep their names.
Values only: the column stays as it is.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {'drop': 'dropfolder'}  # stored value before -> after
RENAME = sa.text('UPDATE deliveries SET channel = :to WHERE channel = :was')


def upgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(RENAME.bindparams(was=old, to=new))


def downgrade() -> None:
    for old, new in RENAMED.items():
        op.execute(RENAME.bindparams(was=new, to=old))

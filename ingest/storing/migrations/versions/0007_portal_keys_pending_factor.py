"""portal: the server's signing keys, the second factor's pending secret in the session

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('portal_keys',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_portal_keys'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_totp_secret', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_column('pending_totp_secret')
    op.drop_table('portal_keys')

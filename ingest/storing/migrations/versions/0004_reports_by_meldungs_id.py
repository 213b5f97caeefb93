"""reports: the unique MeldungsId per sender indexed MeldungsId first

A Storno names the report it cancels by its MeldungsId alone; with the sender's Betriebsnummer
first in the index, finding it read the whole table. Same columns, same uniqueness, other order.
Also joins the two branches that 0002 and 0003 started.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0004'
down_revision: tuple[str, ...] = ('0002', '0003')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint('uq_reports_sender_number_meldungs_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_reports_meldungs_id_sender_number', ['meldungs_id', 'sender_number']
        )


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint('uq_reports_meldungs_id_sender_number', type_='unique')
        batch_op.create_unique_constraint(
            'uq_reports_sender_number_meldungs_id', ['sender_number', 'meldungs_id']
        )

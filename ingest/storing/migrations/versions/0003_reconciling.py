"""reconciliation: payments, runs, findings, run lock, pension points

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=14, scale=2)


def upgrade() -> None:
    op.create_table('payment_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_format', sa.String(length=20), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_files'))
    )
    with op.batch_alter_table('payment_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_files_sha256'), ['sha256'], unique=False)

    op.create_table('reconciliation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('findings', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs')),
    sa.UniqueConstraint('slot', name=op.f('uq_reconciliation_runs_slot'))
    )
    op.create_table('run_locks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_run_locks'))
    )
    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=34), nullable=False),
    sa.Column('bank_reference', sa.String(length=120), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('amount', MONEY, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('remittance', sa.Text(), nullable=False),
    sa.Column('payer', sa.String(length=140), nullable=True),
    sa.Column('billing_office_id', sa.Integer(), nullable=True),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('unmatched_reason', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['billing_office_id'], ['billing_offices.id'], name=op.f('fk_payments_billing_office_id_billing_offices')),
    sa.ForeignKeyConstraint(['file_id'], ['payment_files.id'], name=op.f('fk_payments_file_id_payment_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('account', 'bank_reference', 'booking_date', 'amount', name=op.f('uq_payments_account_bank_reference_booking_date_amount'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_file_id'), ['file_id'], unique=False)
        batch_op.create_index('ix_payments_office_month', ['billing_office_id', 'month'], unique=False)

    op.create_table('reconciliation_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('billing_office_id', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('component', sa.String(length=20), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('expected', MONEY, nullable=True),
    sa.Column('actual', MONEY, nullable=True),
    sa.Column('difference', MONEY, nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['billing_office_id'], ['billing_offices.id'], name=op.f('fk_reconciliation_findings_billing_office_id_billing_offices')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_reconciliation_findings_member_id_members')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_reconciliation_findings_person_id_persons')),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_runs.id'], name=op.f('fk_reconciliation_findings_run_id_reconciliation_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_findings'))
    )
    with op.batch_alter_table('reconciliation_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_findings_run_id'), ['run_id'], unique=False)

    op.create_table('pension_points',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('billing_office_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('age', sa.Integer(), nullable=False),
    sa.Column('factor', sa.Numeric(precision=3, scale=1), nullable=False),
    sa.Column('pay', MONEY, nullable=False),
    sa.Column('child_months', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['billing_office_id'], ['billing_offices.id'], name=op.f('fk_pension_points_billing_office_id_billing_offices')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_pension_points_person_id_persons')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_pension_points_report_id_reports')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_pension_points'))
    )
    with op.batch_alter_table('pension_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pension_points_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pension_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pension_points_person_id'))
    op.drop_table('pension_points')
    with op.batch_alter_table('reconciliation_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_findings_run_id'))
    op.drop_table('reconciliation_findings')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_office_month')
        batch_op.drop_index(batch_op.f('ix_payments_file_id'))
    op.drop_table('payments')
    op.drop_table('run_locks')
    op.drop_table('reconciliation_runs')
    with op.batch_alter_table('payment_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_files_sha256'))
    op.drop_table('payment_files')

"""the loan ledger: credit lines, drawdowns' loans, versioned schedules, transactions, idempotency
keys, and the business day close with its daily loan snapshots

Revision ID: 0008
Revises: 0007

- ``credit_lines``: one per approved application (授信).
- ``loans`` gains the terms and the balances repayments and the day close keep (overdue principal
  and interest, penalty and compound products in fen-days, ``closed_through``).
- ``installments`` (one row per period per schedule version), ``loan_schedule_versions`` and
  ``loan_transactions`` (both append-only).
- ``idempotency_keys``, ``day_closes`` and ``loan_snapshots``.

Money and rates are BIGINT (fen; millionths), never NUMERIC.
"""
from alembic import op
import sqlalchemy as sa

from nongxin.core.db import append_only_ddl


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('day_closes',
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('loans', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_day_closes_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('county_bank_id', 'business_date', name=op.f('pk_day_closes'))
    )
    op.create_table('idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=24), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_idempotency_keys_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('county_bank_id', 'scope', 'key', name=op.f('uq_idempotency_keys_county_bank_id'))
    )
    op.create_table('credit_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('annual_rate', sa.BigInteger(), nullable=False),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('end_on', sa.Date(), nullable=False),
    sa.Column('revolving', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('active', 'frozen', 'expired', 'closed', name='creditlinestatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_credit_lines_application_id_applications')),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_credit_lines_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_credit_lines_customer_id_customers')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_credit_lines_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_lines')),
    sa.UniqueConstraint('application_id', name=op.f('uq_credit_lines_application_id')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_lines_number'))
    )
    with op.batch_alter_table('credit_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_lines_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_lines_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_lines_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_lines_status'), ['status'], unique=False)

    op.create_table('installments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('paid_principal', sa.BigInteger(), nullable=False),
    sa.Column('paid_interest', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'due', 'overdue', 'paid', name='installmentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_installments_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installments')),
    sa.UniqueConstraint('loan_id', 'version', 'seq', name=op.f('uq_installments_loan_id'))
    )
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.create_index('ix_installments_due', ['due_on', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_installments_loan_id'), ['loan_id'], unique=False)

    op.create_table('loan_schedule_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_schedule_versions_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_schedule_versions')),
    sa.UniqueConstraint('loan_id', 'version', name=op.f('uq_loan_schedule_versions_loan_id'))
    )
    with op.batch_alter_table('loan_schedule_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_schedule_versions_loan_id'), ['loan_id'], unique=False)

    op.create_table('loan_snapshots',
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outstanding', sa.BigInteger(), nullable=False),
    sa.Column('overdue_principal', sa.BigInteger(), nullable=False),
    sa.Column('overdue_interest', sa.BigInteger(), nullable=False),
    sa.Column('penalty_due', sa.BigInteger(), nullable=False),
    sa.Column('compound_due', sa.BigInteger(), nullable=False),
    sa.Column('overdue_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_loan_snapshots_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_snapshots_loan_id_loans')),
    sa.PrimaryKeyConstraint('business_date', 'loan_id', name=op.f('pk_loan_snapshots'))
    )
    with op.batch_alter_table('loan_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_snapshots_county_bank_id'), ['county_bank_id'], unique=False)

    op.create_table('loan_transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('penalty', sa.BigInteger(), nullable=False),
    sa.Column('compound', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_transactions_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loan_transactions'))
    )
    with op.batch_alter_table('loan_transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loan_transactions_loan_id'), ['loan_id'], unique=False)

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credit_line_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('manager_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('term_months', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('repayment_method', sa.String(length=24), server_default='bullet', nullable=False))
        batch_op.add_column(sa.Column('annual_rate', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('penalty_markup', sa.BigInteger(), server_default='500000', nullable=False))
        batch_op.add_column(sa.Column('account', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('schedule_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('overdue_principal', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overdue_interest', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('penalty_base', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('compound_base', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('penalty_paid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('compound_paid', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overdue_since', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('overdue_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('closed_through', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_loans_credit_line_id'), ['credit_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_manager_id'), ['manager_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_loans_credit_line_id_credit_lines'), 'credit_lines', ['credit_line_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_loans_customer_id_customers'), 'customers', ['customer_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_loans_manager_id_users'), 'users', ['manager_id'], ['id'])

    for table in ('loan_transactions', 'loan_schedule_versions'):
        for statement in append_only_ddl(op.get_bind().dialect.name, table):
            op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_loans_manager_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_loans_customer_id_customers'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_loans_credit_line_id_credit_lines'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_loans_manager_id'))
        batch_op.drop_index(batch_op.f('ix_loans_customer_id'))
        batch_op.drop_index(batch_op.f('ix_loans_credit_line_id'))
        batch_op.drop_column('closed_on')
        batch_op.drop_column('closed_through')
        batch_op.drop_column('overdue_days')
        batch_op.drop_column('overdue_since')
        batch_op.drop_column('compound_paid')
        batch_op.drop_column('penalty_paid')
        batch_op.drop_column('compound_base')
        batch_op.drop_column('penalty_base')
        batch_op.drop_column('overdue_interest')
        batch_op.drop_column('overdue_principal')
        batch_op.drop_column('schedule_version')
        batch_op.drop_column('account')
        batch_op.drop_column('penalty_markup')
        batch_op.drop_column('annual_rate')
        batch_op.drop_column('repayment_method')
        batch_op.drop_column('term_months')
        batch_op.drop_column('manager_id')
        batch_op.drop_column('credit_line_id')
        batch_op.drop_column('customer_id')

    with op.batch_alter_table('loan_transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_transactions_loan_id'))

    op.drop_table('loan_transactions')
    with op.batch_alter_table('loan_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_snapshots_county_bank_id'))

    op.drop_table('loan_snapshots')
    with op.batch_alter_table('loan_schedule_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loan_schedule_versions_loan_id'))

    op.drop_table('loan_schedule_versions')
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_installments_loan_id'))
        batch_op.drop_index('ix_installments_due')

    op.drop_table('installments')
    with op.batch_alter_table('credit_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_lines_status'))
        batch_op.drop_index(batch_op.f('ix_credit_lines_institution_id'))
        batch_op.drop_index(batch_op.f('ix_credit_lines_customer_id'))
        batch_op.drop_index(batch_op.f('ix_credit_lines_county_bank_id'))

    op.drop_table('credit_lines')
    op.drop_table('idempotency_keys')
    op.drop_table('day_closes')

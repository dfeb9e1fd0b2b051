"""credit bureau: authorizations, cached reports, append-only query log; the loan ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:03:05.736732
"""
from alembic import op
import sqlalchemy as sa

from nongxin.core.db import append_only_ddl


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bureau_query_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('institution_code', sa.String(length=32), nullable=False),
    sa.Column('county_bank_code', sa.String(length=32), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('purpose', sa.String(length=2), nullable=False),
    sa.Column('authorization_id', sa.Integer(), nullable=True),
    sa.Column('for_kind', sa.String(length=16), nullable=False),
    sa.Column('for_ref', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('report_id', sa.String(length=64), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bureau_query_log'))
    )
    with op.batch_alter_table('bureau_query_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bureau_query_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_query_log_county_bank_code'), ['county_bank_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_query_log_id_number'), ['id_number'], unique=False)

    op.create_table('bureau_authorizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('subject_name', sa.String(length=100), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('face_verified', sa.Boolean(), nullable=False),
    sa.Column('evidence_ref', sa.String(length=300), nullable=False),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_bureau_authorizations_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bureau_authorizations'))
    )
    with op.batch_alter_table('bureau_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bureau_authorizations_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_authorizations_id_number'), ['id_number'], unique=False)

    op.create_table('bureau_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('report_id', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_bureau_reports_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bureau_reports'))
    )
    with op.batch_alter_table('bureau_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bureau_reports_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bureau_reports_id_number'), ['id_number'], unique=False)

    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_no', sa.String(length=40), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('borrower_kind', sa.String(length=16), nullable=False),
    sa.Column('borrower_id_number', sa.String(length=18), nullable=False),
    sa.Column('borrower_name', sa.String(length=100), nullable=False),
    sa.Column('product_code', sa.String(length=40), nullable=False),
    sa.Column('principal', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('outstanding', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'approved', 'active', 'closed', 'written_off', 'rescheduled', 'rejected', 'withdrawn', name='loanstatus', native_enum=False, length=16), nullable=False),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('maturity_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_loans_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_loans_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    sa.UniqueConstraint('loan_no', name=op.f('uq_loans_loan_no'))
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_borrower_id_number'), ['borrower_id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_institution_id'), ['institution_id'], unique=False)

    for statement in append_only_ddl(op.get_bind().dialect.name, 'bureau_query_log'):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_institution_id'))
        batch_op.drop_index(batch_op.f('ix_loans_county_bank_id'))
        batch_op.drop_index(batch_op.f('ix_loans_borrower_id_number'))

    op.drop_table('loans')
    with op.batch_alter_table('bureau_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bureau_reports_id_number'))
        batch_op.drop_index(batch_op.f('ix_bureau_reports_county_bank_id'))

    op.drop_table('bureau_reports')
    with op.batch_alter_table('bureau_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bureau_authorizations_id_number'))
        batch_op.drop_index(batch_op.f('ix_bureau_authorizations_county_bank_id'))

    op.drop_table('bureau_authorizations')
    with op.batch_alter_table('bureau_query_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bureau_query_log_id_number'))
        batch_op.drop_index(batch_op.f('ix_bureau_query_log_county_bank_code'))
        batch_op.drop_index(batch_op.f('ix_bureau_query_log_at'))

    op.drop_table('bureau_query_log')

"""unified credit: customer files, households, applications, decisions, review tasks, dated
parameters, and each approver's authority

Revision ID: 0006
Revises: 0005

- ``customers`` and ``households``: one file per identity number per county bank.
- ``applications``, ``decisions`` (one automated decision per application, stored whole as JSON)
  and ``review_tasks`` (one row per tier of the manual review).
- ``parameter_values``: dated values of registered parameters per institution (LPR, time limits).
- ``users.approval_limit``: an approver's authority in fen (NULL: none).

Money and rates are BIGINT (fen; millionths), never NUMERIC.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('village', sa.String(length=100), nullable=False),
    sa.Column('group_name', sa.String(length=100), nullable=False),
    sa.Column('household_no', sa.String(length=40), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_households_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['grid_id'], ['institutions.id'], name=op.f('fk_households_grid_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('county_bank_id', 'village', 'household_no', name=op.f('uq_households_county_bank_id'))
    )
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_households_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_households_grid_id'), ['grid_id'], unique=False)

    op.create_table('parameter_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_parameter_values_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_values')),
    sa.UniqueConstraint('name', 'institution_id', 'effective_from', name=op.f('uq_parameter_values_name'))
    )
    with op.batch_alter_table('parameter_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parameter_values_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parameter_values_name'), ['name'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('individual', 'individual_business', 'enterprise', name='customerkind', native_enum=False, length=24), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=8), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('occupation', sa.String(length=100), nullable=False),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('segment', sa.String(length=32), nullable=True),
    sa.Column('annual_income', sa.BigInteger(), nullable=True),
    sa.Column('legal_representative_id', sa.Integer(), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('relation', sa.Enum('head', 'spouse', 'child', 'parent', 'sibling', 'grandchild', 'other', name='relation', native_enum=False, length=16), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_customers_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['grid_id'], ['institutions.id'], name=op.f('fk_customers_grid_id_institutions')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_customers_household_id_households')),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['customers.id'], name=op.f('fk_customers_legal_representative_id_customers')),
    sa.ForeignKeyConstraint(['manager_id'], ['users.id'], name=op.f('fk_customers_manager_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('county_bank_id', 'id_number', name=op.f('uq_customers_county_bank_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_grid_id'), ['grid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_id_number'), ['id_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_manager_id'), ['manager_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_name'), ['name'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('product_code', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('repayment_method', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('guarantor_ids', sa.JSON(), nullable=False),
    sa.Column('channel', sa.Enum('counter', 'mobile_app', 'wechat', 'qr_code', 'batch_precredit', name='channel', native_enum=False, length=24), nullable=False),
    sa.Column('channel_ref', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('awaiting_consent', 'submitted', 'deciding', 'approved', 'rejected', 'manual_review', 'reviewed', 'withdrawn', name='applicationstatus', native_enum=False, length=24), nullable=False),
    sa.Column('filed_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_amount', sa.BigInteger(), nullable=True),
    sa.Column('approved_rate', sa.BigInteger(), nullable=True),
    sa.Column('refusal_category', sa.String(length=40), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_applications_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_applications_customer_id_customers')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_applications_filed_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_applications_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('number', name=op.f('uq_applications_number'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_filed_by_id'), ['filed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_status'), ['status'], unique=False)

    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('refusal_category', sa.String(length=40), nullable=True),
    sa.Column('limit', sa.BigInteger(), nullable=True),
    sa.Column('rate', sa.BigInteger(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('rule_book_hash', sa.String(length=64), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_us', sa.Integer(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_decisions_application_id_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('application_id', name=op.f('uq_decisions_application_id'))
    )
    op.create_table('review_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.Enum('investigation', 'review', 'approval', name='tier', native_enum=False, length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('opinion', sa.Enum('agree', 'disagree', 'return', name='opinion', native_enum=False, length=16), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('approved_amount', sa.BigInteger(), nullable=True),
    sa.Column('approved_rate', sa.BigInteger(), nullable=True),
    sa.Column('refusal_category', sa.String(length=40), nullable=True),
    sa.Column('draw', sa.JSON(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_review_tasks_application_id_applications')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_review_tasks_assignee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tasks'))
    )
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_tasks_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_tasks_assignee_id'), ['assignee_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_limit', sa.BigInteger(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('approval_limit')

    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_tasks_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_review_tasks_application_id'))

    op.drop_table('review_tasks')
    op.drop_table('decisions')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_status'))
        batch_op.drop_index(batch_op.f('ix_applications_institution_id'))
        batch_op.drop_index(batch_op.f('ix_applications_filed_by_id'))
        batch_op.drop_index(batch_op.f('ix_applications_customer_id'))
        batch_op.drop_index(batch_op.f('ix_applications_county_bank_id'))

    op.drop_table('applications')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_name'))
        batch_op.drop_index(batch_op.f('ix_customers_manager_id'))
        batch_op.drop_index(batch_op.f('ix_customers_id_number'))
        batch_op.drop_index(batch_op.f('ix_customers_household_id'))
        batch_op.drop_index(batch_op.f('ix_customers_grid_id'))
        batch_op.drop_index(batch_op.f('ix_customers_county_bank_id'))

    op.drop_table('customers')
    with op.batch_alter_table('parameter_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parameter_values_name'))
        batch_op.drop_index(batch_op.f('ix_parameter_values_institution_id'))

    op.drop_table('parameter_values')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_households_grid_id'))
        batch_op.drop_index(batch_op.f('ix_households_county_bank_id'))

    op.drop_table('households')

"""Scorecards in production (issue 17): their stability figures, model warnings, challenger scores
taken in shadow, and the champion scorecard named on each decision.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 23:42:31.832885
"""
from alembic import op
import sqlalchemy as sa

import nongxin.core.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scorecard_stability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('scorecard_code', sa.String(length=64), nullable=False),
    sa.Column('scorecard_version', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('psi', nongxin.core.db.Rate(), nullable=True),
    sa.Column('shares', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_scorecard_stability_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecard_stability')),
    sa.UniqueConstraint('business_date', 'county_bank_id', 'scorecard_code', 'scorecard_version', 'subject', name=op.f('uq_scorecard_stability_business_date'))
    )
    with op.batch_alter_table('scorecard_stability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scorecard_stability_business_date'), ['business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_scorecard_stability_county_bank_id'), ['county_bank_id'], unique=False)

    op.create_table('model_warnings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('scorecard_code', sa.String(length=64), nullable=False),
    sa.Column('scorecard_version', sa.Integer(), nullable=False),
    sa.Column('segment', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('threshold', nongxin.core.db.Rate(), nullable=False),
    sa.Column('psi', nongxin.core.db.Rate(), nullable=False),
    sa.Column('population', sa.Integer(), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('last_psi', nongxin.core.db.Rate(), nullable=False),
    sa.Column('last_seen_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='modelwarningstatus', native_enum=False, length=12), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_model_warnings_closed_by_id_users')),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_model_warnings_county_bank_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_warnings'))
    )
    with op.batch_alter_table('model_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_model_warnings_card', ['scorecard_code', 'scorecard_version', 'county_bank_id', 'subject'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_warnings_county_bank_id'), ['county_bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_warnings_status'), ['status'], unique=False)

    op.create_table('challenger_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('county_bank_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('segment', sa.String(length=40), nullable=False),
    sa.Column('champion_code', sa.String(length=64), nullable=True),
    sa.Column('champion_version', sa.Integer(), nullable=True),
    sa.Column('champion_total', sa.Integer(), nullable=True),
    sa.Column('champion_grade', sa.String(length=16), nullable=True),
    sa.Column('challenger_code', sa.String(length=64), nullable=False),
    sa.Column('challenger_version', sa.Integer(), nullable=False),
    sa.Column('challenger_plugin', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('grade', sa.String(length=16), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('missing', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_challenger_scores_application_id_applications')),
    sa.ForeignKeyConstraint(['county_bank_id'], ['institutions.id'], name=op.f('fk_challenger_scores_county_bank_id_institutions')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_challenger_scores_decision_id_decisions')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_challenger_scores_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenger_scores')),
    sa.UniqueConstraint('decision_id', 'challenger_code', 'challenger_version', name=op.f('uq_challenger_scores_decision_id'))
    )
    with op.batch_alter_table('challenger_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenger_scores_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_challenger_scores_bank_date', ['county_bank_id', 'business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenger_scores_decision_id'), ['decision_id'], unique=False)

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scorecard_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('scorecard_version', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('scorecard_version')
        batch_op.drop_column('scorecard_code')

    with op.batch_alter_table('challenger_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenger_scores_decision_id'))
        batch_op.drop_index('ix_challenger_scores_bank_date')
        batch_op.drop_index(batch_op.f('ix_challenger_scores_application_id'))

    op.drop_table('challenger_scores')
    with op.batch_alter_table('model_warnings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_warnings_status'))
        batch_op.drop_index(batch_op.f('ix_model_warnings_county_bank_id'))
        batch_op.drop_index('ix_model_warnings_card')

    op.drop_table('model_warnings')
    with op.batch_alter_table('scorecard_stability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scorecard_stability_county_bank_id'))
        batch_op.drop_index(batch_op.f('ix_scorecard_stability_business_date'))

    op.drop_table('scorecard_stability')

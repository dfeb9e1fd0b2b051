"""plugin switches: per-institution enablement and settings, and the cache generation counter

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:55:46.951015
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plugin_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_generation'))
    )
    op.execute("INSERT INTO plugin_generation (id, value) VALUES (1, 0)")
    op.create_table('plugin_switches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('plugin', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_plugin_switches_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plugin_switches')),
    sa.UniqueConstraint('institution_id', 'plugin', name='uq_plugin_switches_node')
    )
    with op.batch_alter_table('plugin_switches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plugin_switches_institution_id'), ['institution_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plugin_switches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plugin_switches_institution_id'))

    op.drop_table('plugin_switches')
    op.drop_table('plugin_generation')

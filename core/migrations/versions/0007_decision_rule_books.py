"""decision rule books: the rule definitions decisions used, stored once per hash

Revision ID: 0007
Revises: 0006

``decision_rule_books`` holds the admission rule definitions in force when a decision was made,
keyed by their SHA-256 (``decisions.rule_book_hash``), so a record does not carry a copy of every
rule and a replay recompiles exactly what was in force. Append-only.
"""
from alembic import op
import sqlalchemy as sa

from nongxin.core.db import append_only_ddl


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('decision_rule_books',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('rule_count', sa.Integer(), nullable=False),
    sa.Column('definitions', sa.JSON(), nullable=False),
    sa.Column('first_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash', name=op.f('pk_decision_rule_books'))
    )
    for statement in append_only_ddl(op.get_bind().dialect.name, 'decision_rule_books'):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('decision_rule_books')

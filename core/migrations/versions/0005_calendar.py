"""calendar: the province's overrides of the working-day calendar, and its version token

Revision ID: 0005
Revises: 0004

- ``calendar_overrides``: one row per day the province admin set (workday or holiday), winning
  over the chinesecalendar package's data and the Monday-to-Friday rule.
- ``calendar_version``: one row whose token every change replaces, so each worker knows when to
  reload its cached calendar.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('workday', 'holiday', name='daykind', native_enum=False, length=16),
              nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_overrides')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_overrides_day'))
    )
    op.create_table('calendar_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_version'))
    )
    op.execute("INSERT INTO calendar_version (id, token) VALUES (1, 'initial')")


def downgrade() -> None:
    op.drop_table('calendar_version')
    op.drop_table('calendar_overrides')

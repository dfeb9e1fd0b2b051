"""hardening: money as integer fen; keyed audit chain; chained bureau query log; no REPLACE/TRUNCATE

Revision ID: 0004
Revises: 0003

- ``loans.principal`` and ``loans.outstanding`` become BIGINT fen (SQLite kept NUMERIC as a float).
- ``audit_log.key_id`` names the key that signed each entry (NULL: written before keying).
- ``bureau_query_log`` gets ``prev_hash``/``hash``/``key_id``; its existing rows are chained with a
  plain SHA-256 (``key_id`` NULL), the prefix later keyed rows build on.
- SQLite refuses ``INSERT OR REPLACE`` on both append-only tables; PostgreSQL refuses ``TRUNCATE``.
"""
import hashlib

from alembic import op
import sqlalchemy as sa

from nongxin.core.db import append_only_ddl, no_replace_ddl

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    _money_to_fen(dialect)

    with op.batch_alter_table('audit_log', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    with op.batch_alter_table('bureau_query_log', recreate='never') as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_index('uq_bureau_query_log_prev_hash', 'bureau_query_log', ['prev_hash'], unique=True)
    op.create_index('uq_bureau_query_log_hash', 'bureau_query_log', ['hash'], unique=True)
    _chain_existing_query_log(dialect)

    for statement in no_replace_ddl(dialect, 'audit_log', ('id', 'prev_hash', 'hash')):
        op.execute(statement)
    for statement in no_replace_ddl(dialect, 'bureau_query_log', ('id', 'prev_hash', 'hash')):
        op.execute(statement)


def _money_to_fen(dialect: str) -> None:
    if dialect == "postgresql":
        for column in ('principal', 'outstanding'):
            op.execute(f"ALTER TABLE loans ALTER COLUMN {column} TYPE BIGINT USING round({column} * 100)")
        return
    # SQLite: turn the stored floats into whole fen first, then give the column integer affinity.
    op.execute("UPDATE loans SET principal = CAST(round(principal * 100) AS INTEGER), "
               "outstanding = CAST(round(outstanding * 100) AS INTEGER)")
    with op.batch_alter_table('loans') as batch_op:
        for column in ('principal', 'outstanding'):
            batch_op.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Numeric(18, 2),
                                  existing_nullable=False)


def _chain_existing_query_log(dialect: str) -> None:
    """Rows written before the chain existed get one (unkeyed), so later rows can build on it."""
    from nongxin.core.audit.chain import canonical, timestamp

    log = sa.table('bureau_query_log', *(sa.column(name) for name in (
        'id', 'operator', 'institution_code', 'county_bank_code', 'subject_kind', 'id_number',
        'purpose', 'authorization_id', 'for_kind', 'for_ref', 'provider', 'outcome', 'error',
        'report_id', 'duration_ms', 'prev_hash', 'hash')), sa.column('at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    rows = conn.execute(sa.select(log).order_by(log.c.id)).fetchall()
    if not rows:
        return
    guards = {"sqlite": ["DROP TRIGGER bureau_query_log_no_update"],
              "postgresql": ["DROP TRIGGER bureau_query_log_append_only ON bureau_query_log"]}
    for statement in guards.get(dialect, []):
        op.execute(statement)
    prev = GENESIS
    for r in rows:
        body = canonical([prev, timestamp(r.at), r.operator, r.institution_code, r.county_bank_code,
                          r.subject_kind, r.id_number, r.purpose, r.authorization_id, r.for_kind, r.for_ref,
                          r.provider, r.outcome, r.error, r.report_id, r.duration_ms])
        digest = hashlib.sha256(body).hexdigest()
        conn.execute(sa.update(log).where(log.c.id == r.id).values(prev_hash=prev, hash=digest))
        prev = digest
    for statement in append_only_ddl(dialect, 'bureau_query_log'):
        if "no_update" in statement or "append_only BEFORE" in statement:
            op.execute(statement)


def downgrade() -> None:
    raise NotImplementedError("0004 converts money to integer fen and keys the audit chains; "
                              "restore a backup to go back")

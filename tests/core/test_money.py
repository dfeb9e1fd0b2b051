"""Money is stored as integer fen on both databases: exact to the fen, and exact when summed."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from nongxin.core.credit.models import Loan, LoanStatus
from nongxin.core.db import Money, from_fen, make_engine, to_fen
from nongxin.core.institutions.models import Institution

AMOUNTS = [Decimal("0.01"), Decimal("1047.29"), Decimal("99999999999.99")]


def test_to_fen_is_exact_and_refuses_what_it_cannot_store():
    assert [to_fen(a) for a in AMOUNTS] == [1, 104729, 9999999999999]
    assert from_fen(100) == Decimal("1.00") and str(from_fen(104729)) == "1047.29"
    with pytest.raises(TypeError, match="float"):
        to_fen(1047.29)
    for bad in (Decimal("0.001"), Decimal("NaN"), Decimal("Infinity"), Decimal("1e30")):
        with pytest.raises(ValueError):
            to_fen(bad)


def test_loan_amounts_round_trip_exactly(nongxin_demo, nongxin_uow):
    session = nongxin_uow.session
    bank = session.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
    for n, amount in enumerate(AMOUNTS):
        session.add(Loan(loan_no=f"T-{n}", institution_id=bank.id, county_bank_id=bank.id, borrower_kind="resident_id",
                         borrower_id_number="11010519491231002X", borrower_name="张三", product_code="QCED",
                         principal=amount, outstanding=amount, status=LoanStatus.ACTIVE,
                         disbursed_on=date(2026, 1, 1)))
    nongxin_uow.commit()
    stored = session.execute(sa.text("SELECT principal FROM loans WHERE loan_no LIKE 'T-%' ORDER BY loan_no")).scalars()
    assert [type(v) for v in stored] == [int] * 3  # integer fen in the database, not a float
    loaded = session.execute(sa.select(Loan.principal).where(Loan.loan_no.like("T-%")).order_by(Loan.loan_no)).scalars()
    assert list(loaded) == AMOUNTS
    total = session.execute(sa.select(sa.func.sum(Loan.principal)).where(Loan.loan_no.like("T-%"))).scalar_one()
    assert total == sum(AMOUNTS) and isinstance(total, Decimal)


def test_a_million_amounts_sum_exactly_in_sql(nongxin_database_url):
    """Set-wise SQL over balances (the day close, exposure sums) adds integers, never floats."""
    engine = make_engine(nongxin_database_url)
    probe = sa.Table("money_probe", sa.MetaData(), sa.Column("amount", Money(), nullable=False))
    n = 1_000_000
    # amounts of about ten billion yuan with odd fen: a float sum would lose the fen
    fen = "(1000000000000 + ((i * 7919) % 99991))"
    with engine.begin() as conn:
        probe.create(conn)
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"INSERT INTO money_probe SELECT {fen} FROM generate_series(1::bigint, {n}) AS i"))
        else:
            conn.execute(sa.text(f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
                                 f"INSERT INTO money_probe SELECT {fen} FROM s"))
    try:
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.sum(probe.c.amount))).scalar_one()
    finally:
        with engine.begin() as conn:
            probe.drop(conn)
        engine.dispose()
    expected = sum(1000000000000 + ((i * 7919) % 99991) for i in range(1, n + 1))
    assert total == from_fen(expected) and isinstance(total, Decimal)
    assert float(expected) / 100 != total  # the same sum in floats would not be exact


def test_migration_converts_amounts_to_fen_and_chains_the_old_query_log(tmp_path):
    from nongxin.core.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO institutions (id, code, name, level, path, created_at) "
                             "VALUES (1, 'K', '县行', 'county', '/K/', '2026-01-01')"))
        conn.execute(sa.text(
            "INSERT INTO loans (loan_no, institution_id, county_bank_id, borrower_kind, borrower_id_number, "
            "borrower_name, product_code, principal, outstanding, status, created_at) VALUES "
            "('L1', 1, 1, 'resident_id', 'X', '李', 'P', 1047.29, 99999999999.99, 'active', '2026-01-01')"))
        for n in range(3):
            conn.execute(sa.text(
                "INSERT INTO bureau_query_log (at, operator, institution_code, county_bank_code, subject_kind, "
                "id_number, purpose, for_kind, for_ref, outcome, duration_ms) VALUES "
                f"('2026-01-0{n + 1} 08:00:00', 'cm', 'K', 'K', 'resident_id', 'X', '02', 'application', 'A{n}', "
                "'fetched', 5)"))
    upgrade(engine)
    from nongxin.core.audit import chain
    from nongxin.core.bureau.models import QUERY_LOG_CHAIN
    from nongxin.core.db import UnitOfWork

    with UnitOfWork(chain.session_factory(engine, chain.Keyring.from_secrets("k" * 32))) as unit:
        assert chain.verify(unit.session, QUERY_LOG_CHAIN) == []
        assert chain.head(unit.session, QUERY_LOG_CHAIN).position == 3
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT principal, outstanding FROM loans")).one()
        assert tuple(raw) == (104729, 9999999999999)
        assert conn.execute(sa.select(Loan.principal, Loan.outstanding)).one() == (
            Decimal("1047.29"), Decimal("99999999999.99"))
    engine.dispose()


def test_no_column_is_numeric_in_the_models_or_the_migrated_schema(nongxin_database_url):
    """SQLite keeps NUMERIC as a binary float: money (fen), rates (millionths) and other decimals
    (land in hundredths of a mu) are integers in every table, as declared and as migrated."""
    from nongxin.core.models import metadata

    declared = [f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns
                if isinstance(c.type, sa.Numeric)]
    assert declared == []
    engine = make_engine(nongxin_database_url)
    try:
        inspector = sa.inspect(engine)
        migrated = [f"{t}.{c['name']}" for t in inspector.get_table_names() for c in inspector.get_columns(t)
                    if isinstance(c["type"], sa.Numeric)]
    finally:
        engine.dispose()
    assert migrated == []

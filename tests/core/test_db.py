"""The engine never prints bound parameters: they hold identity numbers and names."""

import pytest
import sqlalchemy as sa

from nongxin.core.db import make_engine

ID_NUMBER = "11010519491231002X"


def test_a_failed_statement_does_not_carry_its_parameters(nongxin_database_url, caplog):
    engine = make_engine(nongxin_database_url)
    try:
        with engine.begin() as conn, pytest.raises(sa.exc.DBAPIError) as failure:
            conn.execute(sa.text("INSERT INTO no_such_table (id_number, name) VALUES (:n, :m)"),
                         {"n": ID_NUMBER, "m": "张三"})
    finally:
        engine.dispose()
    assert ID_NUMBER not in str(failure.value) and "张三" not in str(failure.value)
    assert "parameters hidden" in str(failure.value)


def test_moments_keep_their_instant_on_every_database(nongxin_database_url):
    """SQLite stores datetimes without their offset: a +08:00 moment must still read back as the
    same instant, aware, in UTC (it once read back eight hours late)."""
    from datetime import datetime, timedelta, timezone

    import sqlalchemy as sa

    from nongxin.core.db import UtcDateTime, make_engine

    engine = make_engine(nongxin_database_url)
    probe = sa.Table("moment_probe", sa.MetaData(), sa.Column("at", UtcDateTime(), nullable=False))
    beijing = datetime(2026, 11, 23, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    try:
        with engine.begin() as conn:
            probe.create(conn)
            conn.execute(probe.insert(), [{"at": beijing}])
        with engine.connect() as conn:
            back = conn.execute(sa.select(probe.c.at)).scalar_one()
            later = conn.execute(sa.select(sa.func.count()).where(
                probe.c.at >= datetime(2026, 11, 22, 16, 0, tzinfo=timezone.utc))).scalar_one()
    finally:
        with engine.begin() as conn:
            probe.drop(conn, checkfirst=True)
        engine.dispose()
    assert back == beijing and back.utcoffset() == timedelta(0)
    assert later == 1

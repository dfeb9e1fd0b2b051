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

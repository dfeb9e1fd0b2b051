"""A bank's history exported for fitting: admission facts only (never an identity number or a
name), money as 2-place text or fen, the target from the outcomes, unknown rows counted."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import main
from nongxin.core.credit.models import CreditLine, Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound, ValidationFailed
from nongxin.core.scorecards.data import fact_value, read_dataset, scale_of
from nongxin.core.scorecards.history import export
from nongxin.core.testing import file_application, open_test_loan
from nongxin.core.institutions.users import principal_named
from nongxin.sdk.identity import make_resident_id
from tests.core.scorecards.test_compare import decided

REAL = make_resident_id("370102", date(1987, 8, 8), 905)


def decide_for_real(app: Any, client: Any) -> int:
    """A real decision of the demo's salaried product, approved, with a clean loan drawn 400 days
    ago under the line it granted (a good outcome)."""
    app_id = file_application(app, id_number=REAL, name="王实名", amount="30000")
    resp = client.as_user("jinan.cm").post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved", resp.get_json()
    rt = app.extensions["nongxin"]
    loan_no = open_test_loan(app, start_on=rt.clock.business_date() - timedelta(days=400), id_number=REAL)
    with UnitOfWork(rt.sessions) as unit:
        line = unit.session.execute(sa.select(CreditLine).where(CreditLine.application_id == app_id)).scalar_one()
        unit.session.execute(sa.update(Loan).where(Loan.loan_no == loan_no).values(credit_line_id=line.id))
        unit.commit()
    return app_id


@pytest.fixture
def history(nongxin_app: Any, nongxin_client: Any) -> int:
    decided(nongxin_app, outcome="bad")
    decided(nongxin_app, outcome="good", facts={"age": 51, "annual_income": "88000.1", "segment": "salaried",
                                                "bureau_dishonest_debtor": True})
    decided(nongxin_app, outcome=None)  # unknown: left out, counted
    decided(nongxin_app, outcome="bad", segment="farmer")  # another segment
    decided(nongxin_app, place="LYRCB-LS", cm="linyi.cm", outcome="bad")  # another county bank
    return decide_for_real(nongxin_app, nongxin_client)


def run(app: Any, user: str, out: Path, **kw: Any) -> Any:
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        return export(unit, principal_named(unit.session, user), kw.pop("institution", "JNRCB"),
                      kw.pop("segment", "salaried"), out, today=rt.clock.business_date(), **kw)


def test_csv_holds_admission_facts_money_in_two_places_and_the_target(history, nongxin_app, tmp_path):
    done = run(nongxin_app, "jinan.pm", tmp_path / "salaried.csv")
    assert (done.rows, done.bads, done.goods, done.unknown) == (3, 1, 2, 1)
    with open(done.path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[-1] == "target" and "employer_check" not in header  # a connector field is not a fact
    assert [r["target"] for r in rows] == ["1", "0", "0"]
    first, second = rows[0], rows[1]
    assert (first["annual_income"], first["bureau_outstanding_debt"], first["lpr_1y"], first["age"]) == (
        "120000.00", "45000.50", "0.0310", "38")
    assert (first["bureau_dishonest_debtor"], second["bureau_dishonest_debtor"]) == ("false", "true")
    assert (second["annual_income"], second["bureau_outstanding_debt"]) == ("88000.10", "")
    assert rows[2]["amount"] == "30000.00" and rows[2]["segment"] == "salaried"  # the real decision's facts


def test_the_file_never_holds_identity_numbers_or_names(history, nongxin_app, tmp_path):
    from nongxin.core.customers.models import Customer

    done = run(nongxin_app, "jinan.pm", tmp_path / "out.csv")
    text = Path(done.path).read_text(encoding="utf-8")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        people = unit.session.execute(sa.select(Customer.id_number, Customer.name)).all()
    assert people and REAL in {p.id_number for p in people}
    for number, name in people:
        assert number not in text and name not in text
    assert not any(word in text.splitlines()[0] for word in ("id_number", "name", "phone"))


def test_parquet_has_money_as_exact_yuan_and_exact_decimals(history, nongxin_app, tmp_path):
    done = run(nongxin_app, "jinan.pm", tmp_path / "salaried.parquet")
    table = pq.read_table(done.path)
    assert str(table.schema.field("annual_income").type) == "decimal128(18, 2)"
    assert table.column("annual_income").to_pylist() == [Decimal("120000.00"), Decimal("88000.10"),
                                                           Decimal("120000.00")]
    assert table.column("amount").to_pylist() == [None, None, Decimal("30000.00")]
    assert str(table.column("lpr_1y").to_pylist()[0]) == "0.031000"
    assert table.column("target").to_pylist() == [1, 0, 0]
    assert table.column("bureau_dishonest_debtor").to_pylist()[:2] == [False, True]


def test_since_and_seasoning_narrow_and_the_export_is_audited(history, nongxin_app, tmp_path):
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    assert run(nongxin_app, "jinan.pm", tmp_path / "a.csv", since=today).rows == 1  # only the real one
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        entry = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "scorecard.history")
                                     .order_by(AuditEntry.id.desc())).scalars().first()
    assert entry is not None and entry.actor == "jinan.pm" and entry.target == "JNRCB/salaried"
    assert entry.after["rows"] == 1


def test_another_county_bank_is_404_and_a_bad_name_is_refused(history, nongxin_app, tmp_path):
    with pytest.raises(NotFound):
        run(nongxin_app, "jinan.pm", tmp_path / "out" / "x.csv", institution="LYRCB")
    with pytest.raises(ValidationFailed) as caught:
        run(nongxin_app, "jinan.pm", tmp_path / "out" / "x.xlsx")
    assert "out" in caught.value.fields
    assert not (tmp_path / "out").exists()  # nothing written
    linyi = run(nongxin_app, "linyi.admin", tmp_path / "ly.csv", institution="LYRCB")
    assert (linyi.rows, linyi.bads) == (1, 1)


def test_the_cli_writes_the_file_ready_for_fit(history, nongxin_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("NONGXIN_DATABASE_URL", nongxin_settings.database_url)
    out = tmp_path / "h.csv"
    result = CliRunner().invoke(main, ["scorecard", "history", "--institution", "JNRCB", "--segment", "salaried",
                                       "--out", str(out), "--user", "jinan.pm"])
    assert result.exit_code == 0, result.output
    assert "wrote 3 rows" in result.output and "1 left out" in result.output
    assert f"nongxin scorecard fit {out} --target target --segment salaried" in result.output
    assert out.read_text(encoding="utf-8").splitlines()[0].endswith(",target")
    refused = CliRunner().invoke(main, ["scorecard", "history", "--institution", "JNRCB", "--segment", "salaried",
                                        "--out", str(tmp_path / "h.txt"), "--user", "jinan.cm"])
    assert refused.exit_code != 0 and "out" in refused.output and "Traceback" not in refused.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_export_reads_back_as_a_fitting_data_set_to_the_fen(history, nongxin_app, tmp_path, suffix):
    """The loop's seam: what ``history`` writes, ``nongxin scorecard fit`` reads with the same
    values (money to the fen, not 100 times too much), and the target as bad/good."""
    done = run(nongxin_app, "jinan.pm", tmp_path / f"salaried{suffix}")
    data = read_dataset(Path(done.path), target="target")
    assert list(data.target) == [1, 0, 0]
    incomes = [fact_value(data.kinds["annual_income"], v, scale_of("annual_income"))
               for v in data.frame["annual_income"]]
    assert incomes == [Decimal("120000.00"), Decimal("88000.10"), Decimal("120000.00")]
    lpr = fact_value(data.kinds["lpr_1y"], data.frame["lpr_1y"].iloc[0], scale_of("lpr_1y"))
    assert lpr == Decimal("0.031")

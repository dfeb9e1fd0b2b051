"""bureau_facts: the latest cached report per identity number, summarised once, as evaluator columns."""

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from nongxin.core.bureau.models import BureauReportCache
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import feeds
from nongxin.core.institutions.models import Institution
from nongxin.plugins.bureau_sim import simulate_report
from nongxin.sdk import bureau as sdk_bureau
from nongxin.sdk.bureau import BureauSubject, BureauSummary, summarize, to_dict
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.rules.frame_columns import ColumnSource
from nongxin.sdk.rules.fields import FieldType

AS_OF = date(2026, 3, 16)
FETCHED = datetime(2026, 3, 1, 9, 0)


def subject(seq, born=date(1980, 5, 1)):
    return BureauSubject("resident_id", make_resident_id("370102", born, seq), "测试")


@pytest.fixture
def banks(nongxin_app, nongxin_demo):
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as uow:
        return dict(uow.session.execute(sa.select(Institution.code, Institution.id)
                                        .where(Institution.code.in_(["JNRCB", "LYRCB", "TARCB"]))).all())


def store(app, bank_id, report, *, fetched=FETCHED, id_number=None):
    with UnitOfWork(app.extensions["nongxin"].sessions) as uow:
        uow.session.add(BureauReportCache(county_bank_id=bank_id, id_number=id_number or report.subject.id_number,
                                          report_id=report.report_id, provider=report.provider,
                                          fetched_at=fetched, report=to_dict(report)))
        uow.commit()


def facts_of(app, bank_id, as_of=AS_OF):
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as uow:
        return feeds.bureau_facts(uow.session, bank_id, as_of)


def fen(value):
    return None if value is None else int((value * 100).quantize(Decimal(1), ROUND_HALF_UP))


def expected_row(report, as_of=AS_OF):
    types = BureauSummary.fact_types()
    return {name: (fen(v) if types[name] == "decimal" else v) for name, v in summarize(report, as_of).as_facts().items()}


def test_facts_equal_the_one_record_summary_for_simulated_reports(nongxin_app, banks):
    reports = [simulate_report(subject(seq), date(2026, 3, 1)) for seq in (999, 998, 997, 996, 995, *range(100, 130))]
    for report in reports:
        store(nongxin_app, banks["JNRCB"], report)
    frame = facts_of(nongxin_app, banks["JNRCB"])
    assert list(frame.columns) == ["id_number", *BureauSummary.fact_types()]
    assert len(frame) == len(reports) and frame["id_number"].is_unique
    for report in reports:
        row = frame.loc[frame["id_number"] == report.subject.id_number].iloc[0]
        got = {name: (None if pd.isna(row[name]) else row[name]) for name in BureauSummary.fact_types()}
        assert got == expected_row(report), report.subject.id_number
    blacklisted = frame.loc[frame["id_number"] == subject(999).id_number].iloc[0]
    assert blacklisted["bureau_dishonest_debtor"] and blacklisted["bureau_non_performing_accounts"] > 0
    # the representations the vectorized evaluator reads: bool, int64 fen, nullable fen
    types = BureauSummary.fact_types()
    for name, kind in types.items():
        if kind == "boolean":
            assert frame[name].dtype == bool, name
        elif name != "bureau_card_utilization":
            assert frame[name].dtype == "int64", name
    thin = frame.index[frame["id_number"] == subject(996).id_number][0]
    assert pd.isna(frame.loc[thin, "bureau_card_utilization"])  # no cards: unknown, not zero
    values, mask = ColumnSource(frame["bureau_card_utilization"], FieldType.DECIMAL, "u").block(0, len(frame))
    assert mask is not None and mask[thin] and values.dtype == "int64"


def test_only_the_latest_report_per_number_and_only_the_banks_own(nongxin_app, banks):
    person = subject(998)
    old = simulate_report(subject(999), date(2025, 1, 1))  # blacklisted then, under this person's number
    new = simulate_report(person, date(2026, 3, 1))
    store(nongxin_app, banks["JNRCB"], new, fetched=FETCHED)
    store(nongxin_app, banks["JNRCB"], old, fetched=FETCHED - timedelta(days=200), id_number=person.id_number)
    store(nongxin_app, banks["LYRCB"], simulate_report(subject(999, date(1990, 1, 1)), date(2026, 3, 1)))
    frame = facts_of(nongxin_app, banks["JNRCB"])
    assert frame["id_number"].tolist() == [person.id_number]
    assert not frame["bureau_dishonest_debtor"].iloc[0]  # the newer, clean report wins
    assert frame["bureau_worst_overdue_days_24m"].iloc[0] == expected_row(new)["bureau_worst_overdue_days_24m"]
    assert facts_of(nongxin_app, banks["LYRCB"])["id_number"].tolist() == [subject(999, date(1990, 1, 1)).id_number]


def test_each_report_is_summarised_once_and_as_of_the_date(nongxin_app, banks, monkeypatch):
    report = simulate_report(subject(995), date(2026, 3, 1))  # six new-credit queries in the last month
    store(nongxin_app, banks["JNRCB"], report)
    store(nongxin_app, banks["JNRCB"], simulate_report(subject(998), date(2026, 3, 1)))
    calls = []
    real = sdk_bureau.summarize
    monkeypatch.setattr(feeds, "summarize", lambda r, on: calls.append(on) or real(r, on))
    later = facts_of(nongxin_app, banks["JNRCB"], date(2026, 9, 1))
    assert calls == [date(2026, 9, 1)] * 2  # one per report
    assert (later["bureau_loan_approval_queries_1m"] == 0).all()  # months later the queries have aged out
    hungry = facts_of(nongxin_app, banks["JNRCB"], date(2026, 3, 1)).set_index("id_number")
    assert hungry.loc[report.subject.id_number, "bureau_loan_approval_queries_1m"] == 6


def test_no_reports_gives_an_empty_frame_with_every_column(nongxin_app, banks):
    frame = facts_of(nongxin_app, banks["TARCB"])
    assert frame.empty and list(frame.columns) == ["id_number", *BureauSummary.fact_types()]

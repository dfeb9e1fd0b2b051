"""The nightly classification over the ledger: classes written in bulk, history only on change,
NPL ratios exact in fen per branch and county bank, contagion across a debtor's loans,
idempotence per date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.credit.models import Loan
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.classification import classify
from nongxin.core.early_warning.models import LoanClass, LoanClassChange, NplRatio
from nongxin.core.institutions.models import Institution
from nongxin.core.testing import make_overdue, open_test_loan
from nongxin.sdk.identity import make_resident_id

PERSON = make_resident_id("370102", date(1980, 1, 1), 11)


def _rt(app: Any) -> Any:
    return app.extensions["nongxin"]


def _loans(app: Any, **kw: Any) -> dict[str, Any]:
    with UnitOfWork(_rt(app).sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(Loan.loan_no, LoanClass).join(LoanClass, LoanClass.loan_id == Loan.id)
                                    ).all()
        return {no: (c.tier, c.floor, c.reason) for no, c in rows}


def _changes(app: Any) -> list[tuple[str, str | None, str]]:
    with UnitOfWork(_rt(app).sessions, write=False) as unit:
        return [tuple(r) for r in unit.session.execute(
            sa.select(Loan.loan_no, LoanClassChange.from_tier, LoanClassChange.to_tier)
            .join(Loan, Loan.id == LoanClassChange.loan_id).order_by(LoanClassChange.id)).all()]


def _make_enterprise(app: Any, loan_no: str, uscc: str) -> None:
    with UnitOfWork(_rt(app).sessions) as unit:
        loan = unit.session.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        loan.borrower_kind, loan.borrower_id_number = "uscc", uscc
        unit.commit()


def test_classes_history_npl_and_idempotence(nongxin_app: Any, nongxin_demo: Any) -> None:
    a = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="12000.00")
    b = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="3000.55")
    make_overdue(nongxin_app, b, days=95)
    report = classify(_rt(nongxin_app), institution="LYRCB")
    bank = report.banks[0]
    assert (bank.county_bank, bank.loans, bank.by_tier, bank.changes) == ("LYRCB", 2, {"normal": 1, "substandard": 1}, 2)
    assert _loans(nongxin_app)[b][:2] == ("substandard", "substandard")
    with UnitOfWork(_rt(nongxin_app).sessions, write=False) as unit:
        out = dict(unit.session.execute(sa.select(Loan.loan_no, Loan.outstanding)).all())
        lyrcb, ls = (unit.session.execute(sa.select(Institution.id).where(Institution.code == c)).scalar_one()
                     for c in ("LYRCB", "LYRCB-LS"))
        ratios = {r.institution_id: r for r in unit.session.execute(sa.select(NplRatio)).scalars()}
    total = out[a] + out[b]
    for inst in (lyrcb, ls):
        r = ratios[inst]
        assert (r.loans, r.outstanding, r.npl_outstanding) == (2, total, out[b])
        assert r.by_tier == {"normal": [1, int(out[a] * 100)], "substandard": [1, int(out[b] * 100)]}
    assert bank.npl_ratio == (out[b] / total).quantize(Decimal("0.000001"))
    history = _changes(nongxin_app)
    assert sorted(history) == sorted([(a, None, "normal"), (b, None, "substandard")])

    again = classify(_rt(nongxin_app), institution="LYRCB")  # same date: nothing changes
    assert again.banks[0].changes == 0 and _changes(nongxin_app) == history
    with UnitOfWork(_rt(nongxin_app).sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(NplRatio)).scalar_one() == 2

    make_overdue(nongxin_app, a, days=5)  # only a changes tier: one more history row
    classify(_rt(nongxin_app), institution="LYRCB")
    assert _changes(nongxin_app) == history + [(a, "normal", "special_mention")]


def test_contagion_spreads_over_an_enterprise_loans_not_an_individual(nongxin_app: Any, nongxin_demo: Any) -> None:
    big = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="9000.00")
    small = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="1100.00")
    person_bad = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="5000.00",
                                id_number=PERSON)
    person_ok = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="5000.00",
                               id_number=PERSON)
    for no in (big, small):
        _make_enterprise(nongxin_app, no, "91370100MA3C000001")
    make_overdue(nongxin_app, small, days=120)
    make_overdue(nongxin_app, person_bad, days=120)
    classify(_rt(nongxin_app), institution="LYRCB")
    tiers = {k: v[0] for k, v in _loans(nongxin_app).items()}
    assert tiers[big] == "substandard" and tiers[small] == "substandard"  # 1100 of 10100 > 10%
    assert tiers[person_ok] == "normal"


def test_contagion_not_at_or_below_the_share(nongxin_app: Any, nongxin_demo: Any) -> None:
    big = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="9000.00")
    small = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", amount="1000.00")
    for no in (big, small):
        _make_enterprise(nongxin_app, no, "91370100MA3C000001")
    make_overdue(nongxin_app, small, days=120)
    classify(_rt(nongxin_app), institution="LYRCB")
    tiers = {k: v[0] for k, v in _loans(nongxin_app).items()}
    assert (tiers[big], tiers[small]) == ("normal", "substandard")  # exactly 10%


def test_restructured_loan_held_substandard(nongxin_app: Any, nongxin_demo: Any) -> None:
    no = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    today = _rt(nongxin_app).clock.business_date()
    make_overdue(nongxin_app, no, days=0, restructured_on=today)
    classify(_rt(nongxin_app), institution="LYRCB")
    tier, floor, reason = _loans(nongxin_app)[no]
    assert (tier, floor) == ("substandard", "substandard") and reason.startswith("restructured, observed until")


def test_an_earlier_date_after_a_later_one_is_refused(nongxin_app: Any, nongxin_demo: Any) -> None:
    from datetime import timedelta

    import pytest

    from nongxin.core.errors import ValidationFailed

    open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    today = _rt(nongxin_app).clock.business_date()
    classify(_rt(nongxin_app).as_of(today + timedelta(days=1)), institution="LYRCB")  # the books a day on
    with pytest.raises(ValidationFailed) as refused:
        classify(_rt(nongxin_app), institution="LYRCB")
    assert "as_of" in refused.value.fields


def test_a_quiet_night_rewrites_no_class_row(nongxin_app: Any, nongxin_demo: Any) -> None:
    from datetime import timedelta

    open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm")
    today = _rt(nongxin_app).clock.business_date()
    classify(_rt(nongxin_app), institution="LYRCB")
    classify(_rt(nongxin_app).as_of(today + timedelta(days=1)), institution="LYRCB")  # nothing moved
    with UnitOfWork(_rt(nongxin_app).sessions, write=False) as unit:
        assert set(unit.session.execute(sa.select(LoanClass.as_of)).scalars()) == {today}

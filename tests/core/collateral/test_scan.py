"""The nightly shortfall scan: the province's collateral rules over the positions frame, failing
rule books fail closed, and the county setting that freezes lines in shortfall."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.collateral import scan
from nongxin.core.collateral.models import Pledge
from nongxin.core.credit.ledger import Borrower, LoanTerms, open_loan
from nongxin.core.credit.models import CreditLine, CreditLineStatus
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution
from nongxin.core.institutions.users import principal_named
from nongxin.core.parameters.services import set_value
from nongxin.core.testing import open_test_item, open_test_line
from nongxin.sdk import PluginInfo, PluginKind, hookimpl

D = Decimal


def _failing_pack() -> ModuleType:
    mod = ModuleType("failing_collateral_rules")
    mod.PLUGIN = PluginInfo(name="failing_collateral_rules", version="1.0.0",  # type: ignore[attr-defined]
                            kind=PluginKind.RULES)

    @hookimpl
    def nongxin_rules(ctx: Any) -> Any:
        raise RuntimeError("rules server down")

    mod.nongxin_rules = nongxin_rules  # type: ignore[attr-defined]
    return mod


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [_failing_pack()]


def draw(app: Any, line_id: int, amount: str) -> None:
    """A loan on the line at its own county bank, through the ledger's primitive."""
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        line = unit.session.get(CreditLine, line_id)
        open_loan(unit, bank=unit.session.get(Institution, line.county_bank_id),
                  institution=unit.session.get(Institution, line.institution_id), borrower=Borrower.of(line.customer),
                  actor="test", line=line,
                  terms=LoanTerms(product_code="XIN_E_DAI", amount=D(amount), annual_rate=D("0.0435"), term_months=12,
                                  repayment_method="bullet", start_on=runtime.clock.business_date()))
        unit.commit()


def _book(app: Any) -> dict[str, int]:
    """Four Jinan lines, one per colour and one clean; a Linyi line in shortfall."""
    runtime = app.extensions["nongxin"]
    today = runtime.clock.business_date()
    red = open_test_line(app, amount="900000.00")
    open_test_item(app, value="500000.00", line_id=red)  # 500,000 x 0.9 x 0.7 = 315,000 limit
    draw(app, red, "400000.00")
    orange = open_test_line(app, amount="900000.00")
    open_test_item(app, kind="deposit", value="100000.00", line_id=orange, valued_on=today - timedelta(days=400),
                   valid_until=today + timedelta(days=10))  # valid, but over a year old
    pending = open_test_line(app, amount="900000.00")
    item = open_test_item(app, value="900000.00", line_id=pending, registration="pending")
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.execute(sa.update(Pledge).where(Pledge.item_id == item)
                             .values(pledged_on=today - timedelta(days=31)))
        unit.commit()
    yellow = open_test_line(app, amount="900000.00")
    open_test_item(app, kind="deposit", value="100000.00", line_id=yellow)  # limit 90,000
    draw(app, yellow, "85000.00")  # ltv 0.85 > 0.9 x 0.9
    clean = open_test_line(app, amount="900000.00")
    open_test_item(app, kind="deposit", value="100000.00", line_id=clean)
    draw(app, clean, "10000.00")
    linyi = open_test_line(app, place="LYRCB-LS", manager="linyi.cm", amount="900000.00", name="李临沂")
    open_test_item(app, place="LYRCB-LS", manager="linyi.cm", kind="deposit", value="100000.00", line_id=linyi)
    draw(app, linyi, "95000.00")
    return {"red": red, "orange": orange, "pending": pending, "yellow": yellow, "clean": clean, "linyi": linyi}


def _numbers(app: Any, ids: dict[str, int]) -> dict[str, str]:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        return {k: unit.session.get(CreditLine, v).number for k, v in ids.items()}


def _status(app: Any, line_id: int) -> CreditLineStatus:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        return unit.session.get(CreditLine, line_id).status


def test_hits_per_colour_from_the_province_rules_and_shortfalls(nongxin_app: Any, nongxin_demo: Any) -> None:
    ids = _book(nongxin_app)
    lines = _numbers(nongxin_app, ids)
    report = scan.scan(nongxin_app.extensions["nongxin"])
    assert not report.failures
    found = {(h.line_number, h.rule_code, h.colour) for h in report.hits}
    assert found == {(lines["red"], "PROV-COL-001", "red"), (lines["orange"], "PROV-COL-002", "orange"),
                     (lines["pending"], "PROV-COL-003", "orange"), (lines["yellow"], "PROV-COL-004", "yellow"),
                     (lines["linyi"], "PROV-COL-001", "red")}
    red = next(h for h in report.hits if h.rule_code == "PROV-COL-001" and h.county_bank == "JNRCB")
    assert red.facts == {"shortfall": D("85000.00")} and red.rule_version == 1
    assert {(s.line_number, s.shortfall) for s in report.shortfalls} == {(lines["red"], D("85000.00")),
                                                                         (lines["linyi"], D("5000.00"))}
    assert report.frozen == []  # the setting is off by default
    assert _status(nongxin_app, ids["red"]) is CreditLineStatus.ACTIVE
    only_linyi = scan.scan(nongxin_app.extensions["nongxin"], institution="LYRCB-LS")
    assert only_linyi.banks == ["LYRCB"] and {h.line_number for h in only_linyi.hits} == {lines["linyi"]}


def test_the_freeze_setting_freezes_active_lines_in_shortfall_once(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    ids = _book(nongxin_app)
    lines = _numbers(nongxin_app, ids)
    with UnitOfWork(runtime.sessions) as unit:
        set_value(unit, principal_named(unit.session, "jinan.params"), scan.FREEZES, "JNRCB", "true",
                  today=runtime.clock.business_date())
        unit.commit()
    first = scan.scan(runtime)
    assert [f.line_number for f in first.frozen] == [lines["red"]]  # Linyi's setting is still off
    assert _status(nongxin_app, ids["red"]) is CreditLineStatus.FROZEN
    assert _status(nongxin_app, ids["linyi"]) is CreditLineStatus.ACTIVE
    again = scan.scan(runtime)
    assert again.frozen == [] and len(again.shortfalls) == 2
    with UnitOfWork(runtime.sessions) as unit:
        audit = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.target == f"credit_line:{lines['red']}", AuditEntry.action == "credit_line.freeze")).scalars().all()
    assert len(audit) == 1 and audit[0].actor == scan.ACTOR


def test_a_failing_rules_plugin_fails_closed_at_its_bank_only(nongxin_app: Any, nongxin_demo: Any,
                                                              nongxin_enable: Any) -> None:
    ids = _book(nongxin_app)
    lines = _numbers(nongxin_app, ids)
    nongxin_enable("failing_collateral_rules", "JNRCB")
    report = scan.scan(nongxin_app.extensions["nongxin"])
    assert [f.county_bank for f in report.failures] == ["JNRCB"]
    assert "rules server down" in report.failures[0].problem
    assert {h.county_bank for h in report.hits} == {"LYRCB"}  # no hits where the book is unusable
    assert lines["red"] in {s.line_number for s in report.shortfalls}  # the figures still speak

"""The nightly annual review (年检) of credit lines at Linyi, end to end on the database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.bureau.models import BureauQueryLog
from nongxin.core.credit.models import CreditLine, CreditLineStatus
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import TaskEvent, Warning, WarningTask
from nongxin.core.institutions.users import principal_named
from nongxin.core.parameters.services import set_value
from nongxin.core.testing import make_test_village, open_test_line
from nongxin.core.village import annual_review
from nongxin.core.village.models import LineReview
from nongxin.sdk.identity import make_resident_id

CLEAN, BLACKLISTED = 998, 999  # the simulated bureau's profiles (core/demo.py)


@pytest.fixture
def linyi(nongxin_app: Any, nongxin_demo: Any, nongxin_enable: Any) -> Any:
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    return nongxin_app


def setting(app: Any, name: str, text: str, where: str = "LYRCB") -> None:
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        set_value(unit, principal_named(unit.session, "province.params"), name, where, text,
                  today=runtime.clock.business_date())
        unit.commit()


def village_line(app: Any, *, amount: str, profile: int = CLEAN, colour: str = "green", days: int = 365) -> int:
    """A green household's head with the simulated bureau's ``profile``, holding a 沂蒙云贷 line
    that started ``days`` ago (365: its review falls due today)."""
    runtime = app.extensions["nongxin"]
    village = make_test_village(app, households=1, colours=[colour])
    with UnitOfWork(runtime.sessions) as unit:
        head = unit.session.get(Customer, village.heads[0])
        head.id_number = make_resident_id("371302", head.birth_date, profile)
        number, name = head.id_number, head.name
        unit.commit()
    today = runtime.clock.business_date()
    return open_test_line(app, place="LYRCB-LS-G01", amount=amount, products=("YMYD",), manager="linyi.cm",
                          id_number=number, name=name, start_on=today - timedelta(days=days),
                          end_on=today + timedelta(days=700))


def reviews(app: Any, line_id: int) -> list[LineReview]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        rows = list(unit.session.execute(sa.select(LineReview).where(LineReview.credit_line_id == line_id)).scalars())
        unit.session.expunge_all()
        return rows


def line_of(app: Any, line_id: int) -> CreditLine:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        line = unit.session.get(CreditLine, line_id)
        unit.session.expunge(line)
        return line


def bank(report: annual_review.ReviewReport) -> annual_review.BankReview:
    return next(b for b in report.banks if b.county_bank == "LYRCB")


def test_a_clean_green_line_passes_and_its_next_review_is_a_year_on(linyi: Any) -> None:
    runtime = linyi.extensions["nongxin"]
    today = runtime.clock.business_date()
    line_id = village_line(linyi, amount="30000.00")
    report = annual_review.run(runtime, institution="LYRCB")
    assert (bank(report).due, bank(report).passed, bank(report).on_site) == (1, 1, 0), report.as_dict()
    [review] = reviews(linyi, line_id)
    assert review.result == "passed" and review.action == "none" and review.reasons == []
    assert review.amount_before == review.amount_after == Decimal("30000.00")
    assert review.recomputed_limit is not None and review.recomputed_limit >= Decimal("30000")
    assert review.facts["values"]["peer_review"] == "green" and review.facts["bureau"]["outcome"] in ("fetched", "reused")
    line = line_of(linyi, line_id)
    assert line.status.value == "active" and line.review_due_on is not None and line.review_due_on > today
    assert review.due_on <= today and line.review_due_on.year == review.due_on.year + 1
    with UnitOfWork(runtime.sessions, write=False) as unit:  # the bureau was asked for post-loan management
        [log] = unit.session.execute(sa.select(BureauQueryLog).where(BureauQueryLog.for_ref == line.number)).scalars()
        assert (log.purpose, log.for_kind, log.authorization_id, log.operator) == (
            "01", "credit_line", None, annual_review.ACTOR)


def test_negative_bureau_information_opens_a_task_and_freezes_the_line(linyi: Any) -> None:
    runtime = linyi.extensions["nongxin"]
    today = runtime.clock.business_date()
    line_id = village_line(linyi, amount="30000.00", profile=BLACKLISTED)
    report = annual_review.run(runtime, institution="LYRCB")
    assert (bank(report).on_site, bank(report).frozen, bank(report).tasks_opened) == (1, 1, 1), report.as_dict()
    [review] = reviews(linyi, line_id)
    assert review.result == "on_site" and review.action == "frozen"
    assert any(r.startswith("bureau:") for r in review.reasons), review.reasons
    assert line_of(linyi, line_id).status.value == "frozen"
    with UnitOfWork(runtime.sessions, write=False) as unit:
        warning = unit.session.get(Warning, review.warning_id)
        assert (warning.subject_kind, warning.stage, warning.rule_code, warning.colour) == (
            "line", "annual_review", "ANNUAL_REVIEW", "orange")
        assert "bureau:" in warning.reason and warning.line_number == line_of(linyi, line_id).number
        [task] = unit.session.execute(sa.select(WarningTask).where(WarningTask.warning_id == warning.id)).scalars()
        manager = principal_named(unit.session, "linyi.cm")
        assert task.due_on > today and task.status.value == "open"
        assert task.assigned_to == unit.session.execute(sa.select(Customer.manager_id).join(
            CreditLine, CreditLine.customer_id == Customer.id).where(CreditLine.id == line_id)).scalar_one()
        assert manager.username == "linyi.cm"
        [event] = unit.session.execute(sa.select(TaskEvent).where(TaskEvent.task_id == task.id)).scalars()
        assert event.actor == annual_review.ACTOR
        audit = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "credit_line.freeze", AuditEntry.actor == annual_review.ACTOR)).scalars().all()
        assert len(audit) == 1


def test_a_limit_below_the_tolerance_reduces_the_line_when_the_county_says_reduce(linyi: Any) -> None:
    setting(linyi, "annual_review.failed_action", "reduce")
    runtime = linyi.extensions["nongxin"]
    line_id = village_line(linyi, amount="290000.00")
    report = annual_review.run(runtime, institution="LYRCB")
    assert (bank(report).on_site, bank(report).reduced, bank(report).frozen) == (1, 1, 0), report.as_dict()
    [review] = reviews(linyi, line_id)
    assert review.action == "reduced" and [r for r in review.reasons if r.startswith("limit:")] == review.reasons
    assert review.recomputed_limit is not None and review.amount_after == review.recomputed_limit < Decimal("290000")
    line = line_of(linyi, line_id)
    assert line.amount == review.recomputed_limit and line.status.value == "active"


def test_the_tolerance_lets_a_small_drop_pass(linyi: Any) -> None:
    runtime = linyi.extensions["nongxin"]
    line_id = village_line(linyi, amount="290000.00")
    setting(linyi, "annual_review.tolerance", "0.95", "SD")  # a county may only tighten it
    report = annual_review.run(runtime, institution="LYRCB")
    assert bank(report).passed == 1, report.as_dict()
    assert reviews(linyi, line_id)[0].result == "passed"


def test_a_second_run_on_the_same_date_changes_nothing_and_a_line_not_due_is_untouched(linyi: Any) -> None:
    runtime = linyi.extensions["nongxin"]
    due = village_line(linyi, amount="30000.00", profile=BLACKLISTED)
    young = village_line(linyi, amount="30000.00", days=100)
    first = annual_review.run(runtime, institution="LYRCB")
    assert bank(first).due == 1
    second = annual_review.run(runtime, institution="LYRCB")
    assert (bank(second).due, bank(second).tasks_opened) == (0, 0)
    assert len(reviews(linyi, due)) == 1 and reviews(linyi, young) == []
    young_line = line_of(linyi, young)
    assert young_line.review_due_on is None and young_line.status.value == "active"
    with UnitOfWork(runtime.sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(WarningTask).join(
            Warning, Warning.id == WarningTask.warning_id).where(Warning.subject_id == due,
                                                                 Warning.subject_kind == "line")).scalar_one() == 1


# -- over HTTP ----------------------------------------------------------------------------------

def test_run_and_read_over_http(linyi: Any, nongxin_client: Any) -> None:
    passed = village_line(linyi, amount="30000.00")
    failed = village_line(linyi, amount="30000.00", profile=BLACKLISTED)
    postloan = nongxin_client.as_user("linyi.postloan")
    resp = postloan.post("/api/annual-reviews/run", json={})
    assert resp.status_code == 200, resp.get_json()
    [lyrcb] = resp.get_json()["banks"]
    assert (lyrcb["county_bank"], lyrcb["due"], lyrcb["passed"], lyrcb["on_site"], lyrcb["frozen"]) == (
        "LYRCB", 2, 1, 1, 1)
    assert postloan.post("/api/annual-reviews/run", json={}).get_json()["banks"][0]["due"] == 0  # idempotent
    body = postloan.get("/api/annual-reviews?result=on_site").get_json()
    assert [r["credit_line_id"] for r in body["items"]] == [failed]
    item = body["items"][0]
    assert item["action"] == "frozen" and item["warning_id"] and item["amount_before"] == "30000.00"
    today = linyi.extensions["nongxin"].clock.business_date().isoformat()
    assert {r["credit_line_id"] for r in postloan.get(f"/api/annual-reviews?business_date={today}").get_json()[
        "items"]} == {passed, failed}
    mine = postloan.get(f"/api/credit-lines/{passed}/reviews").get_json()["items"]
    assert [(r["result"], r["line_number"]) for r in mine] == [("passed", line_of(linyi, passed).number)]


def test_another_county_bank_sees_nothing_and_may_not_run_it(linyi: Any, nongxin_client: Any) -> None:
    line = village_line(linyi, amount="30000.00")
    nongxin_client.as_user("linyi.admin").post("/api/annual-reviews/run", json={"institution": "LYRCB"})
    jinan = nongxin_client.as_user("jinan.admin")
    assert jinan.get(f"/api/credit-lines/{line}/reviews").status_code == 404
    assert jinan.get("/api/annual-reviews").get_json()["items"] == []
    assert jinan.get("/api/annual-reviews?institution=LYRCB").status_code == 404
    resp = jinan.post("/api/annual-reviews/run", json={"institution": "LYRCB"})
    assert resp.status_code == 404 and "institution" in resp.get_json()["fields"]
    assert nongxin_client.as_user("linyi.cm").post("/api/annual-reviews/run", json={}).status_code == 403
    bad = nongxin_client.as_user("linyi.admin").get("/api/annual-reviews?result=maybe")
    assert bad.status_code == 422 and "result" in bad.get_json()["fields"]


def test_a_post_loan_query_for_a_line_needs_the_subjects_held_line_at_the_bank(linyi: Any) -> None:
    from nongxin.core.bureau import services as bureau
    from nongxin.core.errors import Forbidden, ValidationFailed

    runtime = linyi.extensions["nongxin"]
    line_id = village_line(linyi, amount="30000.00")
    other = village_line(linyi, amount="30000.00", profile=BLACKLISTED)
    with UnitOfWork(runtime.sessions) as unit:
        me = principal_named(unit.session, "linyi.postloan")
        line, theirs = unit.session.get(CreditLine, line_id), unit.session.get(CreditLine, other)
        customer = unit.session.get(Customer, line.customer_id)
        subject = bureau.SubjectInput("resident_id", customer.id_number, customer.name)

        def ask(ref: str, who: Any = me) -> Any:
            return bureau.query(unit, who, runtime.plugins, runtime.settings, subject=subject, purpose="01",
                                for_kind="credit_line", for_ref=ref)

        with pytest.raises(ValidationFailed) as wrong:
            ask(theirs.number)
        assert wrong.value.code == "line_of_another_subject"
        with pytest.raises(ValidationFailed) as elsewhere:  # Jinan's bank holds no such line
            ask(line.number, principal_named(unit.session, "jinan.postloan"))
        assert elsewhere.value.code == "line_not_found"
        line.status = CreditLineStatus.CLOSED
        with pytest.raises(Forbidden):
            ask(line.number)
        unit.rollback()


def test_the_on_site_check_is_a_task_the_manager_lists_and_closes(linyi: Any, nongxin_client: Any) -> None:
    village_line(linyi, amount="30000.00", profile=BLACKLISTED)
    nongxin_client.as_user("linyi.postloan").post("/api/annual-reviews/run", json={})
    cm = nongxin_client.as_user("linyi.cm")
    tasks = [t for t in cm.get("/api/tasks").get_json() if t["rule"] == "ANNUAL_REVIEW"]
    assert len(tasks) == 1 and tasks[0]["colour"] == "orange", tasks
    closed = cm.post(f"/api/tasks/{tasks[0]['id']}/close", json={
        "findings": "现场走访，征信逾期已结清", "disposal": "monitor", "evidence": ["年检走访记录.jpg"]})
    assert closed.status_code == 200, closed.get_json()
    review = nongxin_client.as_user("linyi.postloan").get("/api/annual-reviews").get_json()["items"][0]
    with UnitOfWork(linyi.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.get(Warning, review["warning_id"]).status.value == "closed"

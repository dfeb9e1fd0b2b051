"""Three-tier manual review: the flow, separation of duties, the random draw, time limits.

Applications start in ``manual_review`` through the ORM (``nongxin.core.testing.manual_review_application``,
the same ``review.start`` the decision calls), so these tests need neither filing nor the decision.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit import review
from nongxin.core.credit.models import Application, ApplicationStatus, Opinion, ReviewTask, Tier
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Forbidden
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role, User
from nongxin.core.parameters.models import ParameterValue
from nongxin.core.testing import manual_review_application


# -- the fixture: approvers with authority, a second reviewer -----------------------------------

@pytest.fixture
def people(nongxin_app: Any, nongxin_demo: Any) -> dict[str, str]:
    """jinan.approver may approve up to 100,000 yuan, jinan.approver2 up to 500,000; a second
    reviewer and a second customer manager; tokens for each."""
    sessions = nongxin_app.extensions["nongxin"].sessions
    with UnitOfWork(sessions) as unit:
        for name, role, place in [("jinan.approver2", Role.APPROVER, "JNRCB"),
                                  ("jinan.reviewer2", Role.REVIEWER, "JNRCB"),
                                  ("jinan.cm2", Role.CUSTOMER_MANAGER, "JNRCB-LX")]:
            users.create_user(unit, None, username=name, display_name=name, role=role, institution_code=place)
            nongxin_demo.tokens[name], _ = users.issue_token(unit, name, days=1, max_days=30)
        for name, limit in [("jinan.approver", "100000"), ("jinan.approver2", "500000")]:
            _user(unit, name).approval_limit = Decimal(limit)
        unit.commit()
    return nongxin_demo.tokens


def _user(unit: UnitOfWork, name: str) -> User:
    return unit.session.execute(sa.select(User).where(User.username == name)).scalar_one()


def _tasks(app: Any, app_id: int) -> list[ReviewTask]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        rows = list(unit.session.execute(sa.select(ReviewTask).where(ReviewTask.application_id == app_id)
                                         .order_by(ReviewTask.id)).scalars())
        for t in rows:
            t.assignee.username  # noqa: B018  (load before the session closes)
        unit.session.expunge_all()
        return rows


def _status(app: Any, app_id: int) -> Application:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        row = unit.session.get(Application, app_id)
        assert row is not None
        unit.session.expunge(row)
        return row


def _post(client: Any, user: str, app_id: int, **body: Any) -> Any:
    return client.as_user(user).post(f"/api/applications/{app_id}/review", json=body)


def _open_assignee(app: Any, app_id: int) -> str:
    return next(t for t in _tasks(app, app_id) if t.done_at is None).assignee.username


# -- the flow -----------------------------------------------------------------------------------

def test_the_full_agree_path_with_a_lower_amount_and_another_rate(nongxin_app, nongxin_client, people,
                                                                   nongxin_enable) -> None:
    nongxin_enable("provincial_products", "JNRCB")
    app_id = manual_review_application(nongxin_app, amount="80000")
    first = _tasks(nongxin_app, app_id)
    assert [(t.tier, t.assignee.username) for t in first] == [(Tier.INVESTIGATION, "jinan.cm")]

    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="agree", comment="走访核实,收入稳定")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["task"]["opinion"] == "agree" and body["next"]["tier"] == "review"
    assert body["next"]["assignee"] in {"jinan.reviewer", "jinan.reviewer2"}
    assert body["application"]["status"] == "manual_review"

    reviewer = body["next"]["assignee"]
    resp = _post(nongxin_client, reviewer, app_id, opinion="agree", comment="资料齐全")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["application"]["status"] == "reviewed"
    assert body["next"]["tier"] == "approval" and body["next"]["draw"]["seed"]
    approver = body["next"]["assignee"]
    assert approver in {"jinan.approver", "jinan.approver2"}

    resp = _post(nongxin_client, approver, app_id, opinion="agree", comment="同意,降额", amount="60000.00",
                 rate="0.0520")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["application"] == {
        "id": app_id, "number": resp.get_json()["application"]["number"], "status": "approved", "amount": "80000.00",
        "approved_amount": "60000.00", "approved_rate": "0.052", "refusal_category": None}
    stored = _status(nongxin_app, app_id)
    assert stored.status is ApplicationStatus.APPROVED and stored.approved_amount == Decimal("60000.00")
    assert stored.approved_rate == Decimal("0.052")

    shown = nongxin_client.as_user("jinan.admin").get(f"/api/applications/{app_id}/review").get_json()
    assert [(t["tier"], t["opinion"]) for t in shown["tasks"]] == [
        ("investigation", "agree"), ("review", "agree"), ("approval", "agree")]
    assert shown["tasks"][0]["comment"] == "走访核实,收入稳定"
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        actions = list(unit.session.execute(sa.select(AuditEntry.action).where(
            AuditEntry.target == f"application:{stored.number}").order_by(AuditEntry.id)).scalars())
    assert actions == ["review.investigation.assign", "review.investigation", "review.review.assign",
                       "review.review", "application.reviewed", "review.approval.assign", "review.approval",
                       "application.approved"]


def test_return_is_refused_at_the_first_tier_and_writes_nothing(nongxin_app, nongxin_client, people,
                                                                db_snapshot) -> None:
    app_id = manual_review_application(nongxin_app)
    before = db_snapshot()
    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="return")
    assert resp.status_code == 422 and "opinion" in resp.get_json()["fields"]
    assert db_snapshot() == before


def test_investigation_disagree_needs_a_category_and_rejects(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="disagree", comment="多头借贷")
    assert resp.status_code == 422 and list(resp.get_json()["fields"]) == ["refusal_category"]
    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="disagree", refusal_category="bogus")
    assert resp.status_code == 422 and "refusal_category" in resp.get_json()["fields"]
    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="disagree", refusal_category="multi_lending")
    assert resp.status_code == 200 and resp.get_json()["application"]["status"] == "rejected"
    assert _status(nongxin_app, app_id).refusal_category == "multi_lending"
    # the task is closed and the application closed: acting again is 409 naming the state
    again = _post(nongxin_client, "jinan.cm", app_id, opinion="agree")
    assert again.status_code == 409 and "rejected" in again.get_json()["message"]


def _to_review(app: Any, client: Any, app_id: int, investigator: str = "jinan.cm") -> str:
    assert _post(client, investigator, app_id, opinion="agree").status_code == 200
    return _open_assignee(app, app_id)


def _to_approval(app: Any, client: Any, app_id: int) -> tuple[str, str]:
    reviewer = _to_review(app, client, app_id)
    resp = _post(client, reviewer, app_id, opinion="agree")
    assert resp.status_code == 200, resp.get_json()
    return reviewer, _open_assignee(app, app_id)


def test_review_return_goes_back_to_the_investigator(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    reviewer = _to_review(nongxin_app, nongxin_client, app_id)
    resp = _post(nongxin_client, reviewer, app_id, opinion="return", comment="补充收入证明")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["next"]["tier"] == "investigation" and resp.get_json()["next"]["assignee"] == "jinan.cm"
    assert _status(nongxin_app, app_id).status is ApplicationStatus.MANUAL_REVIEW
    assert _post(nongxin_client, "jinan.cm", app_id, opinion="agree").status_code == 200
    assert [t.tier for t in _tasks(nongxin_app, app_id)] == [Tier.INVESTIGATION, Tier.REVIEW, Tier.INVESTIGATION,
                                                             Tier.REVIEW]


def test_review_disagree_still_goes_to_an_approver(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    reviewer = _to_review(nongxin_app, nongxin_client, app_id)
    resp = _post(nongxin_client, reviewer, app_id, opinion="disagree", comment="负债偏高")
    assert resp.status_code == 200 and resp.get_json()["application"]["status"] == "reviewed"
    assert resp.get_json()["next"]["tier"] == "approval"


def test_approval_return_goes_back_to_review_and_disagree_rejects(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    _, approver = _to_approval(nongxin_app, nongxin_client, app_id)
    resp = _post(nongxin_client, approver, app_id, opinion="return", comment="补充担保")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["next"]["tier"] == "review"
    assert _status(nongxin_app, app_id).status is ApplicationStatus.MANUAL_REVIEW

    reviewer = _open_assignee(nongxin_app, app_id)
    assert _post(nongxin_client, reviewer, app_id, opinion="agree").status_code == 200
    approver = _open_assignee(nongxin_app, app_id)
    resp = _post(nongxin_client, approver, app_id, opinion="disagree")
    assert resp.status_code == 422 and "refusal_category" in resp.get_json()["fields"]
    resp = _post(nongxin_client, approver, app_id, opinion="disagree", refusal_category="dishonest_debtor")
    assert resp.status_code == 200 and resp.get_json()["application"]["status"] == "rejected"
    assert _status(nongxin_app, app_id).refusal_category == "dishonest_debtor"


def test_the_approver_stays_within_the_amount_their_authority_and_the_rate_range(
        nongxin_app, nongxin_client, people, nongxin_enable, db_snapshot) -> None:
    nongxin_enable("provincial_products", "JNRCB")
    app_id = manual_review_application(nongxin_app, amount="80000")
    _, approver = _to_approval(nongxin_app, nongxin_client, app_id)
    before = db_snapshot()
    for body, field in [({"amount": "90000"}, "amount"), ({"amount": "0"}, "amount"), ({"amount": "1.001"}, "amount"),
                        ({"amount": "NaN"}, "amount"), ({"rate": "0.20"}, "rate"), ({"rate": "0.01"}, "rate"),
                        ({"rate": "abc"}, "rate")]:
        resp = _post(nongxin_client, approver, app_id, opinion="agree", **body)
        assert resp.status_code == 422 and field in resp.get_json()["fields"], (body, resp.get_json())
    assert db_snapshot() == before
    # the authority: lower the drawn approver's limit below the amount
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        _user(unit, approver).approval_limit = Decimal("50000")
        unit.commit()
    resp = _post(nongxin_client, approver, app_id, opinion="agree")
    assert resp.status_code == 422 and "approval limit of 50000.00" in resp.get_json()["fields"]["amount"][0]
    resp = _post(nongxin_client, approver, app_id, opinion="agree", amount="50000", rate="0.052")
    assert resp.status_code == 200 and resp.get_json()["application"]["approved_amount"] == "50000.00"


def test_only_eligible_approvers_are_drawn_and_none_leaves_the_application_reviewed(
        nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, amount="300000")  # above jinan.approver's 100,000
    reviewer = _to_review(nongxin_app, nongxin_client, app_id)
    resp = _post(nongxin_client, reviewer, app_id, opinion="agree")
    assert resp.status_code == 200
    assert resp.get_json()["next"]["assignee"] == "jinan.approver2"
    assert resp.get_json()["next"]["draw"]["usernames"] == ["jinan.approver2"]

    app2 = manual_review_application(nongxin_app, amount="600000")  # above everyone's authority
    reviewer = _to_review(nongxin_app, nongxin_client, app2)
    resp = _post(nongxin_client, reviewer, app2, opinion="agree", comment="可以")
    assert resp.status_code == 409 and resp.get_json()["error"] == "no_eligible_approver"
    assert "600000" in resp.get_json()["message"]
    stored = _tasks(nongxin_app, app2)
    assert _status(nongxin_app, app2).status is ApplicationStatus.REVIEWED  # the review is kept
    assert [(t.tier, t.opinion) for t in stored][-1] == (Tier.REVIEW, Opinion.AGREE)
    again = _post(nongxin_client, "jinan.approver2", app2, opinion="agree")
    assert again.status_code == 409 and again.get_json()["error"] == "no_eligible_approver"
    # a county admin raises a limit; the approver is drawn then
    limit = nongxin_client.as_user("jinan.admin").put("/api/users/jinan.approver2/approval-limit",
                                                      json={"amount": "1000000"})
    assert limit.status_code == 200 and limit.get_json()["approval_limit"] == "1000000.00"
    out = CliRunner().invoke(main, ["review", "draw", str(app2)],
                             obj=Console(nongxin_app.extensions["nongxin"].settings), catch_exceptions=False)
    assert out.exit_code == 0 and "jinan.approver2" in out.output
    assert _open_assignee(nongxin_app, app2) == "jinan.approver2"


# -- separation of duties, in the services --------------------------------------------------------

def _reassign(app: Any, app_id: int, username: str, role: Role) -> None:
    """Give ``username`` the role of the open task's tier and the task itself: what the draw never
    does, so only the separation check can refuse it."""
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        user = _user(unit, username)
        user.role = role
        task = review.open_task(unit, app_id)
        assert task is not None
        task.assignee_id = user.id
        unit.commit()


def test_the_investigator_may_not_review(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm2")
    assert _post(nongxin_client, "jinan.cm2", app_id, opinion="agree").status_code == 200
    _reassign(nongxin_app, app_id, "jinan.cm2", Role.REVIEWER)  # promoted to the review centre
    resp = _post(nongxin_client, "jinan.cm2", app_id, opinion="agree")
    assert resp.status_code == 403 and resp.get_json()["error"] == "separation_of_duties", resp.get_json()


def test_the_investigator_may_not_approve(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm2")
    _to_approval_by(nongxin_app, nongxin_client, app_id, "jinan.cm2")
    _reassign(nongxin_app, app_id, "jinan.cm2", Role.APPROVER)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        _user(unit, "jinan.cm2").approval_limit = Decimal("1000000")
        unit.commit()
    resp = _post(nongxin_client, "jinan.cm2", app_id, opinion="agree")
    assert resp.status_code == 403 and resp.get_json()["error"] == "separation_of_duties", resp.get_json()


def _to_approval_by(app: Any, client: Any, app_id: int, investigator: str) -> str:
    assert _post(client, investigator, app_id, opinion="agree").status_code == 200
    reviewer = _open_assignee(app, app_id)
    assert _post(client, reviewer, app_id, opinion="agree").status_code == 200
    return reviewer


def test_the_reviewer_may_not_approve_even_through_the_service(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    reviewer = _to_approval_by(nongxin_app, nongxin_client, app_id, "jinan.cm")
    _reassign(nongxin_app, app_id, reviewer, Role.APPROVER)
    rt = nongxin_app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        _user(unit, reviewer).approval_limit = Decimal("1000000")
        me = users.principal_named(unit.session, reviewer)
        with pytest.raises(Forbidden) as refused:
            review.act(unit, me, rt.calendar, rt.plugins, app_id, date(2026, 11, 23), opinion=Opinion.AGREE)
        assert refused.value.code == "separation_of_duties"
        unit.rollback()


def test_the_draw_never_offers_the_investigator_or_the_reviewer(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm2")
    reviewer = _to_review(nongxin_app, nongxin_client, app_id, "jinan.cm2")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        for name in ("jinan.cm2", reviewer):  # both made approvers with authority
            _user(unit, name).role = Role.APPROVER
            _user(unit, name).approval_limit = Decimal("1000000")
        unit.commit()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        found = unit.session.get(Application, app_id)
        assert found is not None
        names = {u.username for u in review.candidates(unit, found, Tier.APPROVAL)}
    assert names == {"jinan.approver", "jinan.approver2"}


def test_only_the_assignee_acts_and_roles_follow_the_tier(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    resp = _post(nongxin_client, "jinan.cm2", app_id, opinion="agree")
    assert resp.status_code == 403 and resp.get_json()["error"] == "not_assignee"
    resp = _post(nongxin_client, "jinan.reviewer", app_id, opinion="agree")
    assert resp.status_code == 403 and "review.investigate" in resp.get_json()["message"]
    resp = _post(nongxin_client, "jinan.admin", app_id, opinion="agree")
    assert resp.status_code == 403


# -- the draw, re-checked from the audit trail ---------------------------------------------------

def test_the_approver_draw_is_recorded_and_recheckable(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, amount="50000")
    _to_approval(nongxin_app, nongxin_client, app_id)
    task = _tasks(nongxin_app, app_id)[-1]
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        entry = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "review.approval.assign").order_by(AuditEntry.id.desc())).scalars().first()
        assert entry is not None
        draw = entry.after["draw"]
        ids = {u.id for u in unit.session.execute(sa.select(User).where(
            User.username.in_(["jinan.approver", "jinan.approver2"]))).scalars()}
    assert set(draw["candidates"]) == ids and draw["candidates"] == sorted(draw["candidates"])
    assert int(draw["seed"]) < 2**64
    assert review.redo_draw(draw) == task.assignee_id == draw["chosen"]
    assert task.draw == draw


def test_draws_vary_with_the_seed() -> None:
    picked = {review.redo_draw({"seed": str(seed), "candidates": [3, 1, 2]}) for seed in range(40)}
    assert picked == {1, 2, 3}


# -- time limits --------------------------------------------------------------------------------------

def _set_days(app: Any, name: str, days: int) -> None:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        assert bank is not None
        unit.session.add(ParameterValue(name=name, institution_id=bank.id, effective_from=date(2026, 1, 1),
                                        value=str(days), changed_by="test"))
        unit.commit()


def test_deadlines_count_working_days_across_national_day(nongxin_app, nongxin_client, people) -> None:
    """Oct 1-7 2026 is the National Day holiday and Saturday Oct 10 an adjusted working day
    (chinesecalendar): three working days after Wed Sep 30 are Oct 8, 9 and 10."""
    _set_days(nongxin_app, "review.investigation_days", 3)
    _set_days(nongxin_app, "review.review_days", 4)
    app_id = manual_review_application(nongxin_app, today=date(2026, 9, 30))
    assert _tasks(nongxin_app, app_id)[0].due_on == date(2026, 10, 10)
    rt = nongxin_app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        done = review.act(unit, users.principal_named(unit.session, "jinan.cm"), rt.calendar, rt.plugins, app_id,
                          date(2026, 9, 30), opinion=Opinion.AGREE)
        assert done.next is not None and done.next.due_on == date(2026, 10, 12)  # Oct 11 is a Sunday
        unit.commit()
    # the province default (2 working days) where the county set nothing
    with UnitOfWork(rt.sessions, write=False) as unit:
        bank = institutions.get_by_code(unit.session, "LYRCB")
        assert bank is not None
        assert review.due_on(unit, rt.calendar, bank, Tier.APPROVAL, date(2026, 9, 30)) == date(2026, 10, 9)


def test_overdue_steps_are_listed_for_the_county_managers(nongxin_app, nongxin_client, people) -> None:
    late = manual_review_application(nongxin_app, today=date(2026, 9, 30))  # due Oct 8: long overdue
    fresh = manual_review_application(nongxin_app)  # due in the future
    other = manual_review_application(nongxin_app, place="LYRCB-LS", filed_by="linyi.cm", today=date(2026, 9, 30))
    resp = nongxin_client.as_user("jinan.admin").get("/api/review/overdue?institution=JNRCB")
    assert resp.status_code == 200, resp.get_json()
    listed = [row["application_id"] for row in resp.get_json()["overdue"]]
    assert late in listed and fresh not in listed and other not in listed
    row = resp.get_json()["overdue"][listed.index(late)]
    assert row["task"]["tier"] == "investigation" and row["task"]["assignee"] == "jinan.cm" and row["days_overdue"] > 0
    assert nongxin_client.as_user("linyi.admin").get("/api/review/overdue?institution=JNRCB").status_code == 404
    assert nongxin_client.as_user("jinan.reviewer").get("/api/review/overdue?institution=JNRCB").status_code == 403
    mine = nongxin_client.as_user("linyi.admin").get("/api/review/overdue").get_json()
    assert [r["application_id"] for r in mine["overdue"]] == [other]
    out = CliRunner().invoke(main, ["review", "overdue", "--institution", "JNRCB"],
                             obj=Console(nongxin_app.extensions["nongxin"].settings), catch_exceptions=False)
    assert out.exit_code == 0 and "1 overdue review step(s) at JNRCB" in out.output


# -- another bank ----------------------------------------------------------------------------------

def test_another_banks_application_is_404_before_403(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app)
    for user in ("linyi.cm", "linyi.admin"):
        assert _post(nongxin_client, user, app_id, opinion="agree").status_code in (403, 404)
    resp = _post(nongxin_client, "linyi.cm", app_id, opinion="agree")
    assert resp.status_code == 404
    assert nongxin_client.as_user("linyi.admin").get(f"/api/applications/{app_id}/review").status_code == 404
    assert nongxin_client.as_user("linyi.cm").get(f"/api/applications/{app_id}/review").status_code == 404


# -- approval authority ---------------------------------------------------------------------------

def test_county_admins_set_approval_limits(nongxin_app, nongxin_client, people) -> None:
    admin = nongxin_client.as_user("jinan.admin")
    resp = admin.put("/api/users/jinan.approver/approval-limit", json={"amount": "200000"})
    assert resp.status_code == 200 and resp.get_json()["approval_limit"] == "200000.00"
    listed = {u["username"]: u for u in admin.get("/api/users").get_json()}
    assert listed["jinan.approver"]["approval_limit"] == "200000.00" and listed["jinan.cm"]["approval_limit"] is None
    assert admin.put("/api/users/jinan.approver/approval-limit", json={"amount": None}).get_json()[
        "approval_limit"] is None
    bad = admin.put("/api/users/jinan.cm/approval-limit", json={"amount": "1000"})
    assert bad.status_code == 422 and "username" in bad.get_json()["fields"]
    for amount in ("-5", "1.001", "abc", "1e30"):
        bad = admin.put("/api/users/jinan.approver/approval-limit", json={"amount": amount})
        assert bad.status_code == 422 and "amount" in bad.get_json()["fields"], amount
    assert nongxin_client.as_user("linyi.admin").put("/api/users/jinan.approver/approval-limit",
                                                     json={"amount": "1"}).status_code == 404
    assert nongxin_client.as_user("jinan.cm").put("/api/users/jinan.approver/approval-limit",
                                                  json={"amount": "1"}).status_code == 403
    out = CliRunner().invoke(main, ["users", "approval-limit", "jinan.approver", "300000"],
                             obj=Console(nongxin_app.extensions["nongxin"].settings), catch_exceptions=False)
    assert out.exit_code == 0 and "300000.00 yuan" in out.output


def test_the_cli_acts_on_behalf_of_a_user(nongxin_app, people) -> None:
    app_id = manual_review_application(nongxin_app)
    console = Console(nongxin_app.extensions["nongxin"].settings)
    out = CliRunner().invoke(main, ["review", "act", str(app_id), "--user", "jinan.cm", "--opinion", "disagree",
                                    "--category", "other"], obj=console)
    assert out.exit_code == 0 and "application is rejected" in out.output, out.output
    out = CliRunner().invoke(main, ["review", "act", str(app_id), "--user", "jinan.cm", "--opinion", "agree"],
                             obj=Console(nongxin_app.extensions["nongxin"].settings))
    assert out.exit_code == 2 and "rejected" in out.output


def test_the_demo_approver_has_authority(nongxin_client) -> None:
    listed = {u["username"]: u for u in nongxin_client.as_user("jinan.admin").get("/api/users").get_json()}
    assert listed["jinan.approver"]["approval_limit"] == "500000.00"


def test_no_reviewer_to_draw_is_409_and_keeps_the_investigation_open(nongxin_app, nongxin_client, people,
                                                                     db_snapshot) -> None:
    app_id = manual_review_application(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        for name in ("jinan.reviewer", "jinan.reviewer2"):
            _user(unit, name).active = False
        unit.commit()
    before = db_snapshot()
    resp = _post(nongxin_client, "jinan.cm", app_id, opinion="agree")
    assert resp.status_code == 409 and resp.get_json()["error"] == "no_eligible_reviewer", resp.get_json()
    assert db_snapshot() == before


def test_an_approver_whose_authority_was_taken_away_cannot_approve(nongxin_app, nongxin_client, people) -> None:
    app_id = manual_review_application(nongxin_app, amount="50000")
    _, approver = _to_approval(nongxin_app, nongxin_client, app_id)
    resp = nongxin_client.as_user("jinan.admin").put(f"/api/users/{approver}/approval-limit", json={"amount": None})
    assert resp.status_code == 200
    resp = _post(nongxin_client, approver, app_id, opinion="agree")
    assert resp.status_code == 403 and resp.get_json()["error"] == "no_approval_authority"
    # rejecting needs no authority over the amount
    resp = _post(nongxin_client, approver, app_id, opinion="disagree", refusal_category="other")
    assert resp.status_code == 200 and resp.get_json()["application"]["status"] == "rejected"


def test_two_concurrent_opinions_on_one_task_give_one_step(nongxin_app, people) -> None:
    """The second request waits for the application's row lock and then sees the task closed (on
    PostgreSQL the open task is re-read under the lock; SQLite serializes writers already)."""
    import threading
    import time

    from nongxin.core.errors import NongxinError

    app_id = manual_review_application(nongxin_app)
    rt = nongxin_app.extensions["nongxin"]
    today = date(2026, 11, 23)
    outcome: list[Any] = []

    def second() -> None:
        try:
            with UnitOfWork(rt.sessions) as unit:
                review.act(unit, users.principal_named(unit.session, "jinan.cm"), rt.calendar, rt.plugins, app_id,
                           today, opinion=Opinion.AGREE)
                unit.commit()
                outcome.append("acted")
        except NongxinError as exc:
            outcome.append(exc)

    with UnitOfWork(rt.sessions) as unit:
        review.act(unit, users.principal_named(unit.session, "jinan.cm"), rt.calendar, rt.plugins, app_id, today,
                   opinion=Opinion.AGREE)
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        unit.commit()
    racer.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], NongxinError), outcome
    assert [t.tier for t in _tasks(nongxin_app, app_id)] == [Tier.INVESTIGATION, Tier.REVIEW]

"""Credit staff's console pages: the queue, an application (decision, trail), and the review,
approval and decision forms, through the same services as the API (scope, roles, separation of
duties, audit)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.credit.models import Application, ApplicationStatus, ReviewTask
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role, User
from nongxin.core.testing import file_application, manual_review_application


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _app(nongxin_app: Any, app_id: int) -> Application:
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        row = unit.session.get(Application, app_id)
        assert row is not None
        unit.session.expunge(row)
        return row


def _tasks(nongxin_app: Any, app_id: int) -> list[tuple[str, str, str | None, bool]]:
    """(tier, assignee, opinion, done) of each task, oldest first."""
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(ReviewTask).where(ReviewTask.application_id == app_id)
                                    .order_by(ReviewTask.id)).scalars()
        return [(t.tier.value, t.assignee.username, t.opinion.value if t.opinion else None, t.done_at is not None)
                for t in rows]


def _audit(nongxin_app: Any, action: str) -> list[AuditEntry]:
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _add_user(nongxin_app: Any, username: str, role: Role, place: str = "JNRCB") -> None:
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        users.create_user(unit, None, username=username, display_name=username, role=role, institution_code=place)
        unit.commit()


def _become(nongxin_app: Any, app_id: int, username: str, role: Role) -> None:
    """Give ``username`` the open task's role and the task (what the draw never does), so that only
    the separation-of-duties check can refuse them."""
    from nongxin.core.credit import review

    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
        user.role = role
        user.approval_limit = Decimal("1000000") if role is Role.APPROVER else None
        task = review.open_task(unit, app_id)
        assert task is not None
        task.assignee_id = user.id
        unit.commit()


def _step(console: Any, username: str, app_id: int, **form: str) -> Any:
    return console(username).post(f"/console/applications/{app_id}/review", data=form)


def _open_assignee(nongxin_app: Any, app_id: int) -> str:
    return next(who for _, who, _, done in _tasks(nongxin_app, app_id) if not done)


# -- the queue --------------------------------------------------------------------------------------

def test_the_customer_managers_queue_lists_their_investigation_with_its_due_date(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    number = _app(nongxin_app, app_id).number
    resp = nongxin_console("jinan.cm").get("/console/queue")
    page = _text(resp)
    assert resp.status_code == 200 and number in page
    assert "调查 · jinan.cm" in page and "待我办理" in page
    # nobody else's queue holds it: the approver's says what to do next
    empty = nongxin_console("jinan.approver").get("/console/queue")
    assert empty.status_code == 200 and number not in _text(empty) and "暂无等您处理" in _text(empty)
    # another county bank's customer manager never sees it, even in the whole-subtree list
    assert number not in _text(nongxin_console("linyi.cm").get("/console/queue?who=all"))


def test_a_status_filter_narrows_the_list_and_a_bad_one_names_the_parameter(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    number = _app(nongxin_app, app_id).number
    cm = nongxin_console("jinan.cm")
    assert number in _text(cm.get("/console/queue?who=all&status=manual_review"))
    assert number not in _text(cm.get("/console/queue?who=all&status=approved"))
    for query, name in [("status=sideways", "status"), ("who=everyone", "who"), ("offset=-1", "offset")]:
        bad = cm.get(f"/console/queue?{query}")
        assert bad.status_code == 422 and name in _text(bad), (query, _text(bad)[:300])


def test_a_county_admin_sees_the_overdue_review_steps(nongxin_app, nongxin_console):
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    late = manual_review_application(nongxin_app, filed_by="jinan.cm", today=today - timedelta(days=30))
    on_time = manual_review_application(nongxin_app, filed_by="jinan.cm")
    page = _text(nongxin_console("jinan.admin").get("/console/queue"))
    overdue = page.split('id="overdue"')[1].split("</section>")[0]
    assert _app(nongxin_app, late).number in overdue and "已逾期" in overdue
    assert _app(nongxin_app, on_time).number not in overdue
    # the other county bank's admin is shown none of them
    assert 'id="overdue"' not in _text(nongxin_console("linyi.admin").get("/console/queue"))


def test_roles_without_applications_get_the_403_page(nongxin_console):
    resp = nongxin_console("jinan.pm").get("/console/queue")
    assert resp.status_code == 403 and "application.read" in _text(resp)


# -- an application -----------------------------------------------------------------------------------

def test_another_county_banks_application_is_the_404_page(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    resp = nongxin_console("linyi.cm").get(f"/console/applications/{app_id}")
    assert resp.status_code == 404 and _app(nongxin_app, app_id).number not in _text(resp)
    refused = _step(nongxin_console, "linyi.cm", app_id, opinion="agree")
    assert refused.status_code == 404
    assert nongxin_console("linyi.cm").post(f"/console/applications/{app_id}/decide").status_code == 404
    assert _tasks(nongxin_app, app_id) == [("investigation", "jinan.cm", None, False)]


def test_the_identity_number_is_masked_unless_the_role_sees_it_whole(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        row = unit.session.get(Application, app_id)
        assert row is not None
        number = row.customer.id_number
    assert number in _text(nongxin_console("jinan.cm").get(f"/console/applications/{app_id}"))
    admin = _text(nongxin_console("jinan.admin").get(f"/console/applications/{app_id}"))
    assert number not in admin and number[:3] in admin and "*" in admin


def test_the_filer_decides_and_the_page_shows_the_decision_with_its_facts_and_sources(nongxin_app, nongxin_console):
    app_id = file_application(nongxin_app, place="JNRCB-LX", id_number="11010519491231002X", filed_by="jinan.cm")
    cm = nongxin_console("jinan.cm")
    before = _text(cm.get(f"/console/applications/{app_id}"))
    assert "运行自动决策" in before and "尚未自动决策" in before
    # the button is offered to the filer; the POST is checked by the page and the service (a
    # reviewer may not decide)
    refused = nongxin_console("jinan.reviewer").post(f"/console/applications/{app_id}/decide")
    assert refused.status_code == 403 and "application.decide" in _text(refused)
    done = cm.post(f"/console/applications/{app_id}/decide")
    assert done.status_code == 303 and "done=" in done.headers["Location"]
    assert _app(nongxin_app, app_id).status is not ApplicationStatus.SUBMITTED
    page = _text(cm.get(done.headers["Location"]))
    assert "自动决策已完成" in page and 'id="facts"' in page
    facts = page.split('id="facts"')[1].split("</table>")[0]
    assert "amount" in facts and "申请" in facts and "客户档案" in facts
    assert "运行自动决策" not in page
    # deciding twice is refused by the service (409 naming the state), the page re-rendered
    again = cm.post(f"/console/applications/{app_id}/decide")
    assert again.status_code == 409 and _app(nongxin_app, app_id).number in _text(again)
    assert len(_audit(nongxin_app, "application.deciding")) == 1


# -- the review forms -------------------------------------------------------------------------------

def test_the_three_tiers_through_the_forms_do_what_the_api_does_and_are_audited(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm", amount="80000")
    cm = nongxin_console("jinan.cm")
    assert 'id="step-form"' in _text(cm.get(f"/console/applications/{app_id}"))
    done = _step(nongxin_console, "jinan.cm", app_id, opinion="agree", comment="走访核实，经营正常")
    assert done.status_code == 303, _text(done)[:500]
    assert _app(nongxin_app, app_id).status is ApplicationStatus.MANUAL_REVIEW
    reviewer = _open_assignee(nongxin_app, app_id)
    assert reviewer == "jinan.reviewer"
    # the form is gone for the investigator, shown to the reviewer drawn
    assert 'id="step-form"' not in _text(cm.get(f"/console/applications/{app_id}"))
    assert 'id="step-form"' in _text(nongxin_console(reviewer).get(f"/console/applications/{app_id}"))
    assert _step(nongxin_console, reviewer, app_id, opinion="agree", comment="同意").status_code == 303
    assert _app(nongxin_app, app_id).status is ApplicationStatus.REVIEWED
    approver = _open_assignee(nongxin_app, app_id)
    done = _step(nongxin_console, approver, app_id, opinion="agree", amount="60000", rate="0.0435", comment="批准")
    assert done.status_code == 303 and "done=approved" in done.headers["Location"], _text(done).split("<main>")[1][:900]
    row = _app(nongxin_app, app_id)
    assert row.status is ApplicationStatus.APPROVED and row.approved_amount == Decimal("60000.00")
    assert [t[:3] for t in _tasks(nongxin_app, app_id)] == [
        ("investigation", "jinan.cm", "agree"), ("review", reviewer, "agree"), ("approval", approver, "agree")]
    assert [e.actor for e in _audit(nongxin_app, "review.approval")] == [approver]
    page = _text(nongxin_console(approver).get(done.headers["Location"]))
    assert "已批准" in page and "¥60,000.00" in page and "已审批通过" in page


def test_a_disagreement_needs_a_refusal_category_shown_beside_the_field(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    resp = _step(nongxin_console, "jinan.cm", app_id, opinion="disagree", comment="")
    page = _text(resp)
    assert resp.status_code == 422
    beside = page.split('id="f-refusal_category"')[1].split("</div>")[0]
    assert 'class="error"' in beside and "required to disagree" in beside
    assert _tasks(nongxin_app, app_id) == [("investigation", "jinan.cm", None, False)]
    assert not _audit(nongxin_app, "review.investigation")
    done = _step(nongxin_console, "jinan.cm", app_id, opinion="disagree", refusal_category="multi_lending")
    assert done.status_code == 303 and _app(nongxin_app, app_id).status is ApplicationStatus.REJECTED


def test_an_amount_above_the_request_is_refused_beside_the_field_and_nothing_is_written(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm", amount="80000")
    assert _step(nongxin_console, "jinan.cm", app_id, opinion="agree").status_code == 303
    assert _step(nongxin_console, _open_assignee(nongxin_app, app_id), app_id, opinion="agree").status_code == 303
    approver = _open_assignee(nongxin_app, app_id)
    resp = _step(nongxin_console, approver, app_id, opinion="agree", amount="90000", comment="多批一点")
    page = _text(resp)
    assert resp.status_code == 422
    beside = page.split('id="f-amount"')[1].split("</div>")[0]
    assert "above the requested amount" in beside and 'value="90000"' in page.split('id="f-amount"')[1][:200]
    assert _app(nongxin_app, app_id).status is ApplicationStatus.REVIEWED
    assert not _audit(nongxin_app, "review.approval") and _tasks(nongxin_app, app_id)[-1][3] is False


def test_someone_elses_task_shows_no_form_and_its_post_is_refused_by_the_service(nongxin_app, nongxin_console):
    _add_user(nongxin_app, "jinan.reviewer2", Role.REVIEWER)
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    assert _step(nongxin_console, "jinan.cm", app_id, opinion="agree").status_code == 303
    drawn = _open_assignee(nongxin_app, app_id)
    other = "jinan.reviewer2" if drawn == "jinan.reviewer" else "jinan.reviewer"
    page = _text(nongxin_console(other).get(f"/console/applications/{app_id}"))
    assert 'id="step-form"' not in page and "审核记录" in page
    resp = _step(nongxin_console, other, app_id, opinion="agree", comment="抢着办")
    assert resp.status_code == 403 and "assigned to someone else" in _text(resp)
    assert _tasks(nongxin_app, app_id)[-1] == ("review", drawn, None, False)
    assert not _audit(nongxin_app, "review.review")
    # the approver may not give the review's opinion at all: the role refusal names the action
    refused = _step(nongxin_console, "jinan.approver", app_id, opinion="agree")
    assert refused.status_code == 403 and "review.review" in _text(refused)


def test_separation_of_duties_is_refused_through_the_page_with_nothing_written(nongxin_app, nongxin_console):
    _add_user(nongxin_app, "jinan.cm2", Role.CUSTOMER_MANAGER, "JNRCB-LX")
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm2")
    assert _step(nongxin_console, "jinan.cm2", app_id, opinion="agree").status_code == 303
    _become(nongxin_app, app_id, "jinan.cm2", Role.REVIEWER)  # promoted to the review centre
    resp = _step(nongxin_console, "jinan.cm2", app_id, opinion="agree", comment="自己审自己")
    assert resp.status_code == 403 and "separation of duties" in _text(resp)
    assert _tasks(nongxin_app, app_id)[-1][2:] == (None, False)
    assert not _audit(nongxin_app, "review.review")
    assert _app(nongxin_app, app_id).status is ApplicationStatus.MANUAL_REVIEW


def test_a_rejected_decision_shows_its_rule_hits_and_refusal_category(nongxin_app, nongxin_console):
    from datetime import date

    from nongxin.sdk.identity import make_resident_id

    blacklisted = make_resident_id("370102", date(1980, 5, 1), 999)  # the simulated bureau's bad record
    app_id = file_application(nongxin_app, place="JNRCB-LX", id_number=blacklisted, filed_by="jinan.cm")
    cm = nongxin_console("jinan.cm")
    assert cm.post(f"/console/applications/{app_id}/decide").status_code == 303
    row = _app(nongxin_app, app_id)
    assert row.status is ApplicationStatus.REJECTED and row.refusal_category
    page = _text(cm.get(f"/console/applications/{app_id}"))
    hits = page.split('id="hits"')[1].split("</table>")[0]
    assert "拒绝" in hits and "<code>" in hits
    assert "自动拒绝" in page and "拒绝类别" in page


def test_a_failed_source_is_listed_with_what_the_decision_did(nongxin_app, nongxin_console):
    app_id = file_application(nongxin_app, place="JNRCB-LX", id_number="11010519491231002X", product="NO_SUCH_LOAN",
                              filed_by="jinan.cm")
    cm = nongxin_console("jinan.cm")
    assert cm.post(f"/console/applications/{app_id}/decide").status_code == 303
    page = _text(cm.get(f"/console/applications/{app_id}"))
    failures = page.split('id="failures"')[1].split("</table>")[0]
    assert "产品" in failures and "NO_SUCH_LOAN" in failures and "not offered" in failures
    # a missing product is never approved: the page says what the decision did instead
    assert _app(nongxin_app, app_id).status is not ApplicationStatus.APPROVED
    assert "结果为" in page.split('id="failures"')[1] and "自动通过" not in page


def test_the_reviewer_returns_it_for_more_information_and_the_investigator_has_it_again(nongxin_app, nongxin_console):
    app_id = manual_review_application(nongxin_app, filed_by="jinan.cm")
    assert _step(nongxin_console, "jinan.cm", app_id, opinion="agree").status_code == 303
    reviewer = _open_assignee(nongxin_app, app_id)
    done = _step(nongxin_console, reviewer, app_id, opinion="return", comment="补充经营流水")
    assert done.status_code == 303 and "done=returned" in done.headers["Location"]
    assert _tasks(nongxin_app, app_id)[-1] == ("investigation", "jinan.cm", None, False)
    queue = _text(nongxin_console("jinan.cm").get("/console/queue"))
    assert _app(nongxin_app, app_id).number in queue
    # investigation cannot return: the service's refusal is shown beside the opinion
    refused = _step(nongxin_console, "jinan.cm", app_id, opinion="return")
    assert refused.status_code == 422
    assert "return is not possible" in _text(refused).split('id="f-opinion"')[1].split("</div>")[0]

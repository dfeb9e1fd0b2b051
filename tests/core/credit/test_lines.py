"""Credit lines (授信): granted on approval (automated or manual) within the customer's exposure cap,
announced after the commit only; listed, shown with used and available, frozen, unfrozen and
closed through the API and the CLI, scope before role, every move audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit import lines
from nongxin.core.credit.applications import transition
from nongxin.core.credit.domain.schedules import add_months
from nongxin.core.credit.ledger import Borrower, LoanTerms, open_loan
from nongxin.core.credit.models import (
    Application, ApplicationStatus, CreditLine, CreditLineStatus, Opinion, ReviewTask,
)
from nongxin.core.credit.review import act
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import Forbidden, NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.institutions.users import principal_named
from nongxin.core.testing import file_application, manual_review_application
from nongxin.sdk import PluginInfo, PluginKind, hookimpl
from nongxin.sdk.identity import make_resident_id

D = Decimal
PERSON = make_resident_id("370102", date(1988, 3, 1), 998)
PERSON2 = make_resident_id("370102", date(1990, 7, 9), 998)

#: What the notification plugin saw: each event and whether its line was committed when told.
HEARD: list[tuple[Any, Any]] = []


@hookimpl
def nongxin_on_credit_granted(event, ctx):
    engine = HEARD_ENGINE[0]
    with engine.connect() as conn:  # another connection: sees only what is committed
        committed = conn.execute(sa.text("SELECT status FROM credit_lines WHERE number = :n"),
                                 {"n": event.subject_id}).scalar_one_or_none()
    HEARD.append((event, committed))


HEARD_ENGINE: list[Any] = []
LISTENER = ModuleType("linetest_notify")
LISTENER.PLUGIN = PluginInfo(name="linetest_notify", version="1.0.0", kind=PluginKind.INTEGRATION)  # type: ignore[attr-defined]
LISTENER.nongxin_on_credit_granted = nongxin_on_credit_granted  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins():
    return [LISTENER]


@pytest.fixture
def heard(nongxin_app, nongxin_enable):
    HEARD.clear()
    HEARD_ENGINE[:] = [nongxin_app.extensions["nongxin"].engine]
    nongxin_enable("linetest_notify", "JNRCB")
    yield HEARD
    HEARD.clear()


def _decide(client, app_id: int) -> dict[str, Any]:
    resp = client.as_user("jinan.cm").post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _approved(app: Any, client: Any, id_number: str = PERSON, amount: str = "30000") -> dict[str, Any]:
    """An application approved at once by the automated decision, and its decision."""
    app_id = file_application(app, id_number=id_number, amount=amount)
    body = _decide(client, app_id)
    assert body["status"] == "approved", body
    return {"id": app_id, **body}


def _lines_of(client: Any, user: str = "jinan.admin", query: str = "") -> list[dict[str, Any]]:
    resp = client.as_user(user).get(f"/api/credit-lines{query}")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _assignee(app: Any, app_id: int) -> str:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        task = unit.session.execute(sa.select(ReviewTask).where(
            ReviewTask.application_id == app_id, ReviewTask.done_at.is_(None))).scalar_one()
        return task.assignee.username


def _to_approval(app: Any, client: Any, app_id: int) -> str:
    """Investigation and review agreed; the drawn approver's username."""
    for _ in range(2):
        who = _assignee(app, app_id)
        resp = client.as_user(who).post(f"/api/applications/{app_id}/review", json={"opinion": "agree"})
        assert resp.status_code == 200, resp.get_json()
    return _assignee(app, app_id)


def _set_cap(client: Any, amount: str) -> None:
    resp = client.as_user("jinan.admin").post("/api/parameters", json={
        "name": "credit.customer_exposure_cap", "institution": "JNRCB", "value": amount})
    assert resp.status_code in (200, 201), resp.get_json()


def _line_row(app: Any, line_id: int) -> CreditLine:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        line = unit.session.get(CreditLine, line_id)
        assert line is not None
        unit.session.expunge(line)
        return line


# -- granting ---------------------------------------------------------------------------------------

def test_the_automated_approval_grants_a_line_and_tells_the_plugins_after_the_commit(
        nongxin_app, nongxin_client, heard) -> None:
    done = _approved(nongxin_app, nongxin_client)
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    (listed,) = _lines_of(nongxin_client)
    shown = nongxin_client.as_user("jinan.admin").get(f"/api/credit-lines/{listed['id']}").get_json()
    assert shown["number"] == f"JNRCB-C{today.year}-000001" and shown["status"] == "active"
    assert (shown["amount"], shown["used"], shown["available"]) == ("30000.00", "0.00", "30000.00")
    assert shown["annual_rate"] == done["decision"]["rate"] and shown["products"] == ["XIN_E_DAI"]
    assert shown["start_on"] == today.isoformat()
    assert shown["end_on"] == add_months(today, 36).isoformat()  # XIN_E_DAI: no line_months, longest term 36
    assert shown["revolving"] is True and shown["loans"] == [] and shown["institution"] == "JNRCB-LX"
    assert shown["application"] == done["application"]
    assert shown["customer"]["id_number"] != PERSON and shown["customer"]["id_number"].endswith(PERSON[-4:])
    # told once, after the commit: the line was already there for another connection to see
    ((event, committed),) = heard
    assert (event.kind, event.subject_id, event.institution_code, committed) == (
        "credit_granted", shown["number"], "JNRCB-LX", "active")
    assert event.details == {"credit_line": shown["id"], "number": shown["number"], "amount": "30000.00",
                             "end_on": shown["end_on"], "application": done["application"]}
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        audit = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "credit_line.grant")).scalar_one()
        assert audit.target == f"credit_line:{shown['number']}" and audit.after["amount"] == "30000.00"


def test_the_manual_approval_grants_a_line_of_the_approved_amount_and_rate(
        nongxin_app, nongxin_client, heard) -> None:
    app_id = manual_review_application(nongxin_app, amount="80000")
    approver = _to_approval(nongxin_app, nongxin_client, app_id)
    # without a decided rate the approver must give one: a line needs a rate
    resp = nongxin_client.as_user(approver).post(f"/api/applications/{app_id}/review",
                                                 json={"opinion": "agree", "amount": "60000"})
    assert resp.status_code == 422 and "rate" in resp.get_json()["fields"], resp.get_json()
    assert _lines_of(nongxin_client) == [] and heard == []
    resp = nongxin_client.as_user(approver).post(f"/api/applications/{app_id}/review",
                                                 json={"opinion": "agree", "amount": "60000", "rate": "0.052"})
    assert resp.status_code == 200, resp.get_json()
    (line,) = _lines_of(nongxin_client)
    assert (line["amount"], line["annual_rate"], line["available"], line["status"]) == (
        "60000.00", "0.052", "60000.00", "active")
    ((event, committed),) = heard
    assert event.subject_id == line["number"] and committed == "active" and event.details["amount"] == "60000.00"


def test_approving_without_the_approval_terms_is_a_programming_error(nongxin_app, nongxin_demo) -> None:
    app_id = manual_review_application(nongxin_app)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        app = unit.session.get(Application, app_id)
        assert app is not None
        app.status = ApplicationStatus.REVIEWED
        with pytest.raises(TypeError, match="approval="):
            transition(unit, app, ApplicationStatus.APPROVED, actor="x", bank_code="JNRCB")
        unit.rollback()


def test_a_rolled_back_approval_writes_no_line_and_tells_nobody(nongxin_app, nongxin_client, heard) -> None:
    app_id = manual_review_application(nongxin_app, amount="80000")
    approver = _to_approval(nongxin_app, nongxin_client, app_id)
    rt = nongxin_app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        done = act(unit, principal_named(unit.session, approver), rt.calendar, rt.plugins, app_id,
                   rt.clock.business_date(), opinion=Opinion.AGREE, rate="0.05")
        assert done.app.status is ApplicationStatus.APPROVED
        assert unit.session.execute(sa.select(sa.func.count()).select_from(CreditLine)).scalar_one() == 1
        unit.rollback()
    assert heard == [] and _lines_of(nongxin_client) == []


# -- the exposure cap -------------------------------------------------------------------------------

def test_the_cap_sends_the_automated_decision_to_manual_review_with_the_reason(
        nongxin_app, nongxin_client, heard) -> None:
    _approved(nongxin_app, nongxin_client, amount="30000")
    _set_cap(nongxin_client, "50000")
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    body = _decide(nongxin_client, app_id)
    assert body["status"] == "manual_review"
    assert "limit 30000.00 is above the 20000.00 left under the customer's exposure cap" in body["decision"]["reasons"]
    reviewer = nongxin_client.as_user("jinan.reviewer")
    record = reviewer.get(f"/api/applications/{app_id}/decision").get_json()["record"]
    assert record["terms"]["exposure_room"] == "20000.00"
    replay = reviewer.post(f"/api/applications/{app_id}/decision/replay", json={"rules": "stored"}).get_json()
    assert replay["same"] is True, replay
    # another customer of the bank has the whole cap
    _approved(nongxin_app, nongxin_client, id_number=PERSON2, amount="30000")
    assert len(_lines_of(nongxin_client)) == 2 and len(heard) == 2


def test_a_manual_approval_above_the_room_left_is_422_naming_both_and_writes_nothing(
        nongxin_app, nongxin_client, heard, db_snapshot) -> None:
    app_id = manual_review_application(nongxin_app, amount="80000")
    approver = _to_approval(nongxin_app, nongxin_client, app_id)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:  # the customer holds a line already
        app = unit.session.get(Application, app_id)
        assert app is not None
        unit.session.add(CreditLine(number="JNRCB-C2026-900001", county_bank_id=app.county_bank_id,
                                    institution_id=app.institution_id, customer_id=app.customer_id, amount=D("10000"),
                                    annual_rate=D("0.05"), products=["XIN_E_DAI"], start_on=date(2026, 1, 1),
                                    end_on=date(2029, 1, 1), status=CreditLineStatus.FROZEN))
        unit.commit()
    _set_cap(nongxin_client, "70000")
    before = db_snapshot()
    resp = nongxin_client.as_user(approver).post(f"/api/applications/{app_id}/review",
                                                 json={"opinion": "agree", "amount": "65000", "rate": "0.05"})
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "exposure_cap" and "65000.00" in body["fields"]["amount"][0]
    assert "60000.00 yuan left" in body["fields"]["amount"][0]
    assert db_snapshot() == before and heard == []
    resp = nongxin_client.as_user(approver).post(f"/api/applications/{app_id}/review",
                                                 json={"opinion": "agree", "amount": "60000", "rate": "0.05"})
    assert resp.status_code == 200, resp.get_json()


# -- reading ------------------------------------------------------------------------------------------

def _draw(app: Any, line_id: int, amount: str, *, outstanding: str | None = None) -> str:
    """A loan on the line through the ledger's primitive (drawdowns are another part's); its number."""
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        line = unit.session.get(CreditLine, line_id)
        assert line is not None
        bank = unit.session.get(Institution, line.county_bank_id)
        where = unit.session.get(Institution, line.institution_id)
        assert bank is not None and where is not None
        loan = open_loan(unit, bank=bank, institution=where, borrower=Borrower.of(line.customer), actor="test",
                         line=line, terms=LoanTerms("XIN_E_DAI", D(amount), line.annual_rate, 12,
                                                    "equal_installment", date(2026, 11, 23)))
        if outstanding is not None:  # as if part of it were repaid
            loan.outstanding = D(outstanding)
        unit.commit()
        return loan.loan_no


def test_listing_filters_and_pages_and_shows_used_and_available(nongxin_app, nongxin_client, heard) -> None:
    first = _approved(nongxin_app, nongxin_client, amount="30000")
    _approved(nongxin_app, nongxin_client, id_number=PERSON2, amount="20000")
    both = _lines_of(nongxin_client)
    assert [x["amount"] for x in both] == ["20000.00", "30000.00"]  # newest first
    assert "loans" not in both[0]
    older = both[1]
    customer = older["customer"]["id"]
    assert [x["id"] for x in _lines_of(nongxin_client, query=f"?customer={customer}")] == [older["id"]]
    assert [x["id"] for x in _lines_of(nongxin_client, query="?limit=1&offset=1")] == [older["id"]]
    assert _lines_of(nongxin_client, "linyi.admin") == []  # another county bank sees none
    assert nongxin_client.as_user("jinan.admin").get("/api/credit-lines?status=open").status_code == 422
    # a loan drawn on it: a revolving line uses its outstanding principal
    loan_no = _draw(nongxin_app, older["id"], "12000.00", outstanding="9000.00")
    shown = nongxin_client.as_user("jinan.cm").get(f"/api/credit-lines/{older['id']}").get_json()
    assert (shown["used"], shown["available"]) == ("9000.00", "21000.00")
    assert shown["loans"] == [{"loan_no": loan_no, "status": "active", "principal": "12000.00",
                               "outstanding": "9000.00", "disbursed_on": "2026-11-23", "maturity_on": "2027-11-23"}]
    assert first["application"] == shown["application"]
    # a one-off line counts all principal ever drawn
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        row = unit.session.get(CreditLine, older["id"])
        assert row is not None
        row.revolving = False
        unit.commit()
    shown = nongxin_client.as_user("jinan.cm").get(f"/api/credit-lines/{older['id']}").get_json()
    assert (shown["used"], shown["available"]) == ("12000.00", "18000.00")
    # frozen: nothing is available, what is used stays
    assert nongxin_client.as_user("jinan.admin").post(f"/api/credit-lines/{older['id']}/freeze").status_code == 200
    assert [x["id"] for x in _lines_of(nongxin_client, query="?status=frozen")] == [older["id"]]
    shown = nongxin_client.as_user("jinan.cm").get(f"/api/credit-lines/{older['id']}").get_json()
    assert (shown["used"], shown["available"]) == ("12000.00", "0.00")


# -- freezing, unfreezing, closing ----------------------------------------------------------------------

def test_freeze_unfreeze_close_follow_the_life_cycle_and_are_audited(nongxin_app, nongxin_client, heard) -> None:
    _approved(nongxin_app, nongxin_client)
    (line,) = _lines_of(nongxin_client)
    admin, base = nongxin_client.as_user("jinan.admin"), f"/api/credit-lines/{line['id']}"

    def move(verb: str, who: Any = admin, **body: Any) -> Any:
        return who.post(f"{base}/{verb}", json=body)

    resp = move("freeze", reason="客户涉诉")
    assert resp.status_code == 200 and resp.get_json()["status"] == "frozen", resp.get_json()
    again = move("freeze")
    assert again.status_code == 409 and again.get_json()["error"] == "invalid_state"
    assert "is frozen" in again.get_json()["message"]
    assert move("unfreeze").get_json()["status"] == "active"
    again = move("unfreeze")
    assert again.status_code == 409 and "is active" in again.get_json()["message"]
    assert move("close", reason="客户结清销户").get_json()["status"] == "closed"
    for verb in ("freeze", "unfreeze", "close"):
        refused = move(verb)
        assert refused.status_code == 409 and "is closed" in refused.get_json()["message"], verb
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        trail = unit.session.execute(sa.select(AuditEntry.action, AuditEntry.before, AuditEntry.after).where(
            AuditEntry.target == f"credit_line:{line['number']}").order_by(AuditEntry.id)).all()
    assert [t.action for t in trail] == ["credit_line.grant", "credit_line.freeze", "credit_line.unfreeze",
                                         "credit_line.close"]
    assert trail[1].before == {"status": "active"} and trail[1].after == {"status": "frozen", "reason": "客户涉诉"}


def test_roles_from_the_table_and_another_banks_line_is_404(nongxin_app, nongxin_client, heard, db_snapshot) -> None:
    _approved(nongxin_app, nongxin_client)
    (line,) = _lines_of(nongxin_client)
    base = f"/api/credit-lines/{line['id']}"
    before = db_snapshot()
    assert nongxin_client.as_user("jinan.cm").post(f"{base}/freeze").status_code == 403
    assert nongxin_client.as_user("jinan.pm").get(base).status_code == 403
    for verb in ("freeze", "close"):
        assert nongxin_client.as_user("linyi.admin").post(f"{base}/{verb}").status_code == 404
    assert nongxin_client.as_user("linyi.admin").get(base).status_code == 404
    assert nongxin_client.as_user("jinan.admin").get("/api/credit-lines/999999").status_code == 404
    assert db_snapshot() == before


def test_the_services_check_the_role_themselves(nongxin_app, nongxin_client, heard) -> None:
    _approved(nongxin_app, nongxin_client)
    (line,) = _lines_of(nongxin_client)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        cm, pm = principal_named(unit.session, "jinan.cm"), principal_named(unit.session, "jinan.pm")
        with pytest.raises(Forbidden, match="credit_line.freeze"):
            lines.freeze(unit, cm, line["id"])
        with pytest.raises(Forbidden, match="credit_line.close"):
            lines.close(unit, cm, line["id"])
        with pytest.raises(Forbidden, match="credit_line.read"):
            lines.list_lines(unit, pm)
        with pytest.raises(NotFound):
            lines.freeze(unit, principal_named(unit.session, "linyi.admin"), line["id"])
        unit.rollback()


# -- the console ----------------------------------------------------------------------------------------

def test_the_cli_lists_shows_and_moves_lines(nongxin_app, nongxin_client, heard) -> None:
    _approved(nongxin_app, nongxin_client)
    (line,) = _lines_of(nongxin_client)
    console = Console(nongxin_app.extensions["nongxin"].settings)

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["lines", *args], obj=console)

    listed = run("list", "--user", "jinan.admin", "--status", "active")
    assert listed.exit_code == 0 and line["number"] in listed.output, listed.output
    shown = run("show", str(line["id"]), "--user", "jinan.cm")
    assert shown.exit_code == 0 and "available 30000.00" in shown.output, shown.output
    frozen = run("freeze", str(line["id"]), "--user", "jinan.admin", "--reason", "排查")
    assert frozen.exit_code == 0 and "is frozen" in frozen.output, frozen.output
    refused = run("freeze", str(line["id"]), "--user", "jinan.admin")
    assert refused.exit_code != 0 and "is frozen" in refused.output and "Traceback" not in refused.output
    assert run("unfreeze", str(line["id"]), "--user", "jinan.admin").exit_code == 0
    assert run("close", str(line["id"]), "--user", "jinan.admin").exit_code == 0
    assert _line_row(nongxin_app, line["id"]).status is CreditLineStatus.CLOSED
    hidden = run("show", str(line["id"]), "--user", "linyi.admin")
    assert hidden.exit_code != 0 and "not found" in hidden.output


def test_a_plugin_not_enabled_at_the_lending_bank_is_not_told(nongxin_app, nongxin_client, heard) -> None:
    app_id = file_application(nongxin_app, place="LYRCB-LS", id_number=PERSON, amount="30000", filed_by="linyi.cm")
    resp = nongxin_client.as_user("linyi.cm").post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved", resp.get_json()
    (line,) = _lines_of(nongxin_client, "linyi.admin")
    assert line["number"].startswith("LYRCB-C") and heard == []  # enabled at JNRCB only

"""Credit-bureau queries through the API, end to end with the simulated provider."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from nongxin.core.bureau.models import BureauQueryLog
from nongxin.core.credit.models import Loan, LoanStatus
from nongxin.core.credit.services import book_loan

PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
FIRM = {"kind": "uscc", "id_number": "91350100M000100Y43", "name": "某某农业合作社"}
EVIDENCE = {"ref": "archive://JNRCB/2026/auth-0001.pdf", "sha256": "ab" * 32}


def authorize(client, subject=PERSON, purposes=("02",), **extra):
    body = {"subject": subject, "purposes": list(purposes), "channel": "paper", "evidence": EVIDENCE, **extra}
    return client.post("/api/bureau/authorizations", json=body)


def ask(client, subject=PERSON, purpose="02", ref="APP-1", kind="application"):
    return client.post("/api/bureau/queries", json={"subject": subject, "purpose": purpose,
                                                    "for": {"kind": kind, "ref": ref}})


def log_rows(uow):
    uow.rollback()
    return list(uow.session.execute(sa.select(BureauQueryLog).order_by(BureauQueryLog.id)).scalars())


@pytest.fixture
def cm(nongxin_client):
    return nongxin_client.as_user("jinan.cm")


def test_query_then_cached_reuse_both_logged(cm, nongxin_uow):
    assert authorize(cm).status_code == 201
    first = ask(cm)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["usable"] and body["query"]["outcome"] == "fetched" and body["query"]["provider"] == "bureau_sim"
    assert "bureau_worst_overdue_days_24m" in body["summary"]
    second = ask(cm, ref="APP-2").get_json()
    assert second["query"]["outcome"] == "reused" and second["report"] == body["report"]
    rows = log_rows(nongxin_uow)
    assert [(r.outcome, r.operator, r.purpose, r.county_bank_code) for r in rows] == [
        ("fetched", "jinan.cm", "02", "JNRCB"), ("reused", "jinan.cm", "02", "JNRCB")]
    assert rows[0].authorization_id is not None


def test_no_authorization_refused_and_nothing_written(cm, nongxin_uow):
    resp = ask(cm)
    assert resp.status_code == 403 and resp.get_json()["error"] == "authorization_required"
    assert log_rows(nongxin_uow) == []


def test_purpose_not_covered_is_refused(cm):
    authorize(cm, purposes=("08",))
    assert ask(cm, purpose="02").get_json()["error"] == "authorization_required"


def test_revoked_authorization_refused(cm):
    auth_id = authorize(cm).get_json()["id"]
    assert cm.post(f"/api/bureau/authorizations/{auth_id}/revoke").status_code == 200
    resp = ask(cm)
    assert resp.status_code == 403 and resp.get_json()["error"] == "authorization_revoked"


def test_expired_authorization_refused(cm):
    granted = datetime.now(timezone.utc) - timedelta(days=400)
    authorize(cm, granted_at=granted.isoformat(), expires_at=(granted + timedelta(days=30)).isoformat())
    resp = ask(cm)
    assert resp.status_code == 403 and resp.get_json()["error"] == "authorization_expired"


CST = timezone(timedelta(hours=8))


def _start_of_today_cst():
    now = datetime.now(CST)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def test_consent_covers_its_last_day_as_the_sdk_says(cm):
    """The core and AuthorizationRef.covers agree: a letter expiring today covers all of today."""
    midnight = _start_of_today_cst()
    created = authorize(cm, granted_at=(midnight - timedelta(days=30)).isoformat(),
                        expires_at=(midnight + timedelta(seconds=1)).isoformat())
    assert created.status_code == 201, created.get_json()
    resp = ask(cm)
    assert resp.status_code == 200, resp.get_json()


def test_consent_expiring_at_midnight_does_not_cover_the_new_day(cm):
    midnight = _start_of_today_cst()
    authorize(cm, granted_at=(midnight - timedelta(days=30)).isoformat(), expires_at=midnight.isoformat())
    resp = ask(cm)
    assert resp.status_code == 403 and resp.get_json()["error"] == "authorization_expired"


def test_another_banks_authorization_counts_as_none(nongxin_client):
    authorize(nongxin_client.as_user("linyi.cm"))
    resp = ask(nongxin_client.as_user("jinan.cm"))
    assert resp.get_json()["error"] == "authorization_required"


def test_bad_identity_number_is_422_on_the_field(cm):
    resp = ask(cm, subject={**PERSON, "id_number": "110105194912310021"})
    assert resp.status_code == 422
    assert "check character" in resp.get_json()["fields"]["subject.id_number"][0]
    resp = authorize(cm, subject={**FIRM, "id_number": "91350100M000100Y44"})
    assert resp.status_code == 422 and "subject.id_number" in resp.get_json()["fields"]


def test_unknown_purpose_lists_allowed_codes(cm):
    resp = ask(cm, purpose="99")
    assert resp.status_code == 422
    message = resp.get_json()["fields"]["purpose"][0]
    assert "02" in message and "26" in message


def test_expiry_before_grant_is_422(cm):
    now = datetime.now(timezone.utc)
    resp = authorize(cm, granted_at=now.isoformat(), expires_at=(now - timedelta(days=1)).isoformat())
    assert resp.status_code == 422 and "expires_at" in resp.get_json()["fields"]


def book(uow, loan_no="L-1", subject=PERSON, name="张三", institution="JNRCB-LX"):
    book_loan(uow, actor="test", institution_code=institution, loan_no=loan_no, borrower_kind=subject["kind"],
              borrower_id_number=subject["id_number"], borrower_name=name, product_code="XIN_E_DAI",
              principal=Decimal("50000"), disbursed_on=date(2026, 1, 5), maturity_on=date(2027, 1, 5))
    uow.commit()


def test_post_loan_needs_no_authorization_only_for_a_borrower(cm, nongxin_uow):
    resp = ask(cm, purpose="01", kind="loan", ref="L-1")
    assert resp.status_code == 422 and resp.get_json()["error"] == "loan_not_found"
    book(nongxin_uow)
    ok = ask(cm, purpose="01", kind="loan", ref="L-1")
    assert ok.status_code == 200 and ok.get_json()["query"]["authorization_id"] is None
    # a Linyi customer manager may not use the Jinan loan as a reason
    assert ask(cm.as_user("linyi.cm"), purpose="01", kind="loan", ref="L-1").get_json()["error"] == "loan_not_found"


def test_post_loan_query_names_an_open_loan_of_that_subject_at_that_bank(cm, nongxin_uow):
    other = {"kind": "resident_id", "id_number": "370102198503153219", "name": "李泉"}
    book(nongxin_uow)  # 张三's loan at Jinan
    no_such = ask(cm, purpose="01", kind="loan", ref="NO-SUCH-LOAN")
    assert no_such.status_code == 422 and "for.ref" in no_such.get_json()["fields"]
    application = ask(cm, purpose="01", kind="application", ref="APP-1")
    assert application.status_code == 422 and "for.kind" in application.get_json()["fields"]
    someone_elses = ask(cm, subject=other, purpose="01", kind="loan", ref="L-1")
    assert someone_elses.status_code == 422 and someone_elses.get_json()["error"] == "loan_of_another_subject"
    nongxin_uow.session.execute(sa.update(Loan).where(Loan.loan_no == "L-1").values(status=LoanStatus.CLOSED))
    nongxin_uow.commit()
    closed = ask(cm, purpose="01", kind="loan", ref="L-1")
    assert closed.status_code == 403 and closed.get_json()["error"] == "no_loan_at_bank"
    assert log_rows(nongxin_uow) == []


def test_a_name_that_does_not_match_is_refused(cm, nongxin_uow):
    assert authorize(cm, subject={**PERSON, "name": "王农"}).status_code == 201
    wrong = ask(cm, subject={**PERSON, "name": "别人"})
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "name_mismatch"
    assert "subject.name" in wrong.get_json()["fields"]
    assert ask(cm, subject={**PERSON, "name": " 王 农 "}).status_code == 200
    book(nongxin_uow, name="王农")
    loan_wrong = ask(cm, subject={**PERSON, "name": "别人"}, purpose="01", kind="loan", ref="L-1")
    assert loan_wrong.status_code == 422 and loan_wrong.get_json()["error"] == "name_mismatch"
    assert [r.outcome for r in log_rows(nongxin_uow)] == ["fetched"]


def test_an_authorization_granted_in_the_future_is_invalid_input(cm, nongxin_uow):
    ahead = datetime.now(timezone.utc) + timedelta(minutes=4)
    resp = authorize(cm, granted_at=ahead.isoformat())
    assert resp.status_code == 422 and "granted_at" in resp.get_json()["fields"]
    skewed = datetime.now(timezone.utc) + timedelta(seconds=20)
    assert authorize(cm, granted_at=skewed.isoformat()).status_code == 201
    assert ask(cm).status_code == 200  # a few seconds of clock skew is read as "now", not "later"


def test_provider_failure_gives_no_report_and_is_logged(cm, nongxin_app, nongxin_uow, monkeypatch):
    import nongxin.plugins.bureau_sim as sim

    def down(*args, **kwargs):
        raise ConnectionError("bureau gateway unreachable")

    monkeypatch.setattr(sim, "simulate_report", down)
    authorize(cm)
    body = ask(cm).get_json()
    assert body["usable"] is False and body["report"] is None
    assert body["query"]["outcome"] == "failed" and body["query"]["provider"] == "bureau_sim"
    assert "unreachable" in body["query"]["error"]
    assert log_rows(nongxin_uow)[0].outcome == "failed"


def test_no_provider_enabled_is_logged_as_such(cm, nongxin_client):
    nongxin_client.as_user("jinan.admin").post("/api/plugins/bureau_sim/disable", json={"institution": "JNRCB"})
    authorize(cm)
    body = ask(cm).get_json()
    assert body["query"]["outcome"] == "no_provider" and body["usable"] is False


def test_auditor_lists_filters_and_sees_masked_numbers(cm, nongxin_client):
    authorize(cm, purposes=("02", "08"))
    ask(cm)
    ask(cm, purpose="08", ref="G-1")
    auditor = nongxin_client.as_user("jinan.admin")
    rows = auditor.get("/api/bureau/queries").get_json()
    assert len(rows) == 2 and rows[0]["subject"]["id_number"] == "110105********002X"
    assert len(auditor.get("/api/bureau/queries?purpose=08").get_json()) == 1
    today = date.today().isoformat()
    assert len(auditor.get(f"/api/bureau/queries?since={today}&until={today}").get_json()) == 2
    assert auditor.get("/api/bureau/queries?since=2000-01-01&until=2000-01-02").get_json() == []
    full = cm.get("/api/bureau/queries").get_json()
    assert full[0]["subject"]["id_number"] == PERSON["id_number"]
    counts = auditor.get(f"/api/bureau/queries/counts?id_number={PERSON['id_number']}").get_json()
    assert {(c["purpose"], c["n"]) for c in counts} == {("02", 1), ("08", 1)}
    assert nongxin_client.as_user("linyi.admin").get("/api/bureau/queries").get_json() == []
    assert auditor.get("/api/bureau/queries?institution=LYRCB").status_code == 404


def test_the_log_refuses_update_and_delete_in_the_database(cm, nongxin_uow):
    authorize(cm)
    ask(cm)
    nongxin_uow.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        nongxin_uow.session.execute(sa.text("UPDATE bureau_query_log SET operator = 'x'"))
    nongxin_uow.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        nongxin_uow.session.execute(sa.text("DELETE FROM bureau_query_log"))
    nongxin_uow.rollback()


def test_the_api_offers_no_way_to_edit_the_log(cm):
    assert cm.delete("/api/bureau/queries").status_code == 405
    assert cm.put("/api/bureau/queries", json={}).status_code == 405


def test_reviewers_record_but_product_managers_may_not_query(nongxin_client):
    assert ask(nongxin_client.as_user("jinan.pm")).status_code == 403


def test_operator_cli_authorize_query_and_log(nongxin_settings, nongxin_demo, tmp_path):
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    def run(*args):
        return CliRunner().invoke(main, list(args), obj=Console(nongxin_settings), catch_exceptions=False)

    subject = ["--id-number", PERSON["id_number"], "--name", "张三"]
    refused = run("bureau", "query", "--user", "jinan.cm", *subject, "--purpose", "02", "--for", "application:A-9")
    assert refused.exit_code == 2 and "no authorization" in refused.output
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(b"%PDF signed consent")
    ok = run("bureau", "authorize", "--user", "jinan.cm", *subject, "--purpose", "02", "--evidence", str(letter))
    assert ok.exit_code == 0, ok.output
    queried = run("bureau", "query", "--user", "jinan.cm", *subject, "--purpose", "02", "--for", "application:A-9")
    assert queried.exit_code == 0 and "outcome: fetched" in queried.output and "bureau_dishonest_debtor" in queried.output
    bad = run("bureau", "query", "--user", "jinan.cm", "--id-number", "110105194912310021", "--name", "x",
              "--purpose", "02", "--for", "application:A-9")
    assert bad.exit_code == 2 and "check character" in bad.output
    logged = run("bureau", "log", "--user", "jinan.admin")
    assert "110105********002X" in logged.output and "fetched" in logged.output


def test_demo_borrower_can_be_queried_for_post_loan(cm):
    from nongxin.core.demo import DEMO_BORROWER

    kind, number, name = DEMO_BORROWER
    resp = ask(cm, subject={"kind": kind, "id_number": number, "name": name}, purpose="01", kind="loan",
               ref="JNRCB-2026-000001")
    assert resp.status_code == 200 and resp.get_json()["query"]["outcome"] == "fetched"


def test_a_provider_that_overruns_the_bureau_timeout_fails_and_feeds_its_breaker(cm, nongxin_app, monkeypatch):
    """The dispatch layer applies the bureau timeout; before, the service's own thread pool timed
    out without the provider's breaker ever hearing of it."""
    import time as clock

    import nongxin.plugins.bureau_sim as sim
    from nongxin.core.web import runtime

    real = sim.simulate_report

    def slow(subject, as_of):
        clock.sleep(3)  # far beyond the 0.05 s timeout, so a loaded machine cannot blur the two
        return real(subject, as_of)

    monkeypatch.setattr(sim, "simulate_report", slow)
    host = runtime(nongxin_app).host
    monkeypatch.setitem(host.timeouts, "nongxin_bureau_query", 0.05)
    authorize(cm)
    started = clock.perf_counter()
    body = ask(cm).get_json()
    assert clock.perf_counter() - started < 2.5  # answered without waiting for the provider
    assert body["usable"] is False and body["query"]["outcome"] == "failed"
    assert body["query"]["provider"] == "bureau_sim" and "timed out after 0.05 s" in body["query"]["error"]
    assert host.breakers.status("bureau_sim", "JNRCB")["consecutive_failures"] == 1


def test_a_provider_answering_the_wrong_type_is_a_failure_naming_it(cm, monkeypatch):
    import nongxin.plugins.bureau_sim as sim

    monkeypatch.setattr(sim, "simulate_report", lambda subject, as_of: {"score": 700})
    authorize(cm)
    body = ask(cm).get_json()
    assert body["usable"] is False and body["query"]["outcome"] == "failed"
    assert body["query"]["provider"] == "bureau_sim" and "not a BureauReport" in body["query"]["error"]


def test_cli_query_runs_as_of_the_given_business_date(nongxin_settings, nongxin_demo, tmp_path):
    """`--as-of` sets the business date the command decides on: here the identity check, which
    refuses a birth date after it (without the option the date is today and the check passes)."""
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    def run(*args):
        return CliRunner().invoke(main, list(args), obj=Console(nongxin_settings), catch_exceptions=False)

    subject = ["--id-number", PERSON["id_number"], "--name", "张三"]  # born 1949-12-31
    before_birth = run("bureau", "query", "--user", "jinan.cm", *subject, "--purpose", "02",
                       "--for", "application:A-9", "--as-of", "1949-06-01")
    assert before_birth.exit_code == 2 and "in the future" in before_birth.output
    today = run("bureau", "query", "--user", "jinan.cm", *subject, "--purpose", "02", "--for", "application:A-9")
    assert today.exit_code == 2 and "no authorization" in today.output
    bad_date = CliRunner().invoke(main, ["bureau", "query", "--as-of", "2026-13-01"], obj=Console(nongxin_settings))
    assert bad_date.exit_code == 2 and "--as-of" in bad_date.output

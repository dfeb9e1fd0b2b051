"""Back-to-back peer review through the API: rounds, reviewers, ratings, the hiding while open,
the close with its aggregation and overrides, scope, and the colour as a fact."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.auth import Principal
from nongxin.core.bureau.models import BureauQueryLog
from nongxin.core.bureau.services import SubjectInput, record_authorization
from nongxin.core.customers.models import Customer, CustomerKind, Household, Relation
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.early_warning.models import LoanClass, WatchlistEntry
from nongxin.core.credit.models import Loan
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Role, User
from nongxin.core.testing import make_test_village, open_test_loan
from nongxin.core.village.models import HouseholdReview, PeerRating
from nongxin.sdk.identity import birth_date, make_resident_id

SCORES = {"integrity": 3, "income": 3, "assets": 2, "business": 3, "health": 4}


def _reviewer_id(n: int) -> str:
    return make_resident_id("371302", date(1965, 3, 1) + timedelta(days=n), 555)


def open_round(client: Any, village: int, user: str = "linyi.cm") -> int:
    resp = client.as_user(user).post("/api/review-rounds", json={"village": village, "name": "2026年评议"})
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def add_reviewers(client: Any, round_id: int, n: int, *, user: str = "linyi.cm") -> list[int]:
    ids = []
    for i in range(n):
        resp = client.as_user(user).post(f"/api/review-rounds/{round_id}/reviewers", json={
            "kind": "official" if i == 0 else "representative", "name": f"评议人{i}", "id_number": _reviewer_id(i)})
        assert resp.status_code == 201, resp.get_json()
        ids.append(resp.get_json()["id"])
    return ids


def rate(client: Any, round_id: int, reviewer: int, household: int, colour: str, reason: str = "",
         user: str = "linyi.cm") -> Any:
    return client.as_user(user).put(f"/api/review-rounds/{round_id}/ratings", json={
        "reviewer": reviewer, "household": household, **SCORES, "colour": colour, "reason": reason})


def _colour(app: Any, household: int) -> tuple[str | None, Any]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        row = unit.session.get(Household, household)
        assert row is not None
        return row.peer_review, row.peer_review_on


def test_open_round_keeps_the_county_settings_and_one_open_round_per_village(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=2)
    admin = nongxin_client.as_user("linyi.admin")
    resp = admin.post("/api/parameters", json={"name": "village.min_reviewers", "institution": "LYRCB", "value": "2",
                                               "effective_from": nongxin_app.extensions["nongxin"].clock.business_date().isoformat()})
    assert resp.status_code in (200, 201), resp.get_json()
    resp = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"village": village.village_id})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["min_reviewers"] == 2 and resp.get_json()["aggregation"] == "any_black"
    again = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"village": village.village_id})
    assert again.status_code == 409 and again.get_json()["error"] == "round_open"
    grid = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"grid": "LYRCB-LS-G01"})
    assert grid.status_code == 409  # the grid's round would cover the village in its open round
    both = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"village": 1, "grid": "LYRCB-LS-G01"})
    assert both.status_code == 422 and "village" in both.get_json()["fields"]
    jinan = nongxin_client.as_user("jinan.cm").post("/api/review-rounds", json={"village": village.village_id})
    assert jinan.status_code == 404


def test_a_grid_round_covers_every_village_of_the_grid(nongxin_app, nongxin_client):
    a = make_test_village(nongxin_app, households=2)
    b = make_test_village(nongxin_app, households=1)
    resp = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"grid": "LYRCB-LS-G01"})
    assert resp.status_code == 201, resp.get_json()
    shown = nongxin_client.as_user("linyi.cm").get(f"/api/review-rounds/{resp.get_json()['id']}").get_json()
    assert {h["household"] for h in shown["households"]} >= set(a.households) | set(b.households)
    clash = nongxin_client.as_user("linyi.cm").post("/api/review-rounds", json={"village": a.village_id})
    assert clash.status_code == 409


def test_reviewers_are_checked_and_their_own_household_found(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=2)
    round_id = open_round(nongxin_client, village.village_id)
    cm = nongxin_client.as_user("linyi.cm")
    bad = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={"kind": "official", "name": "村支书",
                                                                     "id_number": "371302196503010000"})
    assert bad.status_code == 422 and "id_number" in bad.get_json()["fields"]
    not_cm = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "manager", "name": "客户经理", "id_number": _reviewer_id(40), "username": "linyi.admin"})
    assert not_cm.status_code == 422 and "username" in not_cm.get_json()["fields"]
    other_bank = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "manager", "name": "客户经理", "id_number": _reviewer_id(40), "username": "jinan.cm"})
    assert other_bank.status_code == 422
    manager = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "manager", "name": "客户经理", "id_number": _reviewer_id(40), "username": "linyi.cm"})
    assert manager.status_code == 201, manager.get_json()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        head = unit.session.get(Customer, village.heads[1])
        assert head is not None
        number, name = head.id_number, head.name
    villager = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "representative", "name": name, "id_number": number})
    assert villager.status_code == 201 and villager.get_json()["household"] == village.households[1]
    assert villager.get_json()["id_number"] == number  # credit staff see identity numbers whole
    pm = nongxin_client.as_user("linyi.pm").get(f"/api/review-rounds/{round_id}").get_json()
    assert number not in json.dumps(pm) and len(pm["reviewers"]) == 2  # a product manager sees them masked
    twice = cm.post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "representative", "name": name, "id_number": number})
    assert twice.status_code == 409
    own = rate(nongxin_client, round_id, villager.get_json()["id"], village.households[1], "green")
    assert own.status_code == 422 and "household" in own.get_json()["fields"]


def test_ratings_are_checked_and_reentering_replaces(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=2)
    elsewhere = make_test_village(nongxin_app, households=1)
    round_id = open_round(nongxin_client, village.village_id)
    [reviewer] = add_reviewers(nongxin_client, round_id, 1)
    h = village.households[0]
    black = rate(nongxin_client, round_id, reviewer, h, "black")
    assert black.status_code == 422 and "reason" in black.get_json()["fields"]
    outside = rate(nongxin_client, round_id, reviewer, elsewhere.households[0], "green")
    assert outside.status_code == 422 and "household" in outside.get_json()["fields"]
    assert rate(nongxin_client, round_id, reviewer, 999999, "green").status_code == 404
    assert rate(nongxin_client, round_id, 999999, h, "green").status_code == 404
    first = rate(nongxin_client, round_id, reviewer, h, "green")
    assert first.status_code == 200 and first.get_json() == {"round": round_id, "reviewer": reviewer,
                                                             "household": h, "entered_by": "linyi.cm"}
    assert "colour" not in first.get_json()
    second = rate(nongxin_client, round_id, reviewer, h, "black", "常年赌博", user="linyi.admin")
    assert second.status_code == 200
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        rows = list(unit.session.execute(sa.select(PeerRating).where(PeerRating.round_id == round_id)).scalars())
    assert [(r.colour, r.reason, r.entered_by) for r in rows] == [("black", "常年赌博", "linyi.admin")]
    jinan = rate(nongxin_client, round_id, reviewer, h, "green", user="jinan.cm")
    assert jinan.status_code == 404
    assert nongxin_client.as_user("linyi.approver").post(f"/api/review-rounds/{round_id}/close").status_code == 200
    late = rate(nongxin_client, round_id, reviewer, h, "green")
    assert late.status_code == 409 and late.get_json()["error"] == "invalid_state"
    added = nongxin_client.as_user("linyi.cm").post(f"/api/review-rounds/{round_id}/reviewers", json={
        "kind": "official", "name": "迟到", "id_number": _reviewer_id(77)})
    assert added.status_code == 409


def test_nobody_reads_a_colour_or_score_while_the_round_is_open(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=2)
    round_id = open_round(nongxin_client, village.village_id)
    reviewers = add_reviewers(nongxin_client, round_id, 3)
    for r in reviewers:
        assert rate(nongxin_client, round_id, r, village.households[0], "black", "拖欠民间借贷不还").status_code == 200
    assert rate(nongxin_client, round_id, reviewers[0], village.households[1], "grey").status_code == 200
    for user in ("linyi.cm", "linyi.admin", "province.admin", "linyi.approver"):
        resp = nongxin_client.as_user(user).get(f"/api/review-rounds/{round_id}")
        assert resp.status_code == 200, (user, resp.get_json())
        text = json.dumps({k: v for k, v in resp.get_json().items() if k != "aggregation"}, ensure_ascii=False)
        for secret in ("black", "grey", "拖欠", "integrity", "colour", "ratings"):
            assert secret not in text, (user, secret)
        progress = {h["household"]: (h["rated"], h["enough"]) for h in resp.get_json()["households"]}
        assert progress == {village.households[0]: (3, True), village.households[1]: (1, False)}
        assert [r["rated"] for r in resp.get_json()["reviewers"]] == [2, 1, 1]
    closed = nongxin_client.as_user("linyi.approver").post(f"/api/review-rounds/{round_id}/close")
    assert closed.status_code == 200, closed.get_json()
    after = {h["household"]: h for h in nongxin_client.as_user("linyi.cm").get(
        f"/api/review-rounds/{round_id}").get_json()["households"]}
    first = after[village.households[0]]
    assert first["colour"] == first["review_colour"] == "black" and first["tally"]["black"] == 3
    assert [r["reason"] for r in first["ratings"]] == ["拖欠民间借贷不还"] * 3 and first["ratings"][0]["integrity"] == 3


def test_close_aggregates_and_sets_the_colour_that_stands(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=4, colours=[None, None, None, "green"])
    h = village.households
    round_id = open_round(nongxin_client, village.village_id)
    r = add_reviewers(nongxin_client, round_id, 3)
    plan = {h[0]: ["green", "green", "black"], h[1]: ["green", "grey", "grey"], h[2]: ["white", "green", "green"],
            h[3]: ["black", "black"]}
    for household, colours in plan.items():
        for reviewer, colour in zip(r, colours):
            assert rate(nongxin_client, round_id, reviewer, household, colour, "有不良嗜好").status_code == 200
    admin = nongxin_client.as_user("linyi.admin")  # no member consented: no bureau query needed
    closed = admin.post(f"/api/review-rounds/{round_id}/close")
    assert closed.status_code == 200, closed.get_json()
    result = {x["household"]: x for x in closed.get_json()["households"]}
    assert [result[x]["colour"] for x in h] == ["black", "grey", "green", None]
    assert result[h[3]]["review_colour"] is None and result[h[3]]["tally"]["note"] == "not enough reviewers"
    assert result[h[3]]["rated"] == 2 and not result[h[3]]["enough"]
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    assert [_colour(nongxin_app, x)[0] for x in h] == ["black", "grey", "green", "green"]  # h3 keeps its colour
    assert _colour(nongxin_app, h[0])[1] == today
    assert "bureau: not checked" in result[h[0]]["tally"]["checks"][0]
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        audit = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "village.review.close", AuditEntry.target == f"review_round:{round_id}")).scalar_one()
        assert audit.after["colours"] == {"black": 1, "grey": 1, "green": 1, "white": 0, "none": 1}
        assert unit.session.execute(sa.select(sa.func.count()).select_from(HouseholdReview).where(
            HouseholdReview.round_id == round_id)).scalar_one() == 4
    again = admin.post(f"/api/review-rounds/{round_id}/close")
    assert again.status_code == 409 and again.get_json()["error"] == "invalid_state"


def test_majority_rule_from_the_county_setting(nongxin_app, nongxin_client):
    admin = nongxin_client.as_user("linyi.admin")
    today = nongxin_app.extensions["nongxin"].clock.business_date().isoformat()
    for name, value in (("village.aggregation", "majority"), ("village.min_reviewers", "1")):
        resp = admin.post("/api/parameters", json={"name": name, "institution": "LYRCB", "value": value,
                                                   "effective_from": today})
        assert resp.status_code in (200, 201), resp.get_json()
    village = make_test_village(nongxin_app, households=1)
    round_id = open_round(nongxin_client, village.village_id)
    r = add_reviewers(nongxin_client, round_id, 3)
    for reviewer, colour in zip(r, ["green", "green", "black"]):
        assert rate(nongxin_client, round_id, reviewer, village.households[0], colour, "理由").status_code == 200
    closed = admin.post(f"/api/review-rounds/{round_id}/close").get_json()
    assert closed["aggregation"] == "majority" and closed["households"][0]["colour"] == "green"


def _member(app: Any, household: int, seq: int, name: str, *, consent: bool) -> str:
    """Another member of ``household`` whose resident ID picks the simulated bureau's profile
    ``seq``; with ``consent`` a live authorization of LYRCB for purpose 23."""
    rt = app.extensions["nongxin"]
    number = make_resident_id("371302", date(1990, 1, 1) + timedelta(days=household % 300), seq)
    with UnitOfWork(rt.sessions) as unit:
        s = unit.session
        head = s.execute(sa.select(Customer).where(Customer.household_id == household)).scalars().first()
        assert head is not None
        s.add(Customer(county_bank_id=head.county_bank_id, grid_id=head.grid_id, manager_id=head.manager_id,
                       kind=CustomerKind.INDIVIDUAL, id_number=number, name=name, birth_date=birth_date(number),
                       household_id=household, relation=Relation.CHILD, created_by="test"))
        if consent:
            bank = institutions.get_by_code(s, "LYRCB")
            assert bank is not None
            clerk = Principal("clerk.lyrcb", Role.REVIEWER, bank.id, bank.code, bank.path)
            record_authorization(unit, clerk, rt.settings, subject=SubjectInput("resident_id", number, name),
                                 purposes=["23"], channel="paper", evidence_ref="archive://LYRCB/auth.pdf",
                                 evidence_sha256="ab" * 32, granted_at=utcnow() - timedelta(days=1))
        unit.commit()
    return number


def test_overrides_npl_court_and_bureau_and_only_consenting_members_are_queried(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=4)
    h = village.households
    blacklisted = _member(nongxin_app, h[0], 999, "黑名单", consent=True)
    clean = _member(nongxin_app, h[1], 998, "白名单", consent=True)
    listed = _member(nongxin_app, h[2], 401, "被执行", consent=False)
    borrower = _member(nongxin_app, h[3], 402, "不良户", consent=False)
    rt = nongxin_app.extensions["nongxin"]
    today = rt.clock.business_date()
    loan_no = open_test_loan(nongxin_app, place="LYRCB-LS", manager="linyi.cm", id_number=borrower, name="不良户")
    with UnitOfWork(rt.sessions) as unit:
        s = unit.session
        bank = institutions.get_by_code(s, "LYRCB")
        assert bank is not None
        loan = s.execute(sa.select(Loan).where(Loan.loan_no == loan_no)).scalar_one()
        s.add(LoanClass(loan_id=loan.id, county_bank_id=bank.id, institution_id=loan.institution_id,
                        tier="doubtful", floor="doubtful", since=today, as_of=today))
        s.add(WatchlistEntry(county_bank_id=None, kind="enforcement", id_number=listed, name="被执行",
                             case_no="(2026)鲁1302执1号", court="兰山区人民法院", listed_on=today - timedelta(days=30),
                             delisted_on=None, source="test", loaded_by="test"))
        unit.commit()
    heads = []
    with UnitOfWork(rt.sessions, write=False) as unit:
        heads = [unit.session.get(Customer, c).id_number for c in village.heads]  # type: ignore[union-attr]
    round_id = open_round(nongxin_client, village.village_id)
    r = add_reviewers(nongxin_client, round_id, 3)
    for household in h:
        for reviewer in r:
            assert rate(nongxin_client, round_id, reviewer, household, "green").status_code == 200
    refused = nongxin_client.as_user("linyi.admin").post(f"/api/review-rounds/{round_id}/close")
    assert refused.status_code == 403 and refused.get_json()["error"] == "bureau_query_needed"
    closed = nongxin_client.as_user("linyi.approver").post(f"/api/review-rounds/{round_id}/close")
    assert closed.status_code == 200, closed.get_json()
    result = {x["household"]: x for x in closed.get_json()["households"]}
    assert [(result[x]["review_colour"], result[x]["override"], result[x]["colour"]) for x in h] == [
        ("green", "bureau", "black"), ("green", None, "green"), ("green", "court", "black"), ("green", "npl", "black")]
    assert "credit report" in result[h[0]]["override_reason"] and loan_no in result[h[3]]["override_reason"]
    assert blacklisted not in result[h[0]]["override_reason"]  # masked
    with UnitOfWork(rt.sessions, write=False) as unit:
        logged = list(unit.session.execute(sa.select(BureauQueryLog.id_number, BureauQueryLog.purpose).where(
            BureauQueryLog.for_kind == "review_round", BureauQueryLog.for_ref == str(round_id))))
        assert sorted(logged) == sorted([(blacklisted, "23"), (clean, "23")])
        for never in (listed, borrower, *heads):
            assert unit.session.execute(sa.select(sa.func.count()).select_from(BureauQueryLog).where(
                BureauQueryLog.id_number == never)).scalar_one() == 0
    assert any("no consent" in c for c in result[h[2]]["tally"]["checks"])
    assert [_colour(nongxin_app, x)[0] for x in h] == ["black", "green", "black", "black"]


def test_another_county_banks_round_is_not_found_and_lists_are_scoped(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=1)
    round_id = open_round(nongxin_client, village.village_id)
    jinan = nongxin_client.as_user("jinan.admin")
    assert jinan.get(f"/api/review-rounds/{round_id}").status_code == 404
    assert jinan.post(f"/api/review-rounds/{round_id}/close").status_code == 404
    assert jinan.get("/api/review-rounds").get_json() == []
    mine = nongxin_client.as_user("linyi.cm").get(f"/api/review-rounds?village={village.village_id}&status=open")
    assert [x["id"] for x in mine.get_json()] == [round_id]
    assert nongxin_client.as_user("linyi.cm").get("/api/review-rounds?status=closed").get_json() == []
    assert nongxin_client.as_user("linyi.cm").post(f"/api/review-rounds/{round_id}/close").status_code == 403


def test_a_black_household_is_rejected_by_the_decision(nongxin_app, nongxin_client, nongxin_enable):
    from nongxin.core.customers.services import customer_facts
    from nongxin.core.institutions.services import get_by_code
    from nongxin.core.village.engine import batch_context, evaluate_one_by_one, facts_frame

    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    village = make_test_village(nongxin_app, households=2)
    round_id = open_round(nongxin_client, village.village_id)
    r = add_reviewers(nongxin_client, round_id, 3)
    for reviewer in r:
        assert rate(nongxin_client, round_id, reviewer, village.households[0], "green").status_code == 200
    assert rate(nongxin_client, round_id, r[0], village.households[1], "black", "骗取补贴").status_code == 200
    for reviewer in r[1:]:
        assert rate(nongxin_client, round_id, reviewer, village.households[1], "green").status_code == 200
    assert nongxin_client.as_user("linyi.approver").post(f"/api/review-rounds/{round_id}/close").status_code == 200
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        heads = [unit.session.get(Customer, i) for i in village.heads]
        records = [{"customer_id": c.id, "household_id": c.household_id, **customer_facts(c, today)}  # type: ignore[union-attr]
                   for c in heads]
        assert [x["peer_review"] for x in records] == ["green", "black"]
        ctx = batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD", today)
        result = evaluate_one_by_one(facts_frame(records), ctx)
    assert list(result["outcome"]) == ["approved", "rejected"]


def test_the_round_is_audited_and_users_exist(nongxin_app, nongxin_client):
    village = make_test_village(nongxin_app, households=1)
    round_id = open_round(nongxin_client, village.village_id)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert unit.session.execute(sa.select(User.id).where(User.username == "linyi.approver")).scalar() is not None
        opened = unit.session.execute(sa.select(AuditEntry).where(
            AuditEntry.action == "village.review.open", AuditEntry.target == f"review_round:{round_id}")).scalar_one()
        assert opened.actor == "linyi.cm" and opened.after["min_reviewers"] == 3

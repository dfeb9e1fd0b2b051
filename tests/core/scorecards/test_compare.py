"""The champion/challenger comparison through the service, the API and the CLI: figures against
hand computations on a small set, the caller's subtree only, another county bank 404."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from nongxin.core.cli import main
from nongxin.core.credit.models import Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.scorecards.models import ChallengerScore
from nongxin.core.testing import file_application, make_overdue
from nongxin.sdk.identity import make_resident_id
from tests.core.scorecards.test_outcomes import lend

_seq = itertools.count(1)
FACTS = {"age": 38, "annual_income": "120000", "bureau_outstanding_debt": "45000.5", "segment": "salaried",
         "bureau_dishonest_debtor": False, "lpr_1y": "0.0310", "employer_check": "verified"}
TYPES = {"annual_income": "decimal", "bureau_outstanding_debt": "decimal", "lpr_1y": "decimal"}


def decided(app: Any, *, place: str = "JNRCB-LX", cm: str = "jinan.cm", outcome: str | None = None,
            segment: str = "salaried", facts: dict[str, Any] | None = None, days_ago: int = 10) -> tuple[int, int]:
    """An application decided ``days_ago`` (a stored decision with ``facts``), its outcome arranged:
    "bad" (a loan 95 days overdue), "good" (a clean loan drawn 400 days ago) or None (no loan)."""
    n = next(_seq)
    app_id = file_application(app, place=place, filed_by=cm, status="approved", segment=segment,
                              id_number=make_resident_id("370102", date(1970, 1, 1) + timedelta(days=n), 903))
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        d = Decision(application_id=app_id, outcome="approved", business_date=rt.clock.business_date()
                     - timedelta(days=days_ago), decided_by=cm, score=600, grade="C",
                     record={"application": {"segment": segment, "number": f"T{n}"},
                             "facts": dict(facts if facts is not None else FACTS), "fact_types": TYPES})
        unit.session.add(d)
        unit.commit()
        decision_id = d.id
    if outcome is not None:
        [loan_no] = lend(app, app_id, drawn_days_ago=400, place=place, manager=cm)
        if outcome == "bad":
            make_overdue(app, loan_no, days=95)
    return app_id, decision_id


def shadow(app: Any, app_id: int, decision_id: int, champion: tuple[int | None, str | None],
           challenger: tuple[int, str | None], *, code: str = "JN-SC-B", segment: str = "salaried") -> None:
    rt = app.extensions["nongxin"]
    with UnitOfWork(rt.sessions) as unit:
        d = unit.session.get(Decision, decision_id)
        from nongxin.core.credit.models import Application

        a = unit.session.get(Application, app_id)
        unit.session.add(ChallengerScore(
            decision_id=decision_id, application_id=app_id, county_bank_id=a.county_bank_id,
            institution_id=a.institution_id, business_date=d.business_date, segment=segment,
            champion_code=None if champion[0] is None else "PROV-SC-SALARIED",
            champion_version=None if champion[0] is None else 1, champion_total=champion[0],
            champion_grade=champion[1], challenger_code=code, challenger_version=2, challenger_plugin="chal",
            total=challenger[0], grade=challenger[1], lines=[], missing=[]))
        unit.commit()


#: (champion total, grade), (challenger total, grade), outcome
SET = [((600, "C"), (610, "B"), "bad"), ((620, "B"), (600, "B"), "good"), ((580, "C"), (590, "C"), "bad"),
       ((650, "B"), (660, "B"), "good"), ((500, "D"), (520, None), None), ((700, "A"), (720, "A"), "good")]


@pytest.fixture
def arranged(nongxin_app: Any, nongxin_demo: Any) -> None:
    for champion, challenger, outcome in SET:
        shadow(nongxin_app, *decided(nongxin_app, outcome=outcome), champion, challenger)
    # another county bank's challenger row: never counted at JNRCB
    shadow(nongxin_app, *decided(nongxin_app, place="LYRCB-LS", cm="linyi.cm", outcome="bad"), (100, "D"), (900, "A"))


EXPECTED = {
    "institution": "JNRCB", "segment": "salaried", "challenger": "JN-SC-B", "versions": [2],
    "champions": ["PROV-SC-SALARIED"], "since": None, "until": None, "decisions": 6, "paired": 6,
    # deviations from the means 608.33 and 616.67: 22366.67 / sqrt(22883.33 * 22933.33)
    "pearson": "0.976356",
    # rank differences (1, 1, 0, 0, 0, 0): 1 - 6 * 2 / (6 * 35)
    "spearman": "0.942857",
    "migration": {"A": {"A": 1, "B": 0, "C": 0, "D": 0, "none": 0}, "B": {"A": 0, "B": 2, "C": 0, "D": 0, "none": 0},
                  "C": {"A": 0, "B": 1, "C": 1, "D": 0, "none": 0}, "D": {"A": 0, "B": 0, "C": 0, "D": 0, "none": 1},
                  "none": {"A": 0, "B": 0, "C": 0, "D": 0, "none": 0}},
    # champion: bads 580 600 below goods 620 650 700: KS 1; challenger: 590 b, 600 g, 610 b, 660 g,
    # 720 g: cumulative bads .5 .5 1 1 1, goods 0 1/3 1/3 2/3 1: KS 2/3
    "ks": {"champion": "1.000000", "challenger": "0.666667", "reason": ""},
}


def test_compare_through_the_api_against_hand_computations(arranged, nongxin_client):
    resp = nongxin_client.as_user("jinan.pm").get(
        "/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried&min_each=2")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    outcomes = body.pop("outcomes")
    assert (outcomes["goods"], outcomes["bads"], outcomes["unknown"], outcomes["min_each"]) == (3, 2, 1, 2)
    assert body == EXPECTED


def test_ks_waits_for_enough_outcomes(arranged, nongxin_client):
    body = nongxin_client.get("/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried").get_json()
    assert body["ks"] == {"champion": None, "challenger": None,
                          "reason": "needs at least 20 goods and 20 bads with known outcomes (3 goods, 2 bads)"}
    assert body["pearson"] == "0.976356"


def test_the_period_narrows_the_rows(arranged, nongxin_app, nongxin_client):
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    body = nongxin_client.get(f"/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried"
                              f"&since={today}").get_json()
    assert (body["decisions"], body["pearson"], body["migration"]) == (0, None, {})
    bad = nongxin_client.get(f"/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried"
                             f"&since={today}&until={today - timedelta(days=1)}")
    assert bad.status_code == 422 and "since" in bad.get_json()["fields"]


def test_the_listing_counts_per_card_within_the_subtree(arranged, nongxin_app, nongxin_client):
    resp = nongxin_client.get("/api/scorecards/challengers?institution=JNRCB")
    assert resp.status_code == 200
    day = str(nongxin_app.extensions["nongxin"].clock.business_date() - timedelta(days=10))
    assert resp.get_json() == [{"segment": "salaried", "challenger": "JN-SC-B", "version": 2, "decisions": 6,
                                "first": day, "last": day}]
    linyi = nongxin_client.as_user("linyi.admin").get("/api/scorecards/challengers?institution=LYRCB").get_json()
    assert [r["decisions"] for r in linyi] == [1]


def test_another_county_bank_is_404_and_a_role_without_the_right_403(arranged, nongxin_client):
    for path in ("/api/scorecards/challengers?institution=LYRCB",
                 "/api/scorecards/challengers/compare?institution=LYRCB&segment=salaried"):
        assert nongxin_client.as_user("jinan.pm").get(path).status_code == 404
    assert nongxin_client.as_user("jinan.cm").get("/api/scorecards/challengers?institution=JNRCB-LX").status_code == 403


def test_several_challengers_must_be_named(arranged, nongxin_app, nongxin_client):
    shadow(nongxin_app, *decided(nongxin_app), (600, "C"), (600, "C"), code="JN-SC-C")
    resp = nongxin_client.get("/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried")
    assert resp.status_code == 422
    assert resp.get_json()["fields"] == {
        "challenger": ["segment 'salaried' has several challengers (JN-SC-B, JN-SC-C): name one"]}
    named = nongxin_client.get("/api/scorecards/challengers/compare?institution=JNRCB&segment=salaried"
                               "&challenger=JN-SC-C").get_json()
    assert (named["challenger"], named["decisions"]) == ("JN-SC-C", 1)


def test_missing_or_over_long_fields_are_422(nongxin_client, nongxin_demo):
    assert nongxin_client.get("/api/scorecards/challengers/compare?institution=JNRCB").status_code == 422
    assert nongxin_client.get("/api/scorecards/challengers?institution=" + "X" * 500).status_code == 422


def test_the_cli_prints_the_same(arranged, nongxin_settings, monkeypatch):
    monkeypatch.setenv("NONGXIN_DATABASE_URL", nongxin_settings.database_url)
    runner = CliRunner()
    args = ["scorecard", "compare", "--institution", "JNRCB", "--segment", "salaried", "--user", "jinan.pm"]
    shown = runner.invoke(main, [*args, "--json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert (body["pearson"], body["spearman"], body["migration"]) == (
        EXPECTED["pearson"], EXPECTED["spearman"], EXPECTED["migration"])
    table = runner.invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "pearson 0.976356" in table.output and "grade migration" in table.output
    refused = runner.invoke(main, ["scorecard", "compare", "--institution", "LYRCB", "--segment", "salaried",
                                   "--user", "jinan.pm"])
    assert refused.exit_code != 0 and "LYRCB not found" in refused.output and "Traceback" not in refused.output

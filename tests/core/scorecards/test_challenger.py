"""Challenger scorecards scored in shadow by the decision: a row per challenger, nothing in the
decision, never when the challenger's plugin is off, and a failing challenger is skipped."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.credit.models import Decision
from nongxin.core.scorecards.models import ChallengerScore
from nongxin.core.testing import file_application
from nongxin.plugins.province_scorecards import SALARIED
from nongxin.sdk import PluginInfo, PluginKind, ScorecardGrade, hookimpl
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.scorecards import score

PERSON = make_resident_id("370102", date(1986, 4, 2), 997)
#: the challenger: the province's salaried card with other points (and another base)
CHALLENGER = dataclasses.replace(SALARIED, code="JN-SC-SALARIED-B", version=3, base_points=350, challenger=True,
                                 bins=tuple(dataclasses.replace(b, points=b.points * 2) for b in SALARIED.bins))
BROKEN = dataclasses.replace(CHALLENGER, code="JN-SC-BROKEN", grades=(ScorecardGrade("X", "oops", Decimal(1)),))  # type: ignore[arg-type]
CARDS: dict[str, list[Any]] = {"cards": [CHALLENGER]}


@hookimpl
def nongxin_scorecards(ctx: Any) -> list[Any]:
    return list(CARDS["cards"])


def _module() -> ModuleType:
    mod = ModuleType("chal_test")
    mod.PLUGIN = PluginInfo(name="chal_test", version="0.1.0", kind=PluginKind.SCORECARD)  # type: ignore[attr-defined]
    mod.nongxin_scorecards = nongxin_scorecards  # type: ignore[attr-defined]
    return mod


CHAL = _module()


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [CHAL]


@pytest.fixture
def cm(nongxin_client: Any, monkeypatch: Any) -> Any:
    monkeypatch.setitem(CARDS, "cards", [CHALLENGER])
    return nongxin_client.as_user("jinan.cm")


def _decide(client: Any, app_id: int) -> dict[str, Any]:
    resp = client.post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _shadow(uow: Any, app_id: int | None = None) -> list[ChallengerScore]:
    uow.rollback()
    stmt = sa.select(ChallengerScore).order_by(ChallengerScore.id)
    if app_id is not None:
        stmt = stmt.where(ChallengerScore.application_id == app_id)
    return list(uow.session.execute(stmt).scalars())


def _decision(uow: Any, app_id: int) -> Decision:
    uow.rollback()
    return uow.session.execute(sa.select(Decision).where(Decision.application_id == app_id)).scalar_one()


def _facts(d: Decision) -> dict[str, Any]:
    from nongxin.core.credit.decision import decode_facts

    return decode_facts(d.record["facts"], d.record["fact_types"])


def test_an_enabled_challenger_scores_the_champions_facts_in_shadow(cm, nongxin_app, nongxin_enable, nongxin_uow):
    nongxin_enable("chal_test", "JNRCB")
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    _decide(cm, app_id)
    d = _decision(nongxin_uow, app_id)
    [row] = _shadow(nongxin_uow, app_id)
    expected = score(CHALLENGER, _facts(d))
    assert (row.decision_id, row.segment, row.challenger_code, row.challenger_version, row.challenger_plugin) == (
        d.id, "salaried", "JN-SC-SALARIED-B", 3, "chal_test")
    assert (row.champion_code, row.champion_version, row.champion_total, row.champion_grade) == (
        "PROV-SC-SALARIED", 1, d.score, d.grade)
    assert row.total == expected.total and row.total != d.score
    assert row.grade == (expected.grade.name if expected.grade else None)
    assert [line["field"] for line in row.lines] == [line.field for line in expected.lines]
    assert row.missing == list(expected.missing)
    assert "JN-SC-SALARIED-B" not in json.dumps(d.record)  # nothing of it in the decision's record


def test_no_challenger_no_rows(cm, nongxin_app, nongxin_uow):
    """The plugin is not enabled at JNRCB: a disabled challenger never scores."""
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    _decide(cm, app_id)
    assert _decision(nongxin_uow, app_id).score is not None
    assert _shadow(nongxin_uow) == []


def test_a_challenger_disabled_at_the_bank_never_scores(cm, nongxin_app, nongxin_client, nongxin_enable,
                                                        nongxin_uow):
    nongxin_enable("chal_test", "JNRCB")
    resp = nongxin_client.as_user("province.admin").post("/api/plugins/chal_test/disable",
                                                        json={"institution": "JNRCB"})
    assert resp.status_code == 200, resp.get_json()
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    _decide(cm, app_id)
    assert _shadow(nongxin_uow) == []


def test_another_segment_is_not_scored_by_the_challenger(cm, nongxin_app, nongxin_enable, nongxin_uow, monkeypatch):
    monkeypatch.setitem(CARDS, "cards", [dataclasses.replace(CHALLENGER, segment="farmer")])
    nongxin_enable("chal_test", "JNRCB")
    _decide(cm, file_application(nongxin_app, id_number=PERSON, amount="30000"))
    assert _shadow(nongxin_uow) == []


def _comparable(d: Decision) -> dict[str, Any]:
    record = {k: v for k, v in d.record.items() if k not in ("durations_us", "bureau", "connectors")}
    record["application"] = {k: v for k, v in record["application"].items() if k != "number"}
    return {"outcome": d.outcome, "refusal": d.refusal_category, "limit": d.limit, "rate": d.rate, "score": d.score,
            "grade": d.grade, "card": (d.scorecard_code, d.scorecard_version), "record": record}


def test_the_decision_is_identical_with_and_without_a_challenger(cm, nongxin_app, nongxin_enable, nongxin_uow):
    # manual review (above the auto-approval ceiling): no line is granted, so the second application
    # of the same customer meets the same exposure and the same facts
    first = file_application(nongxin_app, id_number=PERSON, amount="80000")
    _decide(cm, first)
    nongxin_enable("chal_test", "JNRCB")
    second = file_application(nongxin_app, id_number=PERSON, amount="80000")
    _decide(cm, second)
    without, with_ = _decision(nongxin_uow, first), _decision(nongxin_uow, second)
    assert with_.outcome == "manual_review"
    assert _comparable(without) == _comparable(with_)
    assert _shadow(nongxin_uow, first) == [] and len(_shadow(nongxin_uow, second)) == 1


def test_a_failing_challenger_is_skipped_and_the_others_still_score(cm, nongxin_app, nongxin_enable, nongxin_uow,
                                                                    monkeypatch, caplog):
    monkeypatch.setitem(CARDS, "cards", [BROKEN, CHALLENGER])
    nongxin_enable("chal_test", "JNRCB")
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    body = _decide(cm, app_id)
    assert body["status"] == "approved"
    assert [r.challenger_code for r in _shadow(nongxin_uow, app_id)] == ["JN-SC-SALARIED-B"]
    assert any("JN-SC-BROKEN" in r.getMessage() for r in caplog.records)


def test_only_a_failing_challenger_leaves_the_decision_alone(cm, nongxin_app, nongxin_enable, nongxin_uow,
                                                             monkeypatch):
    monkeypatch.setitem(CARDS, "cards", [BROKEN])
    nongxin_enable("chal_test", "JNRCB")
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    assert _decide(cm, app_id)["status"] == "approved"
    assert _decision(nongxin_uow, app_id).scorecard_code == "PROV-SC-SALARIED"
    assert _shadow(nongxin_uow) == []


def test_a_challenger_row_the_database_refuses_leaves_the_decision_alone(cm, nongxin_app, nongxin_enable,
                                                                        nongxin_uow, monkeypatch):
    """A code longer than its column: PostgreSQL refuses the insert inside the savepoint, which is
    rolled back alone; the decision is committed all the same (SQLite does not check the length)."""
    monkeypatch.setitem(CARDS, "cards", [dataclasses.replace(CHALLENGER, code="X" * 80)])
    nongxin_enable("chal_test", "JNRCB")
    app_id = file_application(nongxin_app, id_number=PERSON, amount="30000")
    assert _decide(cm, app_id)["status"] == "approved"
    assert _decision(nongxin_uow, app_id).outcome == "approved"
    if nongxin_uow.session.bind.dialect.name == "postgresql":
        assert _shadow(nongxin_uow) == []

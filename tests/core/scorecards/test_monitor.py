"""The scorecard stability monitor (``scorecards.monitor``) end to end: figures against a test
card's development sample, model warnings raised once, refreshed, closed and audited, too few
decisions, cards without a sample, challengers, scoping, real decide output, the CLI and the scan."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.scorecards.models import ChallengerScore, ModelWarning, ScorecardStability
from nongxin.core.testing import file_application
from nongxin.sdk import PluginInfo, PluginKind, ScorecardBin, ScorecardDevelopment, ScorecardGrade, ScorecardSpec, hookimpl
from nongxin.sdk._codec import encode
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.scorecards import band_index, bin_index, score

EDGES = (530, 545, 555)
BINS = (ScorecardBin("age", Decimal(18), Decimal(35), 10), ScorecardBin("age", Decimal(35), Decimal(50), 20),
        ScorecardBin("age", Decimal(50), Decimal(66), 30),
        ScorecardBin("annual_income", Decimal(0), Decimal(50000), 10),
        ScorecardBin("annual_income", Decimal(50000), Decimal(100000), 20),
        ScorecardBin("annual_income", Decimal(100000), None, 30))
GRADES = (ScorecardGrade("A", 540, Decimal("1.2")), ScorecardGrade("B", 520, Decimal("1.0")),
          ScorecardGrade("C", 400, Decimal("0.8")))
BARE = ScorecardSpec(code="T-SC-SAL", segment="salaried", base_points=500, missing_points=-10, bins=BINS,
                     grades=GRADES, version=3, name="测试工薪卡")
#: The development sample: 100 applicants, ages 25/40/55 as 3:4:3, incomes 30k/80k/150k as 2:5:3.
DEV = [{"age": a, "annual_income": Decimal(i)} for a in (25,) * 3 + (40,) * 4 + (55,) * 3
       for i in (30000,) * 2 + (80000,) * 5 + (150000,) * 3]


def development(spec: ScorecardSpec, sample: list[dict[str, Any]]) -> ScorecardDevelopment:
    """The sample's counts, counted with the SDK's indexes as a fitted card's are."""
    bands = [0] * (len(EDGES) + 1)
    bins: dict[str, list[int]] = {"age": [0] * 4, "annual_income": [0] * 4}
    for facts in sample:
        bands[band_index(EDGES, score(spec, facts).total)] += 1
        for name in bins:
            bins[name][bin_index(spec, name, facts.get(name))] += 1
    return ScorecardDevelopment(rows=len(sample), bads=10, score_edges=EDGES, score_counts=tuple(bands),
                                bin_counts={k: tuple(v) for k, v in bins.items()}, fitted_on="2026-01-01")


CARD = replace(BARE, development=development(BARE, DEV))
CHALLENGER = replace(CARD, code="T-SC-SAL-CH", version=1, challenger=True)


@hookimpl
def nongxin_scorecards(ctx: Any) -> list[ScorecardSpec]:
    return [CHALLENGER, CARD]


PLUGIN = ModuleType("monitor_cards")
PLUGIN.PLUGIN = PluginInfo(name="monitor_cards", version="1.0.0", kind=PluginKind.SCORECARD,  # type: ignore[attr-defined]
                           description="a test card with a development sample")
PLUGIN.nongxin_scorecards = nongxin_scorecards  # type: ignore[attr-defined]


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [PLUGIN]


@pytest.fixture
def rt(nongxin_app: Any, nongxin_demo: Any, nongxin_enable: Any) -> Any:
    nongxin_enable("monitor_cards", "JNRCB")
    return nongxin_app.extensions["nongxin"]


def decisions(app: Any, sample: list[dict[str, Any]], *, place: str = "JNRCB-LX", spec: ScorecardSpec = CARD,
              day: date | None = None, challenger: ScorecardSpec | None = None) -> list[int]:
    """One application and decision per facts, each decision's record as decide writes it (the
    score part from ``sdk.scorecards.score``); with ``challenger``, its shadow score too."""
    rt = app.extensions["nongxin"]
    first = file_application(app, place=place, id_number=make_resident_id("370102", date(1980, 1, 1), 998))
    on = day or rt.clock.business_date()
    ids = []
    with UnitOfWork(rt.sessions) as unit:
        template = unit.session.get(Application, first)
        assert template is not None
        for n, facts in enumerate(sample):
            row = Application(**{c: getattr(template, c) for c in (
                "county_bank_id", "institution_id", "customer_id", "product_code", "amount", "term_months",
                "repayment_method", "purpose", "form", "guarantor_ids", "channel", "status", "filed_by_id")},
                number=f"MON-{first}-{n}")
            unit.session.add(row)
            unit.session.flush()
            scored = score(spec, facts)
            record = {"score": {"code": spec.code, "version": spec.version, "total": scored.total,
                                "grade": scored.grade.name if scored.grade else None,
                                "lines": [encode(line) for line in scored.lines], "missing": list(scored.missing)}}
            decision = Decision(application_id=row.id, outcome="approved", score=scored.total,
                                grade=scored.grade.name if scored.grade else None, scorecard_code=spec.code,
                                scorecard_version=spec.version, business_date=on, decided_by="test", record=record)
            unit.session.add(decision)
            unit.session.flush()
            if challenger is not None:
                shadow = score(challenger, facts)
                unit.session.add(ChallengerScore(
                    decision_id=decision.id, application_id=row.id, county_bank_id=row.county_bank_id,
                    institution_id=row.institution_id, business_date=on, segment=challenger.segment,
                    champion_code=spec.code, champion_version=spec.version, champion_total=scored.total,
                    challenger_code=challenger.code, challenger_version=challenger.version, challenger_plugin="monitor_cards",
                    total=shadow.total, grade=None, lines=[encode(line) for line in shadow.lines],
                    missing=list(shadow.missing)))
            ids.append(decision.id)
        unit.commit()
    return ids


def figures(rt: Any, **where: Any) -> dict[tuple[str, str], ScorecardStability]:
    with UnitOfWork(rt.sessions, write=False) as unit:
        rows = unit.session.execute(sa.select(ScorecardStability).filter_by(**where)).scalars().all()
        return {(r.scorecard_code, r.subject): r for r in rows}


def model_warnings(rt: Any) -> list[ModelWarning]:
    with UnitOfWork(rt.sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(ModelWarning).order_by(ModelWarning.id)).scalars())


def audits(rt: Any, action: str) -> list[AuditEntry]:
    with UnitOfWork(rt.sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == action)).scalars())


def run(client: Any, user: str = "province.params", **body: Any) -> Any:
    resp = client.as_user(user).post("/api/scorecards/stability/run", json=body)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


SHIFTED = [{"age": 40, "annual_income": f["annual_income"]} for f in DEV]  # every age in one bin


def test_matching_facts_are_stable_and_raise_no_warning(rt: Any, nongxin_app: Any, nongxin_client: Any) -> None:
    decisions(nongxin_app, DEV + DEV[::2])  # 150 decisions in the development sample's proportions (near enough)
    report = run(nongxin_client, institution="JNRCB")
    assert [(b["county_bank"], b["cards"], b["decisions"], b["raised"], b["failures"]) for b in report["banks"]] == [
        ("JNRCB", 1, 150, 0, [])]
    found = figures(rt, scorecard_code="T-SC-SAL")
    assert set(found) == {("T-SC-SAL", "score"), ("T-SC-SAL", "age"), ("T-SC-SAL", "annual_income")}
    assert all(f.population == 150 and f.psi is not None and f.psi < Decimal("0.1") for f in found.values())
    assert found[("T-SC-SAL", "age")].shares["expected"] == ["0.300000", "0.400000", "0.300000", "0.000000"]
    assert model_warnings(rt) == []
    shown = nongxin_client.get("/api/scorecards/stability?institution=JNRCB").get_json()
    assert {(i["subject"], i["status"]) for i in shown["items"]} == {
        ("score", "stable"), ("age", "stable"), ("annual_income", "stable")}


def test_a_shift_raises_one_warning_a_second_night_refreshes_it_and_closing_is_audited(
        rt: Any, nongxin_app: Any, nongxin_client: Any) -> None:
    today = rt.clock.business_date()
    decisions(nongxin_app, SHIFTED, day=today - timedelta(days=1))
    decisions(nongxin_app, DEV, place="LYRCB")  # another bank's decisions (its plugins lack the card)
    first = run(nongxin_client, as_of=(today - timedelta(days=1)).isoformat())
    assert {b["county_bank"]: b["raised"] for b in first["banks"]}["JNRCB"] == 2
    found = figures(rt, scorecard_code="T-SC-SAL", business_date=today - timedelta(days=1))
    assert found[("T-SC-SAL", "age")].psi > Decimal("0.25") and found[("T-SC-SAL", "score")].psi > Decimal("0.25")
    assert found[("T-SC-SAL", "annual_income")].psi == 0
    assert sorted(w.subject for w in model_warnings(rt)) == ["age", "score"]
    again = run(nongxin_client, as_of=(today - timedelta(days=1)).isoformat())  # the same date again
    assert {b["county_bank"]: (b["raised"], b["refreshed"]) for b in again["banks"]}["JNRCB"] == (0, 2)
    assert len(figures(rt, scorecard_code="T-SC-SAL", business_date=today - timedelta(days=1))) == 3
    run(nongxin_client)  # the next night: still one warning per subject, refreshed
    warned = model_warnings(rt)
    assert len(warned) == 2 and {w.last_seen_on for w in warned} == {today}
    assert {w.raised_on for w in warned} == {today - timedelta(days=1)}
    assert len(audits(rt, "model_warning.raise")) == 2

    listed = nongxin_client.get("/api/model-warnings?status=open").get_json()["items"]
    assert {(w["subject"], w["county_bank"], w["status"]) for w in listed} == {
        ("age", "JNRCB", "open"), ("score", "JNRCB", "open")}
    assert all(Decimal(w["psi"]) > Decimal("0.25") for w in listed)
    linyi = nongxin_client.as_user("linyi.admin")
    assert linyi.get("/api/model-warnings").get_json()["items"] == []
    assert linyi.get("/api/model-warnings?institution=JNRCB").status_code == 404
    assert not [i for i in linyi.get("/api/scorecards/stability").get_json()["items"] if i["county_bank"] == "JNRCB"]
    age = next(w for w in listed if w["subject"] == "age")
    assert linyi.post(f"/api/model-warnings/{age['id']}/close", json={"note": "不是我们的"}).status_code == 404
    assert nongxin_client.as_user("jinan.pm").post(f"/api/model-warnings/{age['id']}/close",
                                                   json={"note": "x"}).status_code == 403
    closer = nongxin_client.as_user("jinan.params")
    closed = closer.post(f"/api/model-warnings/{age['id']}/close", json={"note": "客群变化已知，重新拟合中"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed", closed.get_json()
    assert closer.post(f"/api/model-warnings/{age['id']}/close", json={"note": "again"}).status_code == 409
    assert closer.post("/api/model-warnings/999999/close", json={"note": "x"}).status_code == 404
    assert [a.actor for a in audits(rt, "model_warning.close")] == ["jinan.params"]
    assert [w["subject"] for w in nongxin_client.get("/api/model-warnings?status=open").get_json()["items"]] == ["score"]


def test_too_few_decisions_have_no_psi_and_no_warning(rt: Any, nongxin_app: Any, nongxin_client: Any) -> None:
    decisions(nongxin_app, SHIFTED[:20])
    run(nongxin_client, institution="JNRCB")
    found = figures(rt, scorecard_code="T-SC-SAL")
    assert {k[1]: (f.population, f.psi) for k, f in found.items()} == {
        "score": (20, None), "age": (20, None), "annual_income": (20, None)}
    assert "fewer than 100" in found[("T-SC-SAL", "score")].shares["reason"]
    assert model_warnings(rt) == []
    item = nongxin_client.get("/api/scorecards/stability").get_json()["items"][0]
    assert item["psi"] is None and item["status"] == "too_few"


def test_cards_without_a_sample_or_gone_are_listed_without_psi_and_challengers_are_watched(
        rt: Any, nongxin_app: Any, nongxin_client: Any) -> None:
    from nongxin.plugins.province_scorecards import SALARIED

    decisions(nongxin_app, DEV, spec=SALARIED)
    gone = replace(CARD, code="T-SC-GONE")
    decisions(nongxin_app, DEV, spec=gone)
    decisions(nongxin_app, DEV, challenger=CHALLENGER)
    with UnitOfWork(rt.sessions) as unit:  # the challenger's shadow scores all in the top age bin
        for row in unit.session.execute(sa.select(ChallengerScore)).scalars():
            row.lines = [{**line, "bin": "[50, 66)"} if line["field"] == "age" else line for line in row.lines]
        unit.commit()
    run(nongxin_client, institution="JNRCB")
    found = figures(rt)
    assert found[("PROV-SC-SALARIED", "score")].psi is None
    assert found[("PROV-SC-SALARIED", "score")].shares["reason"] == "the card has no development sample"
    assert found[("T-SC-GONE", "score")].shares["reason"] == "the card is no longer contributed at the bank"
    assert found[("T-SC-SAL", "age")].psi == 0
    assert found[("T-SC-SAL-CH", "age")].psi > Decimal("0.25") and found[("T-SC-SAL-CH", "annual_income")].psi == 0
    assert [(w.scorecard_code, w.subject) for w in model_warnings(rt)] == [("T-SC-SAL-CH", "age")]


def test_the_scorecards_in_use(rt: Any, nongxin_client: Any) -> None:
    body = nongxin_client.get("/api/scorecards?institution=JNRCB-LX").get_json()
    cards = {c["code"]: c for c in body["items"]}
    assert (cards["T-SC-SAL"]["role"], cards["T-SC-SAL"]["has_development"], cards["T-SC-SAL"]["variables"]) == (
        "champion", True, ["age", "annual_income"])
    assert cards["T-SC-SAL-CH"]["role"] == "challenger" and cards["T-SC-SAL-CH"]["plugin"] == "monitor_cards"
    assert cards["PROV-SC-SALARIED"]["role"] == "unused" and cards["PROV-SC-FARMER"]["role"] == "champion"
    assert not cards["PROV-SC-FARMER"]["has_development"]
    linyi = {c["code"] for c in nongxin_client.as_user("linyi.admin").get("/api/scorecards").get_json()["items"]}
    assert "T-SC-SAL" not in linyi and "PROV-SC-SALARIED" in linyi
    assert nongxin_client.get("/api/scorecards?institution=LYRCB").status_code == 404
    assert nongxin_client.as_user("jinan.cm").get("/api/scorecards").status_code == 403


def test_real_decisions_are_counted_from_their_stored_record(rt: Any, nongxin_app: Any, nongxin_client: Any) -> None:
    """The monitor reads what decide writes: six applications decided through the API."""
    admin = nongxin_client.as_user("province.admin")
    resp = admin.post("/api/parameters", json={"name": "scorecard.min_population", "institution": "JNRCB", "value": "5"})
    assert resp.status_code in (200, 201), resp.get_json()
    births = [date(1996, 1, 1), date(1995, 1, 1), date(1985, 1, 1), date(1984, 1, 1), date(1970, 1, 1),
              date(1971, 1, 1)]
    cm = nongxin_client.as_user("jinan.cm")
    for n, born in enumerate(births):
        app_id = file_application(nongxin_app, id_number=make_resident_id("370102", born, 900 + n),
                                  annual_income="80000")
        decided = cm.post(f"/api/applications/{app_id}/decide")
        assert decided.status_code == 200, decided.get_json()
    with UnitOfWork(rt.sessions, write=False) as unit:
        made = unit.session.execute(sa.select(Decision.scorecard_code, Decision.scorecard_version)).all()
    assert set(made) == {("T-SC-SAL", 3)} and len(made) == 6
    run(nongxin_client, institution="JNRCB")
    found = figures(rt, scorecard_code="T-SC-SAL")
    assert found[("T-SC-SAL", "age")].shares["actual"] == ["0.333333", "0.333333", "0.333333", "0.000000"]
    assert found[("T-SC-SAL", "annual_income")].shares["actual"] == ["0.000000", "1.000000", "0.000000", "0.000000"]
    assert found[("T-SC-SAL", "score")].population == 6 and found[("T-SC-SAL", "score")].psi is not None


def _cli(rt: Any, settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings, runtime=rt))


def test_the_cli_table_warnings_close_and_the_nightly_scan(rt: Any, nongxin_app: Any, nongxin_settings: Any) -> None:
    decisions(nongxin_app, SHIFTED)
    skipped = _cli(rt, nongxin_settings, "scan", "--institution", "JNRCB", "--json", "--no-models")
    assert skipped.exit_code == 0, skipped.output + skipped.stderr
    assert "scorecard_monitor" not in json.loads(skipped.output) and model_warnings(rt) == []
    scanned = _cli(rt, nongxin_settings, "scan", "--institution", "JNRCB", "--json")
    assert scanned.exit_code == 0, scanned.output + scanned.stderr
    assert [(b["county_bank"], b["raised"]) for b in json.loads(scanned.output)["scorecard_monitor"]["banks"]] == [
        ("JNRCB", 2)]
    table = _cli(rt, nongxin_settings, "scorecard", "monitor", "--user", "jinan.admin")
    assert table.exit_code == 0, table.output + table.stderr
    assert "T-SC-SAL" in table.output and "偏移 shift" in table.output and "稳定 stable" in table.output
    as_json = json.loads(_cli(rt, nongxin_settings, "scorecard", "monitor", "--json", "--user", "jinan.admin").output)
    assert {(f["subject"], f["status"]) for f in as_json["figures"]} == {
        ("score", "shift"), ("age", "shift"), ("annual_income", "stable")}
    refused = _cli(rt, nongxin_settings, "scorecard", "monitor", "--user", "jinan.pm")
    assert refused.exit_code != 0 and "scorecard.monitor" in refused.stderr
    listed = _cli(rt, nongxin_settings, "scorecard", "warnings", "--status", "open", "--user", "province.params")
    assert listed.exit_code == 0 and "age" in listed.output and "score" in listed.output
    warning = model_warnings(rt)[0]
    closed = _cli(rt, nongxin_settings, "scorecard", "close-warning", str(warning.id), "--note", "已复核",
                  "--user", "province.params")
    assert closed.exit_code == 0, closed.output + closed.stderr
    assert model_warnings(rt)[0].status.value == "closed"
    again = _cli(rt, nongxin_settings, "scorecard", "close-warning", str(warning.id), "--note", "x",
                 "--user", "province.params")
    assert again.exit_code != 0 and "closed already" in again.stderr

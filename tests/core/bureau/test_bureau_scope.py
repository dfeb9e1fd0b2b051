"""Checks of the bureau service that no status walk sees: a cached report stays with its county
bank and its stale period, and an authorization is live only from the moment it was granted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from nongxin.core.bureau.models import BureauAuthorization, BureauReportCache
from nongxin.core.db import UnitOfWork, utcnow

PERSON = {"kind": "resident_id", "id_number": "11010519491231002X", "name": "张三"}
EVIDENCE = {"ref": "archive://2026/auth-0001.pdf", "sha256": "ab" * 32}


def authorize(client: Any) -> None:
    resp = client.post("/api/bureau/authorizations",
                       json={"subject": PERSON, "purposes": ["02"], "channel": "paper", "evidence": EVIDENCE})
    assert resp.status_code == 201, resp.get_json()


def ask(client: Any, ref: str = "APP-1") -> dict[str, Any]:
    resp = client.post("/api/bureau/queries", json={"subject": PERSON, "purpose": "02",
                                                    "for": {"kind": "application", "ref": ref}})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_report_cached_by_one_county_bank_is_not_reused_by_another(nongxin_client: Any) -> None:
    jinan, linyi = nongxin_client.as_user("jinan.cm"), nongxin_client.as_user("linyi.cm")
    authorize(jinan)
    authorize(linyi)
    assert ask(jinan)["query"]["outcome"] == "fetched"
    assert ask(linyi)["query"]["outcome"] == "fetched"
    assert ask(linyi, "APP-2")["query"]["outcome"] == "reused"


def test_a_report_older_than_the_stale_period_is_fetched_again(nongxin_client: Any, nongxin_app: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    authorize(cm)
    assert ask(cm)["query"]["outcome"] == "fetched"
    stale = nongxin_app.extensions["nongxin"].settings.bureau_stale_days
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        unit.session.execute(sa.update(BureauReportCache).values(
            fetched_at=utcnow() - timedelta(days=stale, minutes=1)))
        unit.commit()
    assert ask(cm, "APP-2")["query"]["outcome"] == "fetched"


def test_an_authorization_granted_later_than_now_does_not_cover_a_query(
        nongxin_client: Any, nongxin_app: Any) -> None:
    """The API never records one (a future grant is invalid input), but a row written otherwise
    (a migration, a clock set back) must not let a query through early."""
    cm = nongxin_client.as_user("jinan.cm")
    authorize(cm)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        unit.session.execute(sa.update(BureauAuthorization).values(granted_at=utcnow() + timedelta(hours=1)))
        unit.commit()
    resp = cm.post("/api/bureau/queries", json={"subject": PERSON, "purpose": "02",
                                               "for": {"kind": "application", "ref": "APP-1"}})
    assert resp.status_code == 403 and resp.get_json()["error"] == "authorization_not_yet_valid"

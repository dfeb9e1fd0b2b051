"""Token issuing: JSON bodies only, whole days only, a configured cap, and rotation of one's own token."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nongxin.core.db import as_utc, utcnow
from nongxin.core.institutions.models import ApiToken


def live_tokens(uow):
    uow.rollback()
    return uow.session.execute(sa.select(ApiToken).where(ApiToken.revoked_at.is_(None))).scalars().all()


@pytest.mark.parametrize("kwargs", [
    {"data": '{"days": 3}', "content_type": "text/plain"},
    {"data": ""},
    {},
])
def test_a_non_json_body_is_415_and_issues_nothing(nongxin_client, nongxin_uow, kwargs):
    before = len(live_tokens(nongxin_uow))
    resp = nongxin_client.as_user("jinan.admin").post("/api/users/jinan.cm/tokens", **kwargs)
    assert resp.status_code == 415, resp.get_json()
    assert resp.get_json()["error"] == "unsupported_media_type"
    assert len(live_tokens(nongxin_uow)) == before


@pytest.mark.parametrize("days", [1.5, "10", True, 0, -3])
def test_days_must_be_a_positive_whole_number(nongxin_client, days):
    resp = nongxin_client.as_user("jinan.admin").post("/api/users/jinan.cm/tokens", json={"days": days})
    assert resp.status_code == 422, resp.get_json()
    assert "days" in resp.get_json()["fields"]


def test_no_token_outlives_the_configured_cap(nongxin_client):
    admin = nongxin_client.as_user("jinan.admin")
    refused = admin.post("/api/users/jinan.cm/tokens", json={"days": 3650})
    assert refused.status_code == 422 and "90" in refused.get_json()["fields"]["days"][0]
    ok = admin.post("/api/users/jinan.cm/tokens", json={"days": 90})
    assert ok.status_code == 201


def test_the_cap_is_a_setting(nongxin_settings, nongxin_plugins):
    from dataclasses import replace

    from nongxin.core import demo
    from nongxin.core.app import create_app
    from nongxin.core.db import UnitOfWork

    app = create_app(replace(nongxin_settings, token_max_days=7, token_days=7), plugins=nongxin_plugins)
    try:
        with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
            tokens = {u.username: u.token for u in demo.seed(unit, token_days=7)}
        client = app.test_client()
        headers = {"Authorization": f"Bearer {tokens['jinan.admin']}"}
        assert client.post("/api/users/jinan.cm/tokens", json={"days": 8}, headers=headers).status_code == 422
        default = client.post("/api/users/jinan.cm/tokens", json={}, headers=headers)
        assert default.status_code == 201
        from datetime import datetime

        expires = datetime.fromisoformat(default.get_json()["expires_at"])
        assert as_utc(expires) < utcnow() + timedelta(days=7, minutes=1)
    finally:
        app.extensions["nongxin"].engine.dispose()


def test_only_admins_issue_tokens_for_others(nongxin_client):
    resp = nongxin_client.as_user("jinan.reviewer").post("/api/users/jinan.pm/tokens", json={})
    assert resp.status_code == 403
    assert "token.issue_others" in resp.get_json()["message"]
    # a user outside the caller's subtree is not found, whatever the caller's role
    resp = nongxin_client.as_user("jinan.cm").post("/api/users/jinan.pm/tokens", json={})
    assert resp.status_code == 404


def test_a_user_rotates_their_own_token_and_the_old_one_stops_working(nongxin_app, nongxin_demo, nongxin_uow):
    client = nongxin_app.test_client()
    old = nongxin_demo.tokens["jinan.cm"]
    resp = client.post("/api/users/jinan.cm/tokens", json={"days": 30},
                       headers={"Authorization": f"Bearer {old}"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["revoked"] == old[:10]
    refused = client.get("/api/institutions", headers={"Authorization": f"Bearer {old}"})
    assert refused.status_code == 401 and refused.get_json()["error"] == "token_revoked"
    works = client.get("/api/institutions", headers={"Authorization": f"Bearer {body['token']}"})
    assert works.status_code == 200
    # the new token cannot be used to mint a 10-year one either
    long = client.post("/api/users/jinan.cm/tokens", json={"days": 3650},
                       headers={"Authorization": f"Bearer {body['token']}"})
    assert long.status_code == 422
    assert client.get("/api/institutions", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 200


def test_cli_issue_respects_the_cap(nongxin_settings, nongxin_demo):
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    result = CliRunner().invoke(main, ["tokens", "issue", "jinan.cm", "--days", "400"],
                                obj=Console(nongxin_settings))
    assert result.exit_code == 2 and "days" in result.output

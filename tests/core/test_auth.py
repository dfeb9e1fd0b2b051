from datetime import timedelta

import sqlalchemy as sa

from nongxin.core.db import utcnow
from nongxin.core.institutions.models import ApiToken
from nongxin.core.institutions.users import revoke_token


def test_api_needs_a_token(nongxin_app):
    resp = nongxin_app.test_client().get("/api/institutions")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "missing_token"


def test_wrong_token_is_401(nongxin_app):
    resp = nongxin_app.test_client().get("/api/institutions", headers={"Authorization": "Bearer nx_nope"})
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "invalid_token"


def test_revoked_token_is_401(nongxin_client, nongxin_demo, nongxin_uow):
    revoke_token(nongxin_uow, nongxin_demo.tokens["jinan.pm"])
    nongxin_uow.commit()
    resp = nongxin_client.get("/api/institutions")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "token_revoked"


def test_expired_token_is_401(nongxin_client, nongxin_uow):
    for token in nongxin_uow.session.execute(sa.select(ApiToken)).scalars():
        token.expires_at = utcnow() - timedelta(seconds=1)
    nongxin_uow.commit()
    resp = nongxin_client.get("/api/institutions")
    assert resp.status_code == 401
    assert resp.get_json()["error"] == "token_expired"


def test_tokens_are_stored_hashed(nongxin_demo, nongxin_uow):
    stored = {t.token_hash for t in nongxin_uow.session.execute(sa.select(ApiToken)).scalars()}
    assert not set(nongxin_demo.tokens.values()) & stored


def test_admin_issues_token_shown_once_and_it_works(nongxin_client, nongxin_app):
    resp = nongxin_client.as_user("jinan.admin").post("/api/users/jinan.cm/tokens", json={"days": 3})
    assert resp.status_code == 201
    token = resp.get_json()["token"]
    me = nongxin_app.test_client().get("/api/institutions", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


def test_admin_cannot_issue_token_for_other_county_user(nongxin_client):
    resp = nongxin_client.as_user("jinan.admin").post("/api/users/linyi.cm/tokens", json={})
    assert resp.status_code == 404


def test_county_admin_creates_user_in_own_subtree_only(nongxin_client):
    admin = nongxin_client.as_user("jinan.admin")
    ok = admin.post("/api/users", json={"username": "jinan.cm2", "role": "customer_manager", "institution": "JNRCB-ZQ"})
    assert ok.status_code == 201, ok.get_json()
    other = admin.post("/api/users", json={"username": "x.cm", "role": "customer_manager", "institution": "LYRCB"})
    assert other.status_code == 404
    bad_role = admin.post("/api/users", json={"username": "x.cm", "role": "boss", "institution": "JNRCB"})
    assert bad_role.status_code == 422 and "role" in bad_role.get_json()["fields"]
    listed = {u["username"] for u in admin.get("/api/users").get_json()}
    assert "jinan.cm2" in listed and "linyi.cm" not in listed


def test_deactivated_user_is_refused_and_it_is_audited(nongxin_client):
    admin = nongxin_client.as_user("jinan.admin")
    assert nongxin_client.as_user("jinan.cm").get("/api/institutions").status_code == 200
    resp = admin.patch("/api/users/jinan.cm", json={"active": False})
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    refused = nongxin_client.as_user("jinan.cm").get("/api/institutions")
    assert refused.status_code == 401 and refused.get_json()["error"] == "user_inactive"
    assert admin.patch("/api/users/linyi.cm", json={"active": False}).status_code == 404
    assert admin.patch("/api/users/jinan.admin", json={"active": False}).status_code == 422
    assert nongxin_client.as_user("jinan.pm").patch("/api/users/jinan.cm", json={"active": True}).status_code == 403
    actions = [e["action"] for e in admin.get("/api/audit?action=user.deactivate").get_json()]
    assert actions == ["user.deactivate"]

"""The admins' pages: institution tree, users, tokens and audit trail, on the services the API uses.

A county admin never sees another bank's institutions, users, tokens or audit entries (the 404
page, or simply not listed); forms do what the API does, audited; a plain token is shown once
and never stored."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit import trail
from nongxin.core.audit.models import AuditEntry
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions import listings, users
from nongxin.core.institutions.models import ApiToken, Institution, User


def _text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def _rows(app: Any, model: Any, *where: Any) -> list[Any]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        found = list(unit.session.execute(sa.select(model).where(*where)).scalars())
        for row in found:
            unit.session.expunge(row)
        return found


def _audit(app: Any, action: str, target: str) -> list[AuditEntry]:
    return _rows(app, AuditEntry, AuditEntry.action == action, AuditEntry.target == target)


# -- institutions ----------------------------------------------------------------------------

def test_a_county_admin_sees_their_bank_as_a_tree_with_user_counts_and_nothing_of_another_bank(
        nongxin_console):
    page = _text(nongxin_console("jinan.admin").get("/console/institutions"))
    assert "济南农商银行" in page and "历下支行" in page and "泉城路网格" in page and "县农商行" in page
    assert "临沂" not in page and "LYRCB" not in page and "SD-LZ" not in page
    counts = dict(re.findall(r'data-code="([^"]+)">.*?<td class="num">(\d+)</td>', page, re.S))
    assert counts["JNRCB"] == "7" and counts["JNRCB-LX"] == "1" and counts["JNRCB-ZQ"] == "0"


def test_another_banks_institution_is_the_404_page(nongxin_console):
    client = nongxin_console("jinan.admin")
    for path in ("/console/institutions/LYRCB", "/console/institutions/NOPE"):
        resp = client.get(path)
        assert resp.status_code == 404 and "未找到" in _text(resp)
    resp = client.post("/console/institutions/LYRCB/rename", data={"name": "被改名"})
    assert resp.status_code == 404
    assert _rows(client.app, Institution, Institution.code == "LYRCB")[0].name == "临沂农商银行"


def test_a_customer_manager_reads_the_tree_without_counts_or_forms_and_may_not_create(nongxin_console):
    client = nongxin_console("jinan.cm")
    page = _text(client.get("/console/institutions"))
    assert "历下支行" in page and "济南农商银行" not in page  # their subtree is their branch
    assert "用户数" not in page and "新建机构" not in page
    resp = client.post("/console/institutions", data={"code": "X1", "name": "x", "level": "grid",
                                                      "parent": "JNRCB-LX"})
    assert resp.status_code == 403 and "institution.create" in _text(resp)
    assert not _rows(client.app, Institution, Institution.code == "X1")


def test_creating_an_institution_is_audited_and_a_bad_one_shows_the_error_beside_the_field(nongxin_console):
    client = nongxin_console("jinan.admin")
    resp = client.post("/console/institutions", data={"code": "JNRCB-HY", "name": "槐荫支行",
                                                      "level": "branch", "parent": "JNRCB"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/console/institutions/JNRCB-HY?done=created")
    assert "已新建机构" in _text(client.get(resp.headers["Location"]))
    assert _audit(client.app, "institution.create", "institution:JNRCB-HY")[0].actor == "jinan.admin"
    bad = client.post("/console/institutions", data={"code": "JNRCB-G9", "name": "网格",
                                                     "level": "grid", "parent": "JNRCB-LX-G01"})
    assert bad.status_code == 422
    assert re.search(r'id="e-parent" role="alert">[^<]*cannot sit under a grid', _text(bad))
    assert 'value="JNRCB-G9"' in _text(bad)  # what was typed stays
    dup = client.post("/console/institutions", data={"code": "JNRCB-HY", "name": "又一个", "level": "branch",
                                                     "parent": "JNRCB"})
    assert dup.status_code == 409 and 'id="e-code"' in _text(dup)
    assert not _rows(client.app, Institution, Institution.code == "JNRCB-G9")
    assert len(_rows(client.app, Institution, Institution.code == "JNRCB-HY")) == 1


def test_a_county_admin_cannot_create_under_another_bank(nongxin_console):
    client = nongxin_console("jinan.admin")
    resp = client.post("/console/institutions", data={"code": "LY-X", "name": "x", "level": "branch",
                                                      "parent": "LYRCB"})
    assert resp.status_code == 404
    assert not _rows(client.app, Institution, Institution.code == "LY-X")


def test_renaming_is_audited_and_an_empty_name_is_refused_beside_the_field(nongxin_console):
    client = nongxin_console("jinan.admin")
    resp = client.post("/console/institutions/JNRCB-ZQ/rename", data={"name": "章丘中心支行"})
    assert resp.status_code == 303
    entry = _audit(client.app, "institution.rename", "institution:JNRCB-ZQ")[0]
    assert entry.before["name"] == "章丘支行" and entry.after["name"] == "章丘中心支行"
    for name in ("  ", "长" * 101, "章丘\x1b[31m支行"):  # as the API: the column's length, no control characters
        bad = client.post("/console/institutions/JNRCB-ZQ/rename", data={"name": name})
        assert bad.status_code == 422 and 'id="e-name"' in _text(bad), name
    page = _text(client.get("/console/institutions/JNRCB-ZQ"))
    assert "章丘中心支行" in page and "相公庄网格" in page and "济南农商银行" in page  # tree above and below


# -- users -----------------------------------------------------------------------------------

def _lock(app: Any, username: str, minutes: int = 10) -> None:
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
        user.locked_until = runtime.clock.now() + timedelta(minutes=minutes)
        unit.commit()


def test_users_page_lists_the_subtree_with_role_password_and_lock(nongxin_console, nongxin_app):
    from nongxin.core.console.signin import set_password
    from nongxin.sdk.bureau import CHINA

    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        set_password(unit, "jinan.pm", "a good long pass 1", now=runtime.clock.now())
        unit.commit()
    _lock(nongxin_app, "jinan.cm")
    page = _text(nongxin_console("jinan.admin").get("/console/users"))
    assert "jinan.cm" in page and "linyi" not in page and "province.admin" not in page
    rows = dict(re.findall(r'<tr data-user="([^"]+)">(.*?)</tr>', page, re.S))
    assert "客户经理" in rows["jinan.cm"] and "历下支行" in rows["jinan.cm"]
    assert "已设置" in rows["jinan.pm"] and "未设置" in rows["jinan.cm"]
    until = _rows(nongxin_app, User, User.username == "jinan.cm")[0].locked_until
    from nongxin.core.db import as_utc
    assert f"已锁定至 {as_utc(until).astimezone(CHINA):%H:%M}" in rows["jinan.cm"]
    assert "已锁定" not in rows["jinan.pm"]
    assert "nongxin users password" in page


def test_users_of_one_institution_and_below_and_never_another_banks(nongxin_console):
    client = nongxin_console("province.admin")
    page = _text(client.get("/console/users?institution=JNRCB-LX"))
    assert re.findall(r'<tr data-user="([^"]+)">', page) == ["jinan.cm"]
    assert len(re.findall(r'<tr data-user=', _text(client.get("/console/users?institution=JNRCB")))) == 8
    county = nongxin_console("jinan.admin")
    assert county.get("/console/users?institution=LYRCB").status_code == 404
    assert county.get("/console/users?institution=no%20such").status_code == 404


def test_a_lock_that_has_passed_is_not_shown(nongxin_console, nongxin_app):
    _lock(nongxin_app, "jinan.cm", minutes=-1)
    assert "已锁定至" not in _text(nongxin_console("jinan.admin").get("/console/users"))


def test_staff_who_are_not_admins_get_the_403_page(nongxin_console):
    client = nongxin_console("jinan.pm")
    for path, action in (("/console/users", "user.read"), ("/console/tokens", "user.read"),
                         ("/console/audit", "audit.read")):
        resp = client.get(path)
        assert resp.status_code == 403 and action in _text(resp)
    assert "/console/users" not in _text(client.get("/console/"))  # nor in the menu


def test_creating_a_user_is_audited_and_a_county_admin_may_not_make_a_province_admin(nongxin_console):
    client = nongxin_console("jinan.admin")
    page = _text(client.get("/console/users"))
    assert 'value="county_admin"' in page and 'value="province_admin"' not in page
    resp = client.post("/console/users", data={"username": "jinan.cm2", "display_name": "新客户经理",
                                               "role": "customer_manager", "institution": "JNRCB-ZQ"})
    assert resp.status_code == 303
    assert "nongxin users password jinan.cm2" in _text(client.get(resp.headers["Location"]))
    made = _rows(client.app, User, User.username == "jinan.cm2")[0]
    assert made.password_hash is None and made.role.value == "customer_manager"
    assert _audit(client.app, "user.create", "user:jinan.cm2")[0].actor == "jinan.admin"
    refused = client.post("/console/users", data={"username": "jinan.boss", "display_name": "x",
                                                  "role": "province_admin", "institution": "JNRCB"})
    assert refused.status_code == 422 and re.search(r'id="e-role" role="alert">only a province admin', _text(refused))
    other = client.post("/console/users", data={"username": "ly.x", "display_name": "x",
                                                "role": "reviewer", "institution": "LYRCB"})
    assert other.status_code == 404
    bad = client.post("/console/users", data={"username": "No Spaces", "display_name": "x",
                                              "role": "reviewer", "institution": "JNRCB"})
    assert bad.status_code == 422 and 'id="e-username"' in _text(bad)
    long = client.post("/console/users", data={"username": "jinan.long", "display_name": "名" * 101,
                                               "role": "chief", "institution": "JNRCB"})
    assert long.status_code == 422 and 'id="e-display_name"' in _text(long) and 'id="e-role"' in _text(long)
    assert not _rows(client.app, User, User.username.in_(["jinan.boss", "ly.x", "no spaces", "jinan.long"]))
    assert 'value="province_admin"' in _text(nongxin_console("province.admin").get("/console/users"))


def test_deactivating_a_user_is_audited_and_another_banks_user_is_the_404_page(nongxin_console):
    client = nongxin_console("jinan.admin")
    resp = client.post("/console/users/jinan.cm/active", data={"active": "0"})
    assert resp.status_code == 303
    assert _rows(client.app, User, User.username == "jinan.cm")[0].active is False
    assert _audit(client.app, "user.deactivate", "user:jinan.cm")
    assert "已停用" in _text(client.get(resp.headers["Location"]))
    assert client.post("/console/users/jinan.cm/active", data={"active": "1"}).status_code == 303
    assert _rows(client.app, User, User.username == "jinan.cm")[0].active is True
    assert client.post("/console/users/linyi.cm/active", data={"active": "0"}).status_code == 404
    assert _rows(client.app, User, User.username == "linyi.cm")[0].active is True
    bad = client.post("/console/users/jinan.cm/active", data={"active": "maybe"})
    assert bad.status_code == 422 and "active" in _text(bad)
    myself = client.post("/console/users/jinan.admin/active", data={"active": "0"})
    assert myself.status_code == 422 and _rows(client.app, User, User.username == "jinan.admin")[0].active


# -- tokens ----------------------------------------------------------------------------------

def test_tokens_of_the_subtree_are_listed_by_prefix_never_another_banks(nongxin_console, nongxin_demo):
    page = _text(nongxin_console("jinan.admin").get("/console/tokens"))
    assert nongxin_demo.tokens["jinan.cm"][:10] in page
    assert nongxin_demo.tokens["linyi.cm"][:10] not in page
    assert nongxin_demo.tokens["province.admin"][:10] not in page
    assert nongxin_demo.tokens["jinan.cm"] not in page  # the prefix, never the token
    assert "吊销" not in re.sub(r"<p class=\"hint\">.*?</p>", "", page, flags=re.S)  # province admins revoke
    everyone = _text(nongxin_console("province.admin").get("/console/tokens"))
    assert nongxin_demo.tokens["linyi.cm"][:10] in everyone and "吊销" in everyone


def test_a_token_is_shown_once_stored_only_as_a_digest_and_audited(nongxin_console, nongxin_app):
    client = nongxin_console("jinan.admin")
    resp = client.post("/console/tokens", data={"user": "jinan.cm", "days": "7"})
    assert resp.status_code == 200 and "只显示这一次" in _text(resp)
    assert resp.headers["Cache-Control"] == "no-store"
    plain = re.search(r'id="plain-token"[^>]*value="(nx_[^"]+)"', _text(resp)).group(1)
    stored = _rows(nongxin_app, ApiToken, ApiToken.prefix == plain[:10])
    assert len(stored) == 1 and stored[0].token_hash == hashlib.sha256(plain.encode()).hexdigest()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert users.authenticate(unit.session, plain).username == "jinan.cm"  # it works
    assert _audit(nongxin_app, "token.issue", f"token:{plain[:10]}")[0].actor == "jinan.admin"
    listed = _text(client.get("/console/tokens"))
    assert plain[:10] in listed and plain not in listed
    dumped = " ".join(str(e.after) for e in _rows(nongxin_app, AuditEntry))
    assert plain not in dumped


def test_issuing_refuses_bad_days_beside_the_field_and_another_banks_user(nongxin_console):
    client = nongxin_console("jinan.admin")
    for days in ("0", "abc", "9999"):
        resp = client.post("/console/tokens", data={"user": "jinan.cm", "days": days})
        assert resp.status_code == 422 and 'id="e-days"' in _text(resp), days
    assert client.post("/console/tokens", data={"user": "linyi.cm", "days": "1"}).status_code == 404
    before = len(_rows(client.app, ApiToken))
    assert nongxin_console("jinan.pm").post("/console/tokens", data={"user": "jinan.cm", "days": "1"}).status_code == 403
    assert len(_rows(client.app, ApiToken)) == before


def test_a_province_admin_revokes_a_token_and_a_county_admin_may_not(nongxin_console, nongxin_demo, nongxin_app):
    prefix = nongxin_demo.tokens["jinan.cm"][:10]
    refused = nongxin_console("jinan.admin").post(f"/console/tokens/{prefix}/revoke", data={})
    assert refused.status_code == 403 and "token.revoke" in _text(refused)
    assert _rows(nongxin_app, ApiToken, ApiToken.prefix == prefix)[0].revoked_at is None
    client = nongxin_console("province.admin")
    resp = client.post(f"/console/tokens/{prefix}/revoke", data={})
    assert resp.status_code == 303
    assert _rows(nongxin_app, ApiToken, ApiToken.prefix == prefix)[0].revoked_at is not None
    assert _audit(nongxin_app, "token.revoke", f"token:{prefix}")[0].actor == "province.admin"
    assert "已吊销" in _text(client.get("/console/tokens"))
    assert client.post(f"/console/tokens/{prefix}/revoke", data={}).status_code == 404  # revoked already


# -- the audit trail -------------------------------------------------------------------------

def _actions(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', page)


def test_the_trail_shows_the_subtree_only_and_filters(nongxin_console):
    linyi = nongxin_console("linyi.admin")
    assert linyi.post("/console/users/linyi.cm/active", data={"active": "0"}).status_code == 303
    jinan = nongxin_console("jinan.admin")
    assert jinan.post("/console/users/jinan.cm/active", data={"active": "0"}).status_code == 303
    page = _text(jinan.get("/console/audit"))
    assert "user:jinan.cm" in page and "user:linyi.cm" not in page and "LYRCB" not in page
    only = _text(jinan.get("/console/audit?action=user.deactivate&actor=jinan.admin"))
    assert _actions(only) == ["user.deactivate"]
    family = _actions(_text(jinan.get("/console/audit?action=user.")))
    assert family and all(a.startswith("user.") for a in family) and "user.create" in family
    assert _actions(_text(jinan.get("/console/audit?target=user:jinan.c"))) == ["user.deactivate", "user.create"]
    at_branch = _text(jinan.get("/console/audit?institution=JNRCB-LX&target=user:"))
    assert "user:jinan.cm" in at_branch and "user:jinan.pm" not in at_branch
    assert jinan.get("/console/audit?institution=LYRCB").status_code == 404
    empty = _text(jinan.get("/console/audit?actor=nobody.at.all"))
    assert "没有符合条件的审计记录" in empty


def test_the_trail_filters_by_china_days(nongxin_console, nongxin_app):
    from nongxin.sdk.bureau import CHINA

    today = nongxin_app.extensions["nongxin"].clock.now().astimezone(CHINA).date()
    client = nongxin_console("jinan.admin")
    assert _actions(_text(client.get(f"/console/audit?since={today}&until={today}&target=user:jinan.cm")))
    tomorrow = today + timedelta(days=1)
    assert not _actions(_text(client.get(f"/console/audit?since={tomorrow}")))
    yesterday = today - timedelta(days=1)
    assert not _actions(_text(client.get(f"/console/audit?until={yesterday}")))


@pytest.mark.parametrize("query, name", [("since=2026-13-01", "since"), ("until=yesterday", "until"),
                                         ("since=2026-05-02&until=2026-05-01", "until"),
                                         ("before=-3", "before"), ("before=abc", "before"),
                                         ("action=DROP%20TABLE", "action"), ("institution=a%20b", "institution"),
                                         ("actor=" + "x" * 65, "actor")])
def test_a_bad_filter_is_the_error_page_naming_the_parameter(nongxin_console, query, name):
    resp = nongxin_console("jinan.admin").get(f"/console/audit?{query}")
    assert resp.status_code == 422
    assert f"<code>{name}</code>" in _text(resp)


def test_the_trail_pages_newest_first_fifty_at_a_time(nongxin_console, nongxin_app):
    from nongxin.core.audit.services import record

    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        for n in range(60):
            record(unit.session, actor="pager", action="test.page", target=f"n:{n:02d}", institution_code="JNRCB")
        unit.commit()
    client = nongxin_console("jinan.admin")
    first = _text(client.get("/console/audit?actor=pager"))
    targets = re.findall(r"<td>(n:\d\d)</td>", first)
    assert len(targets) == 50 and targets[0] == "n:59" and targets[-1] == "n:10"
    older = re.search(r'href="([^"]+)" id="older"', first).group(1).replace("&amp;", "&")
    assert "actor=pager" in older
    second = _text(client.get(older))
    assert re.findall(r"<td>(n:\d\d)</td>", second) == [f"n:{n:02d}" for n in range(9, -1, -1)]
    assert 'id="older"' not in second and "回到最新" in second


def test_the_chain_is_verified_for_a_province_admin_only(nongxin_console):
    page = _text(nongxin_console("province.admin").get("/console/audit/verify"))
    assert "审计链完整" in page
    assert "校验审计链" in _text(nongxin_console("province.admin").get("/console/audit"))
    county = nongxin_console("jinan.admin")
    assert "校验审计链" not in _text(county.get("/console/audit"))
    resp = county.get("/console/audit/verify")
    assert resp.status_code == 403 and "audit.verify" in _text(resp)


def test_a_broken_chain_is_reported(nongxin_console, nongxin_app):
    engine = nongxin_app.extensions["nongxin"].engine
    with engine.begin() as conn:  # someone with SQL access lifts the append-only guard and edits a row
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
            conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE id = 2"))
    page = _text(nongxin_console("province.admin").get("/console/audit/verify"))
    assert "审计链有" in page and "问题" in page


# -- the set-wise services behind the pages ---------------------------------------------------

def _principal(app: Any, username: str) -> Any:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return users.principal_named(unit.session, username)


@pytest.mark.parametrize("read", [listings.user_counts, listings.list_tokens,
                                  lambda session, who: trail.search(session, who, trail.TrailQuery())])
def test_the_services_refuse_a_role_the_table_does_not_let(nongxin_app, nongxin_demo, read):
    from nongxin.core.errors import Forbidden

    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit, pytest.raises(Forbidden):
        read(unit.session, _principal(nongxin_app, "jinan.approver"))


def test_the_services_read_the_callers_subtree_only(nongxin_app, nongxin_demo):
    linyi = _principal(nongxin_app, "linyi.admin")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        assert set(listings.user_counts(unit.session, linyi)) == {"LYRCB", "LYRCB-LS"}
        assert {t.user.institution.code for t in listings.list_tokens(unit.session, linyi)} == {"LYRCB", "LYRCB-LS"}
        found = trail.search(unit.session, linyi, trail.TrailQuery(), per_page=1000).entries
        assert found and {e.institution_code for e in found} <= {"LYRCB", "LYRCB-LS", "LYRCB-LS-G01"}
        everyone = trail.search(unit.session, _principal(nongxin_app, "province.admin"), trail.TrailQuery(), per_page=1000)
        assert len(everyone.entries) > len(found)

"""Console sign-in and its safety: slow hashes, lockout, sessions, CSRF, cookie flags, headers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.console import csrf, signin
from nongxin.core.console.models import ConsoleSession
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import User

PASSWORD = "correct horse battery"


def _set(app: Any, username: str, password: str = PASSWORD) -> None:
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        signin.set_password(unit, username, password, now=runtime.clock.now())
        unit.commit()


def _user(app: Any, username: str) -> User:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one()
        unit.session.expunge(user)
        return user


def _audit(app: Any, action: str) -> list[AuditEntry]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == action)).scalars())


def _form_token(client: Any) -> str:
    page = client.get("/console/signin").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def _sign_in(client: Any, username: str, password: str, **extra: str) -> Any:
    return client.post("/console/signin", data={"username": username, "password": password,
                                                "csrf_token": _form_token(client), **extra})


def test_the_password_is_kept_only_as_a_salted_scrypt_hash(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    stored = _user(nongxin_app, "jinan.pm").password_hash
    assert stored.startswith("scrypt:") and PASSWORD not in stored
    _set(nongxin_app, "jinan.cm")
    assert _user(nongxin_app, "jinan.cm").password_hash.split("$")[1] != stored.split("$")[1]  # own salt
    assert _audit(nongxin_app, "user.password")


@pytest.mark.parametrize("password, reason", [("short1!", "at least 10"), ("aaaaaaaaaaaa", "4 different"),
                                              ("xjinan.pm-2026x", "user name")])
def test_a_weak_password_is_refused_naming_the_field(nongxin_app, nongxin_demo, password, reason):
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit, pytest.raises(Exception) as refused:
        signin.set_password(unit, "jinan.pm", password, now=runtime.clock.now())
    assert list(refused.value.fields) == ["password"]
    assert reason in refused.value.fields["password"][0]
    assert _user(nongxin_app, "jinan.pm").password_hash is None


def test_the_cli_sets_a_password_from_stdin_and_refuses_a_weak_one(nongxin_settings, nongxin_app, nongxin_demo):
    result = CliRunner().invoke(main, ["users", "password", "jinan.pm", "--stdin"], input=PASSWORD + "\n",
                                obj=Console(nongxin_settings))
    assert result.exit_code == 0, result.output
    assert _user(nongxin_app, "jinan.pm").password_hash.startswith("scrypt:")
    weak = CliRunner().invoke(main, ["users", "password", "jinan.cm", "--stdin"], input="short\n",
                              obj=Console(nongxin_settings))
    assert weak.exit_code != 0 and "password" in weak.output and "at least 10" in weak.output
    assert _user(nongxin_app, "jinan.cm").password_hash is None


def test_sign_in_sets_a_session_cookie_httponly_samesite_and_signs_out(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    client = nongxin_app.test_client()
    resp = _sign_in(client, "jinan.pm", PASSWORD, next="/console/")
    assert resp.status_code == 303 and resp.location == "/console/"
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("nongxin_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP on 127.0.0.1
    home = client.get("/console/")
    assert home.status_code == 200 and "jinan.pm" in home.get_data(as_text=True)
    assert _audit(nongxin_app, "console.signin")[-1].actor == "jinan.pm"
    token = csrf.token_for(nongxin_app.config["SECRET_KEY"], client.get_cookie("nongxin_csrf", path="/console").value)
    out = client.post("/console/signout", data={"csrf_token": token})
    assert out.status_code == 303 and out.location.endswith("/console/signin")
    assert client.get("/console/").status_code == 302  # back to sign-in
    assert _audit(nongxin_app, "console.signout")


def test_over_https_the_cookies_are_secure(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    client = nongxin_app.test_client()
    page = client.get("/console/signin", base_url="https://localhost")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    assert "Secure" in page.headers["Set-Cookie"]
    resp = client.post("/console/signin", base_url="https://localhost",
                       data={"username": "jinan.pm", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 303
    assert all("Secure" in c for c in resp.headers.getlist("Set-Cookie"))


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    client = nongxin_app.test_client()
    wrong = _sign_in(client, "jinan.pm", "not the password")
    unknown = _sign_in(client, "nobody.here", "not the password")
    no_password = _sign_in(client, "jinan.cm", "not the password")
    assert wrong.status_code == unknown.status_code == no_password.status_code == 401
    said = {re.search(r'role="alert">([^<]+)<', r.get_data(as_text=True)).group(1)
            for r in (wrong, unknown, no_password)}
    assert said == {"用户名或密码错误。"}
    assert "nongxin_session" not in str(wrong.headers.getlist("Set-Cookie"))


def test_repeated_failures_lock_the_account_even_for_the_right_password_audited(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    client = nongxin_app.test_client()
    for _ in range(signin.MAX_FAILURES - 1):
        assert _sign_in(client, "jinan.pm", "not the password").status_code == 401
    locked = _sign_in(client, "jinan.pm", "not the password")
    assert locked.status_code == 423 and "锁定" in locked.get_data(as_text=True)
    assert _user(nongxin_app, "jinan.pm").locked_until is not None
    assert [e.target for e in _audit(nongxin_app, "user.lock")] == ["user:jinan.pm"]
    assert len(_audit(nongxin_app, "console.signin_failed")) == signin.MAX_FAILURES
    right = _sign_in(client, "jinan.pm", PASSWORD)
    assert right.status_code == 423 and client.get("/console/").status_code == 302
    assert _audit(nongxin_app, "console.signin_refused")
    _set(nongxin_app, "jinan.pm")  # an admin resets the password: unlocked
    assert _sign_in(client, "jinan.pm", PASSWORD).status_code == 303


def test_the_lock_ends_after_its_time(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    runtime = nongxin_app.extensions["nongxin"]
    start = runtime.clock.now()
    with UnitOfWork(runtime.sessions) as unit:
        for _ in range(signin.MAX_FAILURES):
            outcome = signin.sign_in(unit, "jinan.pm", "not the password", now=start)
        unit.commit()
    assert outcome.refused == "locked"
    with UnitOfWork(runtime.sessions) as unit:
        assert signin.sign_in(unit, "jinan.pm", PASSWORD, now=start + timedelta(minutes=1)).refused == "locked"
        later = signin.sign_in(unit, "jinan.pm", PASSWORD, now=start + timedelta(minutes=signin.LOCK_MINUTES + 1))
        assert later.token is not None and later.principal.username == "jinan.pm"


def test_a_post_without_the_csrf_token_is_refused_and_counts_nothing(nongxin_app, nongxin_demo, nongxin_console):
    _set(nongxin_app, "jinan.pm")
    client = nongxin_app.test_client()
    client.get("/console/signin")
    refused = client.post("/console/signin", data={"username": "jinan.pm", "password": "not the password"})
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    forged = client.post("/console/signin", data={"username": "jinan.pm", "password": "x", "csrf_token": "0" * 64})
    assert forged.status_code == 400
    assert _user(nongxin_app, "jinan.pm").failed_signins == 0
    signed_in = nongxin_console("jinan.pm")
    out = signed_in.client.post("/console/signout", data={})  # no token: still signed in afterwards
    assert out.status_code == 400 and signed_in.get("/console/").status_code == 200


def test_next_never_leaves_the_console(nongxin_app, nongxin_demo):
    _set(nongxin_app, "jinan.pm")
    for target in ("https://evil.example/", "//evil.example/", "/api/users", "/console\\@evil"):
        resp = _sign_in(nongxin_app.test_client(), "jinan.pm", PASSWORD, next=target)
        assert resp.status_code == 303 and resp.location == "/console/", target
    page = nongxin_app.test_client().get("/console/")
    assert page.status_code == 302 and page.location == "/console/signin?next=/console/"


def test_a_session_ends_when_it_expires_or_its_user_is_deactivated(nongxin_app, nongxin_demo, nongxin_console):
    signed_in = nongxin_console("jinan.pm")
    assert signed_in.get("/console/").status_code == 200
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.execute(sa.update(ConsoleSession).values(expires_at=runtime.clock.now() - timedelta(seconds=1)))
        unit.commit()
    assert signed_in.get("/console/").status_code == 302
    other = nongxin_console("jinan.cm")
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.execute(sa.update(User).where(User.username == "jinan.cm").values(active=False))
        unit.commit()
    assert other.get("/console/").status_code == 302


def test_pages_carry_a_content_policy_that_loads_nothing_from_outside(nongxin_app, nongxin_demo, nongxin_console):
    resp = nongxin_console("jinan.pm").get("/console/")
    policy = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["Cache-Control"] == "no-store"


def test_an_unknown_console_page_is_an_html_404_and_root_goes_to_the_console(nongxin_app, nongxin_demo,
                                                                             nongxin_console):
    resp = nongxin_console("jinan.pm").get("/console/no-such-page")
    assert resp.status_code == 404 and resp.mimetype == "text/html" and "未找到" in resp.get_data(as_text=True)
    root = nongxin_app.test_client().get("/")
    assert root.status_code == 302 and root.location == "/console/"


def test_api_tokens_still_work_and_do_not_open_the_console(nongxin_app, nongxin_demo):
    client = nongxin_app.test_client()
    assert client.get("/api/institutions", headers=nongxin_demo.headers("jinan.pm")).status_code == 200
    assert client.get("/console/", headers=nongxin_demo.headers("jinan.pm")).status_code == 302


def test_concurrent_wrong_passwords_through_a_real_server_lock_once_and_never_fail(nongxin_app, nongxin_demo):
    """Ten browsers guess at once: every answer is a refusal (401 or 423), never a 500; the
    failures are counted one by one, so the account locks, and the lock is audited once."""
    import http.client
    import threading
    from urllib.parse import urlencode

    from nongxin.core.loadgen import Server

    _set(nongxin_app, "jinan.pm")
    cookie = "race-csrf-cookie"
    token = csrf.token_for(nongxin_app.config["SECRET_KEY"], cookie)
    body = urlencode({"username": "jinan.pm", "password": "not the password", "csrf_token": token})
    statuses: list[int] = []
    with Server(nongxin_app, threads=10) as server:
        def guess() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            conn.request("POST", "/console/signin", body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"{csrf.COOKIE}={cookie}"})
            statuses.append(conn.getresponse().status)
            conn.close()

        threads = [threading.Thread(target=guess) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(set(statuses)) <= [401, 423] and len(statuses) == 10, statuses
    assert statuses.count(401) == signin.MAX_FAILURES - 1
    assert len(_audit(nongxin_app, "user.lock")) == 1
    assert len(_audit(nongxin_app, "console.signin_failed")) == signin.MAX_FAILURES


def test_behind_a_trusted_tls_proxy_the_cookies_are_secure_and_a_client_cannot_claim_https(nongxin_app, nongxin_demo):
    """`nongxin serve --trusted-proxy` believes X-Forwarded-Proto from the proxy only."""
    import http.client
    import threading

    from waitress.server import create_server

    from nongxin.core.cli import proxy_options

    def cookie_with(options: dict, forwarded: bool) -> str:
        server = create_server(nongxin_app, host="127.0.0.1", port=0, threads=2, **options)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=30)
            conn.request("GET", "/console/signin", headers={"X-Forwarded-Proto": "https"} if forwarded else {})
            return conn.getresponse().getheader("Set-Cookie") or ""
        finally:
            server.close()

    assert "Secure" in cookie_with(proxy_options("127.0.0.1"), forwarded=True)
    assert "Secure" not in cookie_with(proxy_options("127.0.0.1"), forwarded=False)
    assert "Secure" not in cookie_with(proxy_options(None), forwarded=True)  # no proxy named: not believed

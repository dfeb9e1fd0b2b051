"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for

from nongxin.core.console.signin import LOCK_MINUTES, SESSION_HOURS, end_session, sign_in
from nongxin.core.console.web import SESSION_COOKIE, bp, menu, me, now, render, safe_next, set_cookie, unit
from nongxin.core.db import as_utc
from nongxin.sdk.bureau import CHINA


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render("console/signin.html", next=target, username="", error=None)
    username = request.form.get("username", "")[:64]
    password = request.form.get("password", "")[:200]
    if not username.strip() or not password:
        return render("console/signin.html", 422, next=target, username=username,
                      error="请输入用户名和密码。")
    outcome = sign_in(unit(), username, password, now=now())
    unit().commit()  # a refused sign-in still counts towards the lock
    if outcome.token is None:
        if outcome.refused == "locked" and outcome.until is not None:
            until = as_utc(outcome.until).astimezone(CHINA).strftime("%H:%M")
            error = f"连续登录失败次数过多，账户已锁定至 {until}（{LOCK_MINUTES} 分钟）。如需提前解锁，请联系管理员重设密码。"
            return render("console/signin.html", 423, next=target, username=username, error=error)
        return render("console/signin.html", 401, next=target, username=username, error="用户名或密码错误。")
    response = redirect(target, code=303)
    set_cookie(response, SESSION_COOKIE, outcome.token, max_age=SESSION_HOURS * 3600)
    return response


@bp.route("/signout", methods=["POST"])
def signout() -> Any:
    token = request.cookies.get(SESSION_COOKIE, "")
    end_session(unit(), token, now=now())
    unit().commit()
    response = redirect(url_for("console.signin"), code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@bp.route("/")
def home() -> Any:
    """What the signed-in user can do here, as cards; the menu holds the same entries."""
    return render("console/home.html", items=menu(me()))

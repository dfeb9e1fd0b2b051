"""The admins' pages: the institution tree, users, API tokens and the audit trail.

The promise: every page reads and writes through the services the API and the CLI use
(``institutions.services``, ``institutions.users``, and for the set-wise reads no API has,
``institutions.listings`` and ``audit.trail``), with the signed-in user, so a county admin sees
and changes only their own bank's subtree and another bank's institution, user or token is the
404 page. A plain API token is shown once, on the page that answers its issue, and is never stored
or shown again. Passwords are not set here: ``nongxin users password NAME`` on the server.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Callable, TypeVar

from flask import redirect, request, url_for
from marshmallow import Schema, ValidationError

from nongxin.core.audit import trail
from nongxin.core.audit.services import verify_for
from nongxin.core.console.formats import china_time
from nongxin.core.console.web import bp, field_errors, me, nav, now, page, render, unit
from nongxin.core.db import as_utc
from nongxin.core.errors import Conflict, ValidationFailed, flat_fields, invalid
from nongxin.core.institutions import listings, services, users
from nongxin.core.institutions.models import ApiToken, Institution, Level, Role, User
from nongxin.core.institutions.schemas import InstitutionCreate, InstitutionPatch, UserCreate
from nongxin.core.permissions import Action, may
from nongxin.core.web import runtime

T = TypeVar("T")
#: Service errors a form shows beside its fields (anything else is the page of its status).
FORM_ERRORS = (ValidationFailed, Conflict)

nav("机构", "console.institutions", Action.INSTITUTION_READ, order=60, hint="本机构及下辖机构的树，新建与更名。")
nav("用户", "console.users_page", Action.USER_READ, order=62, hint="下辖用户、角色、启用与停用、登录锁定。")
nav("令牌", "console.tokens", Action.USER_READ, order=64, hint="程序接口（API）令牌的签发与吊销。")
nav("审计", "console.audit", Action.AUDIT_READ, order=66, hint="审计记录的查询与审计链校验。")


def china(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC moment as China time ("" for none)."""
    return china_time(moment, fmt, empty="")


def _render(template: str, status: int = 200, **context: Any) -> Any:
    return render(f"console/admin/{template}.html", status, china=china, **context)


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip() for name in names}


def _checked(schema: Schema, form: dict[str, str]) -> dict[str, Any]:
    """``form`` through the API's body schema (lengths of the columns, no control characters), so
    the console takes exactly what the API takes; refused as the API refuses, naming the fields."""
    try:
        loaded: dict[str, Any] = schema.load(form)
    except ValidationError as exc:
        raise ValidationFailed("the form is not valid", fields=flat_fields(exc.messages)) from None
    return loaded


#: What a page says after a form succeeded (post/redirect/get: ``?done=what`` or ``what:name``).
NOTICES = {"created": "已新建机构。", "renamed": "已更名。", "user": "已新建用户 {}。请在服务器上运行 "
           "nongxin users password {} 为其设置登录密码。", "activated": "已启用用户 {}。",
           "deactivated": "已停用用户 {}：其令牌与登录会话即刻失效。", "revoked": "已吊销令牌 {}…。"}


def _notice() -> str:
    what, _, name = request.args.get("done", "").partition(":")
    text = NOTICES.get(what, "")
    return text.format(name[:64], name[:64]) if text else ""


Again = Callable[[int, dict[str, str], dict[str, list[str]]], Any]


def _submit(fields: tuple[str, ...], change: Callable[[dict[str, str]], T], again: Again,
            then: Callable[[T], Any]) -> Any:
    """A form: ``change`` (a service call) with the posted ``fields``; if the service refuses a
    field, nothing is kept and ``again`` shows the form with the reasons beside the fields
    (422, or 409 for a duplicate); otherwise commit and answer ``then(what changed)``. Any other
    refusal (404, 403) is the page of its status."""
    form = _form(*fields)
    try:
        changed = change(form)
    except FORM_ERRORS as exc:
        unit().rollback()
        return again(409 if isinstance(exc, Conflict) else 422, form, field_errors(exc))
    unit().commit()
    return then(changed)


# -- institutions ----------------------------------------------------------------------------

def _choices(nodes: list[Institution]) -> list[tuple[str, str]]:
    return [(node.code, f"{node.name}（{node.code}）") for node in nodes]


def _tree(nodes: list[Institution]) -> list[tuple[Institution, int]]:
    """Each node with its depth below the signed-in user's institution (nodes sorted by path)."""
    base = me().institution_path.count("/")
    return [(node, node.path.count("/") - base) for node in nodes]


def _institutions(status: int = 200, form: dict[str, str] | None = None,
                  errors: dict[str, list[str]] | None = None) -> Any:
    session, who = unit().session, me()
    nodes = services.read_subtree(session, who)
    counts = listings.user_counts(session, who) if may(who, Action.USER_READ) else None
    levels = [(level.value, level.label) for level in Level if level is not Level.PROVINCE]
    return _render("institutions", status, rows=_tree(nodes), counts=counts,
                  levels=levels, parents=_choices(nodes),
                  form=form or {}, errors=errors or {}, notice=_notice(),
                  may_create=may(who, Action.INSTITUTION_CREATE))


@bp.route("/institutions")
@page(Action.INSTITUTION_READ)
def institutions() -> Any:
    return _institutions()


@bp.route("/institutions", methods=["POST"])
@page(Action.INSTITUTION_CREATE)
def institution_create() -> Any:
    def change(form: dict[str, str]) -> Institution:
        body = _checked(InstitutionCreate(), form)
        return services.create(unit(), me(), code=body["code"], name=body["name"], level=Level(body["level"]),
                               parent_code=body["parent"])

    return _submit(("code", "name", "level", "parent"), change, _institutions, lambda inst: redirect(
        url_for("console.institution", code=inst.code, done="created"), code=303))


def _institution(code: str, status: int = 200, form: dict[str, str] | None = None,
                 errors: dict[str, list[str]] | None = None) -> Any:
    session, who = unit().session, me()
    inst = services.visible_for(session, who, code, Action.INSTITUTION_READ)
    below = _tree(services.subtree(session, inst))
    above = [node for node in services.ancestry(session, inst) if who.can_see(node)][:-1]
    counts = listings.user_counts(session, who) if may(who, Action.USER_READ) else None
    return _render("institution", status, inst=inst, above=above, below=below,
                  counts=counts, form=form or {"name": inst.name}, errors=errors or {},
                  notice=_notice(), may_rename=may(who, Action.INSTITUTION_RENAME))


@bp.route("/institutions/<code>")
@page(Action.INSTITUTION_READ)
def institution(code: str) -> Any:
    return _institution(code)


@bp.route("/institutions/<code>/rename", methods=["POST"])
@page(Action.INSTITUTION_RENAME)
def institution_rename(code: str) -> Any:
    def change(form: dict[str, str]) -> Institution:
        return services.rename(unit(), me(), code, _checked(InstitutionPatch(), form)["name"])

    return _submit(("name",), change, functools.partial(_institution, code), lambda inst: redirect(
        url_for("console.institution", code=inst.code, done="renamed"), code=303))


# -- users -----------------------------------------------------------------------------------

def _roles() -> list[tuple[str, str]]:
    """The roles the signed-in admin may give (a province admin only by a province admin)."""
    mine = may(me(), Action.USER_CREATE_PROVINCE_ADMIN)
    return [(role.value, role.label) for role in Role if role is not Role.PROVINCE_ADMIN or mine]


def _locked(user: User) -> str:
    if user.locked_until is not None and as_utc(user.locked_until) > now():
        return china(user.locked_until, "%H:%M")
    return ""


def _users(status: int = 200, form: dict[str, str] | None = None,
           errors: dict[str, list[str]] | None = None) -> Any:
    session, who = unit().session, me()
    people = users.list_users(session, who)
    places = services.read_subtree(session, who)
    within = request.args.get("institution", "").strip()
    if within:  # the users of one institution and those below it (another bank's: 404)
        top = services.visible(session, who, within)
        people = [u for u in people if u.institution.is_within(top)]
    return _render("users", status, people=[(u, _locked(u)) for u in people], within=within,
                  roles=_roles(), places=_choices(places),
                  form=form or {"institution": who.institution_code, "role": Role.CUSTOMER_MANAGER.value},
                  errors=errors or {}, notice=_notice(),
                  may_create=may(who, Action.USER_CREATE), may_activate=may(who, Action.USER_ACTIVATE),
                  may_issue=may(who, Action.TOKEN_ISSUE_OTHERS))


@bp.route("/users")
@page(Action.USER_READ)
def users_page() -> Any:
    return _users()


@bp.route("/users", methods=["POST"])
@page(Action.USER_CREATE)
def user_create() -> Any:
    def change(form: dict[str, str]) -> User:
        body = _checked(UserCreate(), form)
        return users.create_user(unit(), me(), username=body["username"], display_name=body["display_name"],
                                 role=Role(body["role"]), institution_code=body["institution"])

    return _submit(("username", "display_name", "role", "institution"), change, _users, lambda user: redirect(
        url_for("console.users_page", done=f"user:{user.username}"), code=303))


@bp.route("/users/<username>/active", methods=["POST"])
@page(Action.USER_ACTIVATE)
def user_active(username: str) -> Any:
    """``active`` 1 activates, 0 deactivates (a deactivated user's tokens and sessions stop)."""
    value = request.form.get("active", "")
    if value not in ("0", "1"):
        raise invalid("active", "1 (activate) or 0 (deactivate)")
    user = users.set_active(unit(), me(), username, value == "1")
    unit().commit()
    done = "activated" if user.active else "deactivated"
    return redirect(url_for("console.users_page", done=f"{done}:{user.username}"), code=303)


# -- tokens ----------------------------------------------------------------------------------

def _token_state(token: ApiToken) -> tuple[str, str]:
    if token.revoked_at is not None:
        return f"已吊销（{china(token.revoked_at)}）", "bad"
    if as_utc(token.expires_at) <= now():
        return "已过期", "off"
    return "有效", "on"


def _tokens(status: int = 200, form: dict[str, str] | None = None,
            errors: dict[str, list[str]] | None = None) -> Any:
    session, who = unit().session, me()
    tokens = listings.list_tokens(session, who)
    people = users.list_users(session, who) if may(who, Action.TOKEN_ISSUE_OTHERS) else []
    settings = runtime().settings
    return _render("tokens", status, tokens=[(t, *_token_state(t)) for t in tokens],
                  limit=listings.TOKEN_LIMIT, people=[(u.username, f"{u.username}（{u.display_name}）")
                                                      for u in people if u.active],
                  form=form or {"user": request.args.get("user", "")[:64], "days": str(settings.token_days)},
                  errors=errors or {}, max_days=settings.token_max_days, notice=_notice(),
                  may_issue=may(who, Action.TOKEN_ISSUE_OTHERS), may_revoke=may(who, Action.TOKEN_REVOKE))


@bp.route("/tokens")
@page(Action.USER_READ)
def tokens() -> Any:
    return _tokens()


@bp.route("/tokens", methods=["POST"])
@page(Action.TOKEN_ISSUE_OTHERS)
def token_issue() -> Any:
    """The answer is the only time the plain token exists: shown once, never stored (a digest is)."""
    def change(form: dict[str, str]) -> tuple[str, ApiToken]:
        if not form["days"].isdigit():
            raise invalid("days", "a whole number of days")
        return users.issue_token_for(unit(), me(), form["user"], days=int(form["days"]),
                                     max_days=runtime().settings.token_max_days)

    return _submit(("user", "days"), change, _tokens, lambda issued: _render(
        "token_issued", plain=issued[0], token=issued[1], username=issued[1].user.username,
        expires=china(issued[1].expires_at)))


@bp.route("/tokens/<prefix>/revoke", methods=["POST"])
@page(Action.TOKEN_REVOKE)
def token_revoke(prefix: str) -> Any:
    token = users.revoke_token(unit(), prefix, principal=me())
    unit().commit()
    return redirect(url_for("console.tokens", done=f"revoked:{token.prefix}"), code=303)


# -- the audit trail -------------------------------------------------------------------------

@bp.route("/audit")
@page(Action.AUDIT_READ)
def audit() -> Any:
    """Filters in the query string; a bad one is the 422 page naming the parameter."""
    query = trail.parse_query(request.args)
    found = trail.search(unit().session, me(), query)
    older = url_for("console.audit", **query.params(), before=found.older) if found.older else None
    return _render("audit", query=query, entries=found.entries, older=older,
                  filtered=bool(query.params()), paged=query.before is not None,
                  may_verify=may(me(), Action.AUDIT_VERIFY))


@bp.route("/audit/verify")
@page(Action.AUDIT_VERIFY)
def audit_verify() -> Any:
    """Walks the whole chain (province admins): every entry's keyed hash and its link."""
    problems = verify_for(unit().session, me())
    return _render("audit_verify", problems=[p.message for p in problems],
                  at=china(now(), "%Y-%m-%d %H:%M:%S"))

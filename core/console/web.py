"""The console's blueprint and what every page shares: who is signed in, CSRF, error pages, the
navigation, and the ``page`` decorator.

Every page module (``*_pages.py``) adds its routes to :data:`bp` and its menu entries with
:func:`nav`; a view is decorated with :func:`page`, naming the actions it performs (the same
``Action`` table as the API: a role that may perform none of them gets the 403 page before
anything is read). Views call the services with :func:`me` and :func:`unit` exactly as the API
views do, and render with :func:`render`.

Errors are pages here, not JSON: a ``NongxinError`` raised by a service becomes the page of its
status (404 for another county bank's object, as in the API), with the service's message.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from nongxin.core.auth import Principal
from nongxin.core.console import csrf, formats
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, describe
from nongxin.core.permissions import Action, PERMISSIONS, may
from nongxin.core.web import READ_METHODS, runtime, uow
from nongxin.sdk.errors import NongxinSdkError

PREFIX = "/console"
SESSION_COOKIE = "nongxin_session"
#: Pages anyone may open without signing in (endpoint names).
PUBLIC = frozenset({"console.signin", "console.static"})

bp = Blueprint("console", __name__, url_prefix=PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/static")

View = Callable[..., Any]


# -- who is signed in ------------------------------------------------------------------------

def me() -> Principal:
    """The signed-in user, as the services want them."""
    return g.principal


def unit() -> UnitOfWork:
    """The request's unit of work (a writer for POST): commit it after a successful change."""
    return uow()


def now() -> Any:
    return runtime().clock.now()


@bp.before_request
def _load_principal() -> Any:
    from nongxin.core.console.signin import session_principal

    if request.method not in READ_METHODS and request.endpoint != "console.static":
        sent = request.form.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
        if not csrf.valid(current_app.config["SECRET_KEY"], request.cookies.get(csrf.COOKIE), sent):
            return error_page(400, "表单已过期或来源不明（CSRF 校验失败）：请刷新页面后重试。")
    if request.endpoint in PUBLIC:
        return None
    token = request.cookies.get(SESSION_COOKIE, "")
    principal = session_principal(uow().session, token, now=now()) if token else None
    if principal is None:
        if request.method in READ_METHODS:
            return redirect(url_for("console.signin", next=request.full_path.rstrip("?")))
        return error_page(401, "登录已失效，请重新登录。")
    g.principal = principal
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    """Every console response: a CSRF cookie if the browser has none; no framing, no caching of
    pages, and a content policy that lets nothing load from outside this server."""
    if not request.cookies.get(csrf.COOKIE) and "csrf_cookie" in g:
        set_cookie(response, csrf.COOKIE, g.csrf_cookie, samesite="Strict")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    if request.endpoint != "console.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def set_cookie(response: Response, name: str, value: str, *, samesite: str = "Lax",
               max_age: int | None = None) -> None:
    """HttpOnly, SameSite, Secure when served over HTTPS, and only for the console's paths."""
    response.set_cookie(name, value, max_age=max_age, path=PREFIX, httponly=True, samesite=samesite,
                        secure=request.is_secure)


def csrf_token() -> str:
    """The token for this browser's forms (made, with its cookie, on first use)."""
    cookie = request.cookies.get(csrf.COOKIE) or g.get("csrf_cookie")
    if not cookie:
        cookie = g.csrf_cookie = csrf.new_cookie()
    return csrf.token_for(current_app.config["SECRET_KEY"], cookie)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path of this server, never another site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith(PREFIX + "/") and "\\" not in target:
            return target
    return url_for("console.home")


# -- pages -----------------------------------------------------------------------------------

def page(*actions: Action) -> Callable[[View], View]:
    """A console view performing one of ``actions``: the 403 page naming the action and the roles
    that may, before anything is read, for a role that may perform none (as
    ``guards.permission_required`` for the API; the permission walk reads ``permission_actions``).
    The services check again what they perform."""
    if not actions:
        raise TypeError("page needs at least one action")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not any(may(me(), action) for action in actions):
                return forbidden(actions[0])
            return view(*args, **kwargs)

        wrapper.permission_actions = actions  # type: ignore[attr-defined]
        return wrapper

    return decorate


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def forbidden(action: Action) -> tuple[str, int]:
    roles = "、".join(sorted(r.value for r in PERMISSIONS[action])) or "无"
    return error_page(403, f"您的角色不能执行此操作：{action.value}（{action.doing}）。可执行的角色：{roles}。")


TITLES = {400: "请求有误", 401: "请先登录", 403: "无权操作", 404: "未找到", 405: "不支持的请求",
          409: "与现有数据冲突", 413: "内容过大", 415: "格式不支持", 422: "输入有误", 500: "系统错误"}


def error_page(status: int, message: str, fields: Mapping[str, Any] | None = None) -> tuple[str, int]:
    return render("console/error.html", status, code=status, title=TITLES.get(status, "出错了"),
                  message=message, fields=dict(fields or {}))


def field_errors(exc: NongxinError | NongxinSdkError) -> dict[str, list[str]]:
    """A service error's fields, as a form shows them beside its inputs: {"amount": ["..."]}."""
    seen = describe(exc)
    out: dict[str, list[str]] = {}
    for name, reasons in (seen.body().get("fields") or {}).items():
        out[name] = [str(r) for r in reasons] if isinstance(reasons, (list, tuple)) else [str(reasons)]
    return out


@bp.errorhandler(NongxinError)
@bp.errorhandler(NongxinSdkError)
def _service_error(exc: NongxinError | NongxinSdkError) -> tuple[str, int]:
    seen = describe(exc)
    body = seen.body()
    return error_page(seen.status, body.get("message", ""), body.get("fields"))


def http_error(exc: HTTPException) -> tuple[str, int]:
    """Routing errors under /console (no such page, wrong method): the page, not JSON."""
    status = exc.code or 500
    return error_page(status, {404: "没有这个页面，或者它属于另一家机构。"}.get(status, exc.description or ""))


def unexpected_error() -> tuple[str, int]:
    message = "系统出现意外错误，已记录日志。请稍后重试或联系省联社信息科技部。"
    try:
        return error_page(500, message)
    except Exception:  # the page itself failed: plain words, never a traceback
        return message, 500


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


# -- navigation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    actions: tuple[Action, ...]
    order: int
    hint: str


NAV: list[NavItem] = []


def nav(label: str, endpoint: str, *actions: Action, order: int = 50, hint: str = "") -> None:
    """A menu entry shown to users who may perform one of ``actions`` (and a card on the home page)."""
    NAV.append(NavItem(label, endpoint, actions, order, hint))
    NAV.sort(key=lambda item: item.order)


def menu(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in NAV if any(may(principal, a) for a in item.actions)]


@bp.app_context_processor
def _context() -> dict[str, Any]:
    if not is_console(request.path):
        return {}
    principal = g.get("principal")
    return {"me": principal, "menu": menu(principal)}


# Globals, so that imported macros (``{% import "console/macros.html" as ui %}``) see them too.
bp.add_app_template_global(csrf_token, "csrf_token")
bp.add_app_template_global(csrf.FIELD, "csrf_field")
bp.add_app_template_filter(formats.china_time, "china_time")

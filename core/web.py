"""Per-request plumbing shared by every blueprint: the unit of work, the caller, the errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from nongxin.core.auth import Principal
from nongxin.core.config import Settings
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, Unauthorized

PUBLIC_PATHS = ("/api/openapi.json", "/api/docs")


@dataclass
class Runtime:
    """What the app factory wires once and every request reads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    plugins: Any = None
    rulebooks: Any = None


def runtime(app: Flask | None = None) -> Runtime:
    return (app or current_app).extensions["nongxin"]


#: Requests with these methods only read; every other request's unit of work is a writer.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def uow() -> UnitOfWork:
    if "uow" not in g:
        g.uow = UnitOfWork(runtime().sessions, write=request.method not in READ_METHODS)
    return g.uow


def principal() -> Principal:
    return g.principal


def _close_uow(_exc: BaseException | None) -> None:
    unit = g.pop("uow", None)
    if unit is not None:
        unit.rollback()  # anything not committed by the view is undone
        unit.session.close()


def _authenticate() -> ResponseReturnValue | None:
    path = request.path
    if not path.startswith("/api/") or path.startswith(PUBLIC_PATHS):
        return None
    from nongxin.core.institutions.users import authenticate

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'", code="missing_token")
    g.principal = authenticate(uow().session, token.strip())
    return None


def _json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> ResponseReturnValue:
    return jsonify({"error": code, "message": message, "fields": fields or {}}), status


def handle_nongxin_error(exc: NongxinError) -> ResponseReturnValue:
    status = exc.status if exc.status != 500 else 500
    return _json_error(status, exc.code, exc.message, exc.fields)


def _flatten(messages: Any) -> dict[str, Any]:
    # webargs nests by location ({"json": {"field": [...]}}); the caller only cares about fields.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "view_args", "files", "path"}:
        flat: dict[str, Any] = {}
        for value in messages.values():
            flat.update(value if isinstance(value, dict) else {"body": value})
        return flat
    return messages if isinstance(messages, dict) else {"body": messages}


class NongxinApi(Api):
    """flask-smorest's Api, with its HTTP errors in our one JSON error shape."""

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:
        data = getattr(error, "data", None) or {}
        fields = _flatten(data.get("messages", {})) if data else {}
        status = error.code or 500
        if status == 422:
            detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in fields.items())
            return _json_error(422, "validation_failed", f"invalid input: {detail}", fields)
        if status == 400 and fields:
            return _json_error(400, "bad_request", "the request body is not valid JSON", fields)
        code = (error.name or "error").lower().replace(" ", "_")
        return _json_error(status, code, error.description or error.name or "error", fields)


def install(app: Flask) -> None:
    app.before_request(_authenticate)
    app.teardown_appcontext(_close_uow)
    app.register_error_handler(NongxinError, handle_nongxin_error)

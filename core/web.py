"""Per-request plumbing shared by every blueprint: the unit of work, the caller, the errors."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as NotFoundHTTP
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter, ValidationError

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import BadRequest, NongxinError, Unauthorized, ValidationFailed, describe, flat_fields
from nongxin.core.openapi import ErrorResponses
from nongxin.core.runtime import Runtime
from nongxin.core.schemas import CONTROL, ErrorSchema
from nongxin.sdk.errors import NongxinSdkError

PUBLIC_PATHS = ("/api/openapi.json", "/api/docs")
#: Largest request body accepted (413 above it): every body is a form's worth of fields.
MAX_BODY_BYTES = 1024 * 1024
#: Deepest JSON accepted: no body nests more than a few levels; a deeper one is a probe, and
#: parsing or validating it would recurse without bound.
MAX_JSON_DEPTH = 32


def runtime(app: Flask | None = None) -> Runtime:
    """The app's runtime (built by :func:`nongxin.core.runtime.bootstrap`)."""
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


#: Ids are INTEGER primary keys: 32-bit on PostgreSQL (64-bit on SQLite, which is wider).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` bounded to what an INTEGER id column holds on every supported database: a
    larger number is no route (404), not an OverflowError (SQLite) or "integer out of range"
    (PostgreSQL) when it reaches the driver."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max,
                         signed=signed)


#: Longest path segment a name can be (institution codes, usernames and plugin names are shorter).
MAX_NAME = 200


class NameConverter(UnicodeConverter):
    """The default ``<name>`` converter, refusing what no stored name can contain: a segment with
    control or bidi characters (NUL cannot even be sent to PostgreSQL) or longer than MAX_NAME
    matches no route (404)."""

    def __init__(self, map: Map, minlength: int = 1, maxlength: int | None = None, length: int | None = None) -> None:
        super().__init__(map, minlength=minlength, maxlength=MAX_NAME if maxlength is None and length is None
                         else maxlength, length=length)

    def to_python(self, value: str) -> str:
        if CONTROL.search(value):
            raise ValidationError()
        return value


def _json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((sub, depth + 1) for sub in (item.values() if isinstance(item, dict) else item))
    return deepest


class _NotJson(Exception):
    """NaN and Infinity: Python's parser takes them, JSON (RFC 8259) and PostgreSQL do not."""


def _no_constants(name: str) -> Any:
    raise _NotJson(name)


def _check_body() -> None:
    """A JSON body too deep to parse or validate safely, or holding NaN/Infinity, is a 400 naming
    the body, for every endpoint, before any schema sees it. Otherwise malformed JSON is left to
    the argument parser's 400."""
    if not request.is_json:
        return
    raw = request.get_data(cache=True)
    if not raw:
        return
    try:
        depth = _json_depth(json.loads(raw, parse_constant=_no_constants))
    except RecursionError:
        depth = MAX_JSON_DEPTH + 1
    except _NotJson as exc:
        reason = f"{exc} is not a JSON value"
        raise BadRequest(f"the request body is not valid JSON: {reason}", fields={"body": [reason]}) from None
    except ValueError:
        return
    if depth > MAX_JSON_DEPTH:
        reason = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
        raise BadRequest(f"the request body is {reason}", fields={"body": [reason]})


def _check_query() -> None:
    """Unknown query parameters are refused by name, like unknown body fields, on every endpoint
    (an endpoint without a query schema takes none)."""
    if not request.args or request.url_rule is None or request.path.startswith("/console/"):
        return  # the console's pages read their own query parameters (filters) and name what is wrong
    view = current_app.view_functions.get(request.endpoint or "")
    allowed: set[str] = set()
    for param in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if param.get("in") == "query":
            schema = param["schema"]
            schema = schema() if isinstance(schema, type) else schema
            allowed.update(f.data_key or name for name, f in schema.fields.items())
    unknown = sorted(k for k in request.args if k not in allowed)
    if unknown:
        fields = {k: ["Unknown query parameter."] for k in unknown}
        raise ValidationFailed(f"invalid input: unknown query parameter(s): {', '.join(unknown)}", fields=fields)


def _json_error(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> ResponseReturnValue:
    return jsonify({"error": code, "message": message, "fields": flat_fields(fields or {})}), status


def handle_nongxin_error(exc: NongxinError | NongxinSdkError) -> ResponseReturnValue:
    """Core and SDK errors alike: status and code from the one table in ``nongxin.core.errors``."""
    seen = describe(exc)
    return jsonify(seen.body()), seen.status


def _flatten(messages: Any) -> dict[str, Any]:
    # webargs nests by location ({"json": {"field": [...]}}); the caller only cares about fields.
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "headers", "view_args", "files", "path"}:
        flat: dict[str, Any] = {}
        for value in messages.values():
            flat.update(value if isinstance(value, dict) else {"body": value})
        return _dotted(flat)
    return _dotted(messages) if isinstance(messages, dict) else {"body": messages}


def _dotted(messages: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """Nested schema errors ({"subject": {"name": [...]}}) named the way the services name them
    ("subject.name"), so a form finds every field under one kind of key."""
    flat: dict[str, Any] = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_dotted(value, name))
        else:
            flat[name] = value
    return flat


class NongxinApi(Api):
    """flask-smorest's Api, with its HTTP errors in our one JSON error shape, and that shape
    documented as every operation's error body (``ErrorSchema``), under the statuses the edge
    really gives (:mod:`nongxin.core.openapi`), not a catch-all ``default``."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    # The OpenAPI document is written on first use, not at start: describing every view took more
    # than half of ``create_app`` (a test suite makes an app per test; a worker serves requests
    # long before anyone reads /api/openapi.json). ``spec`` is the same APISpec either way.
    _pending_docs: list[tuple[Any, str, Any]]

    def _init_spec(self, *args: Any, extra_plugins: Any = None, **kwargs: Any) -> None:
        super()._init_spec(*args, extra_plugins=[*(extra_plugins or ()), ErrorResponses()], **kwargs)

    @property
    def spec(self) -> Any:
        """The APISpec, with every registered blueprint's views described in it."""
        pending = self.__dict__.setdefault("_pending_docs", [])
        while pending:
            blp, name, parameters = pending.pop(0)
            blp.register_views_in_doc(self, self._app, self.__dict__["_spec"], name=name, parameters=parameters)
            self.__dict__["_spec"].tag({"name": name, "description": blp.description})
        return self.__dict__.get("_spec")

    @spec.setter
    def spec(self, value: Any) -> None:
        self.__dict__["_spec"] = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """Register ``blp`` in the app now and describe its views when the spec is first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self.__dict__.setdefault("_pending_docs", []).append((blp, name, parameters))

    def handle_http_exception(self, error: HTTPException) -> ResponseReturnValue:
        from nongxin.core.console import web as console

        if console.is_console(request.path):  # a person at a browser: the page, not JSON
            return console.http_error(error)
        data = getattr(error, "data", None) or {}
        fields = _flatten(data.get("messages", {})) if data else {}
        status = error.code or 500
        if status == 422:
            detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in fields.items())
            return _json_error(422, "validation_failed", f"invalid input: {detail}", fields)
        if status == 400 and fields:
            return _json_error(400, "bad_request", "the request body is not valid JSON", fields)
        if status == 405 and not _path_matches(getattr(error, "valid_methods", None) or ()):
            status, error = 404, NotFoundHTTP()
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": code, "message": error.description or error.name or "error",
                            "fields": flat_fields(fields)})
        response.status_code = status
        allowed = getattr(error, "valid_methods", None)
        if status == 405 and allowed:  # RFC 9110: a 405 names the methods the resource has
            response.headers["Allow"] = ", ".join(sorted(allowed))
        return response


def _path_matches(methods: Any) -> bool:
    """Whether the path names a real resource for one of ``methods``. Werkzeug answers 405 when a
    path segment is refused by its converter (a control character in a name) on one rule while
    another rule for the same path has other methods; no such resource exists, so that is a 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in methods:
        try:
            adapter.match(method=method)
            return True
        except HTTPException:
            continue
    return False


def install(app: Flask) -> None:
    """Call before any route is added: the int converter applies to routes added afterwards."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = NameConverter
    app.before_request(_authenticate)
    app.before_request(_check_query)
    app.before_request(_check_body)
    app.teardown_appcontext(_close_uow)
    app.register_error_handler(NongxinError, handle_nongxin_error)
    app.register_error_handler(NongxinSdkError, handle_nongxin_error)

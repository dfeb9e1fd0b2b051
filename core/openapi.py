"""The error answers of every operation, in the OpenAPI spec, as the edge really gives them.

Every error body is :class:`~nongxin.core.schemas.ErrorSchema` (``{"error", "message", "fields"}``).
Which statuses an operation documents follows from what the edge does to every request, so no
view has to repeat them:

=====================================  ============================================================
the operation                          documents
=====================================  ============================================================
needs a token (all but the public)     401 (no or bad token), 403 (the role or the bank may not)
has a path parameter, or a query or    404 (no such thing, not yours, or an id out of range)
body field naming an institution
(``institution``, ``parent``, ``grid``)
takes a JSON body                      400 (malformed, too deep, NaN), 413 (over 1 MiB),
                                       415 (not JSON), 422 (invalid fields)
takes query parameters, or a path     422 (invalid or unknown parameters; a path date out of range)
parameter with a format (a date)
creates or renames something           409, added with ``@blp.alt_response(409, ...)`` in its view
=====================================  ============================================================
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apispec import APISpec, BasePlugin

#: Statuses every operation that needs a token can answer.
AUTHENTICATED = (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)
WITH_PATH_PARAMETER = (HTTPStatus.NOT_FOUND,)
WITH_BODY = (HTTPStatus.BAD_REQUEST, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
             HTTPStatus.UNPROCESSABLE_ENTITY)
WITH_QUERY = (HTTPStatus.UNPROCESSABLE_ENTITY,)
#: Query and body fields that name an institution by code: one that does not exist, or is outside
#: the caller's subtree, is a 404 (never 403: another county bank's data is not even confirmed).
REFERENCES = frozenset({"institution", "parent", "grid"})
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def error_statuses(path: str, operation: dict[str, Any], body_fields: frozenset[str] = frozenset(),
                   path_parameters: list[Any] | tuple[Any, ...] = ()) -> list[HTTPStatus]:
    """The error statuses the edge can give for one operation (see the module's table);
    ``body_fields`` are the names of its JSON body's top-level fields, ``path_parameters`` those
    documented on the whole path rather than the operation."""
    statuses: list[HTTPStatus] = []
    if operation.get("security", None) != []:
        statuses += AUTHENTICATED
    query = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict) and p.get("in") == "query"}
    if "{" in path or (query | body_fields) & REFERENCES:
        statuses += WITH_PATH_PARAMETER
    if "requestBody" in operation:
        statuses += WITH_BODY
    formatted = any(isinstance(p, dict) and p.get("in") == "path" and p.get("schema", {}).get("format")
                    for p in [*operation.get("parameters", []), *path_parameters])
    if (query or formatted) and HTTPStatus.UNPROCESSABLE_ENTITY not in statuses:
        statuses += WITH_QUERY
    return statuses


class ErrorResponses(BasePlugin):
    """An apispec plugin adding each operation's error statuses, each a reference to flask-smorest's
    response of that name (whose schema is the Api's ``ERROR_SCHEMA``)."""

    def init_spec(self, spec: APISpec) -> None:
        self.spec = spec

    def _body_fields(self, operation: dict[str, Any]) -> frozenset[str]:
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
        if ref:
            schema = self.spec.to_dict()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
        return frozenset(schema.get("properties", {})) if isinstance(schema, dict) else frozenset()

    def path_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                    parameters: list[Any] | None = None, **kwargs: Any) -> None:
        """apispec calls this just before ``operation_helper`` for the same path: keep the
        path-level parameters (a route's ``parameters=``) for it."""
        self._path_parameters = list(parameters or [])

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path or "", operation, self._body_fields(operation),
                                         getattr(self, "_path_parameters", ())):
                if status not in responses and str(int(status)) not in responses:
                    responses[str(int(status))] = status.name

"""View decorators that refuse a request before its body is parsed.

flask-smorest validates the body before the view runs, so a check made inside the view comes
after validation: a customer manager posting a bad body would learn the schema (422) instead of
being told they may not (403). Put these decorators between ``@blp.route`` and ``@blp.arguments``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from flask import g, request

from nongxin.core.errors import UnsupportedMediaType
from nongxin.core.permissions import Action, may, require

View = Callable[..., Any]


def permission_required(*actions: Action) -> Callable[[View], View]:
    """403 naming the action and the roles that may (``permissions.PERMISSIONS``), before the body
    is looked at, when the caller may perform none of ``actions`` (a PATCH that renames or moves
    names both). An early refusal only: the service checks the action it performs as well."""
    if not actions:
        raise TypeError("permission_required needs at least one action")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            me = g.principal
            if not any(may(me, action) for action in actions):
                require(me, actions[0])
            return view(*args, **kwargs)

        wrapper.permission_actions = actions  # type: ignore[attr-defined]
        return wrapper

    return decorate


def json_body_required(view: View) -> View:
    """415 for an empty or non-JSON body, instead of reading it as "no options"."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            raise UnsupportedMediaType("send a JSON body with Content-Type: application/json",
                                       fields={"body": ["must be JSON (application/json)"]})
        return view(*args, **kwargs)

    return wrapper

"""View decorators that refuse a request before its body is parsed.

flask-smorest validates the body before the view runs, so a check made inside the view comes
after validation: a customer manager posting a bad body would learn the schema (422) instead of
being told they may not (403). Put these decorators between ``@blp.route`` and ``@blp.arguments``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable

from flask import g, request

from nongxin.core.errors import UnsupportedMediaType
from nongxin.core.institutions.models import Role

View = Callable[..., Any]


def role_required(roles: Iterable[Role], doing: str) -> Callable[[View], View]:
    """403 naming the roles that may, before the body is looked at."""
    allowed = frozenset(roles)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.principal.require_role(allowed, doing)
            return view(*args, **kwargs)

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

"""User and token endpoints for administrators."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint

from nongxin.core.guards import json_body_required, permission_required
from nongxin.core.institutions import users
from nongxin.core.institutions.models import Role
from nongxin.core.permissions import Action
from nongxin.core.institutions.schemas import TokenCreate, TokenOut, UserCreate, UserOut, UserPatch
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users, roles and API tokens")


@blp.route("")
@blp.response(200, UserOut(many=True))
def list_users() -> Any:
    """Users of the caller's subtree (admins only)."""
    return users.list_users(uow().session, principal())


@blp.route("", methods=["POST"])
@permission_required(Action.USER_CREATE)
@blp.arguments(UserCreate)
@blp.response(201, UserOut)
def create_user(body: dict[str, Any]) -> Any:
    unit = uow()
    user = users.create_user(unit, principal(), username=body["username"],
                             display_name=body["display_name"], role=Role(body["role"]),
                             institution_code=body["institution"])
    unit.commit()
    return user


@blp.route("/<username>", methods=["PATCH"])
@permission_required(Action.USER_ACTIVATE)
@blp.arguments(UserPatch)
@blp.response(200, UserOut)
def update_user(body: dict[str, Any], username: str) -> Any:
    """Activate or deactivate a user of the caller's subtree (admins); a deactivated user's tokens
    stop working at once."""
    unit = uow()
    user = users.set_active(unit, principal(), username, body["active"])
    unit.commit()
    return user


@blp.route("/<username>/tokens", methods=["POST"])
@json_body_required
@blp.arguments(TokenCreate)
@blp.response(201, TokenOut)
def issue_token(body: dict[str, Any], username: str) -> Any:
    """Issue a token; the response is the only time the token is shown.

    Admins issue tokens for users of their subtree. Anyone may ask for a token for themselves:
    that rotates the token the request was made with, which is revoked at once. No token lives
    longer than NONGXIN_TOKEN_MAX_DAYS."""
    me, unit, settings = principal(), uow(), runtime().settings
    days = body["days"] if body["days"] is not None else settings.token_days
    if username == me.username:
        presented = request.headers.get("Authorization", "").partition(" ")[2].strip()
        plain, token, old = users.rotate_token(unit, me, presented, days=days, max_days=settings.token_max_days)
        unit.commit()
        return {"token": plain, "prefix": token.prefix, "expires_at": token.expires_at, "revoked": old.prefix}
    plain, token = users.issue_token_for(unit, me, username, days=days, max_days=settings.token_max_days)
    unit.commit()
    return {"token": plain, "prefix": token.prefix, "expires_at": token.expires_at, "revoked": None}

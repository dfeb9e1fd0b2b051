"""Users and their API tokens.

Tokens are 32 random bytes shown once; only a SHA-256 digest is stored. A slow password hash buys
nothing here: the secret has 256 bits of entropy, so a fast digest cannot be brute-forced.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork, as_utc, utcnow
from nongxin.core.errors import Conflict, NotFound, Unauthorized, invalid
from nongxin.core.institutions import services
from nongxin.core.institutions.models import ApiToken, Institution, Role, User
from nongxin.core.permissions import Action, may, require

TOKEN_PREFIX = "nx_"
USERNAME_RE = re.compile(r"^[a-z0-9_.-]{2,64}$")


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise invalid("role", f"{value!r} is not one of {', '.join(r.value for r in Role)}") from None


def create_user(uow: UnitOfWork, principal: Principal | None, *, username: str, display_name: str,
                role: Role, institution_code: str) -> User:
    session = uow.session
    if not USERNAME_RE.match(username):
        raise invalid("username", "use 2-64 lower-case letters, digits, '.', '_' or '-'")
    if principal is not None:
        inst = services.visible(session, principal, institution_code)
        require(principal, Action.USER_CREATE)
        if role is Role.PROVINCE_ADMIN and not may(principal, Action.USER_CREATE_PROVINCE_ADMIN):
            raise invalid("role", "only a province admin may create another province admin")
    else:
        inst = services.get_by_code(session, institution_code)
        if inst is None:
            raise invalid("institution", f"no institution with code {institution_code}")
    if session.execute(sa.select(User.id).where(User.username == username)).first():
        raise Conflict(f"user {username} already exists", code="duplicate_username",
                       fields={"username": ["already exists"]})
    user = User(username=username, display_name=display_name or username, role=role, institution=inst)
    session.add(user)
    session.flush()
    record(session, actor=principal.username if principal else "system", action="user.create",
           target=f"user:{username}", institution_code=inst.code,
           after={"username": username, "role": role.value, "institution": inst.code})
    return user


def visible_user(session: Session, principal: Principal, username: str) -> User:
    """The user if they work in the caller's subtree; otherwise the same 404 as for no such user."""
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not principal.can_see(user.institution):
        raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
    return user


def list_users(session: Session, principal: Principal) -> list[User]:
    """Users of the caller's subtree (admins only)."""
    require(principal, Action.USER_READ)
    stmt = (sa.select(User).join(Institution).where(Institution.path.startswith(principal.institution_path))
            .order_by(User.username))
    return list(session.execute(stmt).scalars())


def set_active(uow: UnitOfWork, principal: Principal, username: str, active: bool) -> User:
    """Deactivating keeps the user (the audit trail names them) but refuses all their tokens."""
    user = visible_user(uow.session, principal, username)
    require(principal, Action.USER_ACTIVATE)
    if user.username == principal.username and not active:
        raise invalid("active", "you cannot deactivate yourself")
    before = user.active
    user.active = active
    record(uow.session, actor=principal.username, action="user.activate" if active else "user.deactivate",
           target=f"user:{username}", institution_code=user.institution.code,
           before={"active": before}, after={"active": active})
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(uow: UnitOfWork, username: str, *, days: int, max_days: int,
                actor: str = "system") -> tuple[str, ApiToken]:
    """Returns the plain token (the only time it exists) and its stored record. ``max_days`` is the
    configured cap (NONGXIN_TOKEN_MAX_DAYS); no token outlives it, whoever asks."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise invalid("days", "must be a whole number of days")
    if days < 1:
        raise invalid("days", "a token must live at least one day")
    if days > max_days:
        raise invalid("days", f"at most {max_days} days (NONGXIN_TOKEN_MAX_DAYS)")
    user = uow.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, prefix=plain[:10], token_hash=_digest(plain),
                     expires_at=utcnow() + timedelta(days=days))
    uow.session.add(token)
    uow.session.flush()
    record(uow.session, actor=actor, action="token.issue", target=f"token:{token.prefix}",
           institution_code=user.institution.code,
           after={"user": username, "expires_at": token.expires_at.isoformat()})
    return plain, token


def issue_token_for(uow: UnitOfWork, principal: Principal, username: str, *, days: int,
                    max_days: int) -> tuple[str, ApiToken]:
    """An administrator issues a token for a user of their subtree (404 for anyone else's)."""
    visible_user(uow.session, principal, username)
    require(principal, Action.TOKEN_ISSUE_OTHERS)
    return issue_token(uow, username, days=days, max_days=max_days, actor=principal.username)


def rotate_token(uow: UnitOfWork, principal: Principal, presented: str, *, days: int,
                 max_days: int) -> tuple[str, ApiToken, ApiToken]:
    """A user replaces the token they are calling with: the new one is issued and the presented
    one revoked in the same transaction, so a leaked token cannot mint its own successor and
    live on. Returns the new plain token, its record and the revoked record."""
    old = uow.session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == _digest(presented), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if old is None or old.user.username != principal.username:
        raise Unauthorized("the API token is not valid", code="invalid_token")
    require(principal, Action.TOKEN_ISSUE_SELF)
    plain, token = issue_token(uow, principal.username, days=days, max_days=max_days,
                               actor=principal.username)
    old.revoked_at = utcnow()
    record(uow.session, actor=principal.username, action="token.revoke", target=f"token:{old.prefix}",
           institution_code=old.user.institution.code,
           after={"user": principal.username, "replaced_by": token.prefix})
    return plain, token, old


def revoke_token(uow: UnitOfWork, prefix_or_token: str, *, actor: str = "system",
                 principal: Principal | None = None) -> ApiToken:
    """``principal`` None is the system itself (tests, bootstrap); a principal may revoke only
    tokens of users in their subtree, and only if the table lets them."""
    prefix = prefix_or_token[:10]
    token = uow.session.execute(
        sa.select(ApiToken).where(ApiToken.prefix == prefix, ApiToken.revoked_at.is_(None))
    ).scalars().first()
    if token is None or (principal is not None and not principal.can_see(token.user.institution)):
        raise NotFound(f"no live token starts with {prefix}", fields={"token": ["not found"]})
    if principal is not None:
        require(principal, Action.TOKEN_REVOKE)
        actor = principal.username
    token.revoked_at = utcnow()
    record(uow.session, actor=actor, action="token.revoke", target=f"token:{prefix}",
           institution_code=token.user.institution.code, after={"user": token.user.username})
    return token


def authenticate(session: Session, plain: str, *, now: datetime | None = None) -> Principal:
    token = session.execute(
        sa.select(ApiToken).where(ApiToken.token_hash == _digest(plain))
    ).scalar_one_or_none()
    if token is None:
        raise Unauthorized("the API token is not valid", code="invalid_token")
    if token.revoked_at is not None:
        raise Unauthorized("the API token was revoked", code="token_revoked")
    if as_utc(token.expires_at) <= (now or utcnow()):
        raise Unauthorized("the API token has expired", code="token_expired")
    user = token.user
    if not user.active:
        raise Unauthorized(f"user {user.username} is deactivated", code="user_inactive")
    return principal_of(user)


def principal_of(user: User) -> Principal:
    """The caller the services see for ``user``: never the ORM row, so it outlives the session."""
    inst = user.institution
    return Principal(user.username, user.role, inst.id, inst.code, inst.path)


def principal_named(session: Session, username: str) -> Principal:
    """An active user by name, for commands run on behalf of a user (404 naming ``user`` otherwise)."""
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"user {username} not found or inactive", fields={"user": ["not found"]})
    return principal_of(user)

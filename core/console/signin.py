"""Passwords, sign-in with lockout, and console sessions.

The promise: a password is stored only as a slow, salted, memory-hard hash (scrypt, through
werkzeug's ``generate_password_hash``); a wrong password, an unknown user and a user without a
password get the same answer after the same work, so the answer tells nothing; ``MAX_FAILURES``
failed sign-ins in a row lock the account for ``LOCK_MINUTES`` (audited), and a locked account is
refused even with the right password; a session is a random cookie whose digest is kept, refused
once signed out, expired, or its user deactivated. The clock is injected (``now``), as in
``audit.services``.

Sign-in returns an outcome instead of raising, so the caller commits the failure counter too:
a refused sign-in must still count.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.console.models import ConsoleSession
from nongxin.core.db import UnitOfWork, as_utc
from nongxin.core.errors import NotFound, invalid
from nongxin.core.institutions.models import User
from nongxin.core.institutions.users import principal_of

__all__ = ["LOCK_MINUTES", "MAX_FAILURES", "MIN_PASSWORD", "SESSION_HOURS", "SignIn", "end_session",
           "hash_password", "password_problem", "session_principal", "set_password", "sign_in", "start_session"]

#: Failed sign-ins in a row that lock the account, and for how long.
MAX_FAILURES = 5
LOCK_MINUTES = 15
#: A console session lasts a working day; then one signs in again.
SESSION_HOURS = 10
MIN_PASSWORD = 10
#: scrypt (N=2**15, r=8, p=1: 32 MiB and ~0.1 s per check), salted with 16 random characters.
METHOD = "scrypt"

#: Checked when no user or no password matches, so that answer takes as long as a wrong password.
_DUMMY = generate_password_hash("no such user, no such password", method=METHOD)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD, salt_length=16)


def password_problem(username: str, password: str) -> str | None:
    """Why ``password`` will not do, or None."""
    if len(password) < MIN_PASSWORD:
        return f"use at least {MIN_PASSWORD} characters"
    if len(password) > 200:
        return "use at most 200 characters"
    if len(set(password)) < 4:
        return "use at least 4 different characters"
    if username.lower() in password.lower():
        return "must not contain the user name"
    return None


def set_password(uow: UnitOfWork, username: str, password: str, *, now: datetime, actor: str = "system") -> None:
    """Sets (or replaces) ``username``'s console password; unlocks the account; ends their sessions."""
    user = _user(uow.session, username)
    if user is None:
        raise NotFound(f"user {username} not found", fields={"username": ["not found"]})
    problem = password_problem(username, password)
    if problem:
        raise invalid("password", problem)
    user.password_hash = hash_password(password)
    user.failed_signins = 0
    user.locked_until = None
    uow.session.execute(sa.update(ConsoleSession).where(ConsoleSession.user_id == user.id,
                                                        ConsoleSession.ended_at.is_(None))
                        .values(ended_at=now))
    record(uow.session, actor=actor, action="user.password", target=f"user:{username}",
           institution_code=user.institution.code, after={"password": "set"})


@dataclass(frozen=True)
class SignIn:
    """The outcome: ``token`` and ``principal`` on success; otherwise ``refused`` says why
    (``credentials``: wrong name or password, told apart for no one; ``locked`` with ``until``)."""

    token: str | None = None
    principal: Principal | None = None
    refused: str | None = None
    until: datetime | None = None


def sign_in(uow: UnitOfWork, username: str, password: str, *, now: datetime) -> SignIn:
    """Checks the password and opens a session. The caller commits whatever the outcome."""
    session = uow.session
    user = _user(session, username.strip().lower(), lock=True)  # concurrent failures count one by one
    if user is None or user.password_hash is None or not user.active:
        check_password_hash(_DUMMY, password)
        return SignIn(refused="credentials")
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        check_password_hash(_DUMMY, password)
        record(session, actor=user.username, action="console.signin_refused", target=f"user:{user.username}",
               institution_code=user.institution.code, after={"reason": "locked"})
        return SignIn(refused="locked", until=as_utc(user.locked_until))
    if not check_password_hash(user.password_hash, password):
        failures = user.failed_signins + 1
        user.failed_signins = failures
        record(session, actor=user.username, action="console.signin_failed", target=f"user:{user.username}",
               institution_code=user.institution.code, after={"failures": failures})
        if failures >= MAX_FAILURES:
            until = now + timedelta(minutes=LOCK_MINUTES)
            user.locked_until, user.failed_signins = until, 0
            record(session, actor="system", action="user.lock", target=f"user:{user.username}",
                   institution_code=user.institution.code,
                   after={"failures": failures, "locked_until": until.isoformat()})
            return SignIn(refused="locked", until=until)
        return SignIn(refused="credentials")
    user.failed_signins, user.locked_until = 0, None
    token = start_session(uow, user, now=now)
    record(session, actor=user.username, action="console.signin", target=f"user:{user.username}",
           institution_code=user.institution.code)
    return SignIn(token=token, principal=principal_of(user))


def start_session(uow: UnitOfWork, user: User, *, now: datetime) -> str:
    """A new session for ``user``; returns the cookie value (the only time it exists)."""
    token = secrets.token_urlsafe(32)
    uow.session.add(ConsoleSession(user_id=user.id, token_hash=_digest(token), created_at=now,
                                   expires_at=now + timedelta(hours=SESSION_HOURS)))
    uow.session.flush()
    return token


def session_principal(session: Session, token: str, *, now: datetime) -> Principal | None:
    """The signed-in user of the cookie ``token``, or None (unknown, ended, expired, deactivated)."""
    if not token or len(token) > 100:
        return None
    found = session.execute(sa.select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))
                            ).scalar_one_or_none()
    if found is None or found.ended_at is not None or as_utc(found.expires_at) <= now:
        return None
    if not found.user.active:
        return None
    return principal_of(found.user)


def end_session(uow: UnitOfWork, token: str, *, now: datetime) -> None:
    """Signs out: the cookie is refused from now on. Unknown or ended sessions are left as they are."""
    found = uow.session.execute(sa.select(ConsoleSession).where(ConsoleSession.token_hash == _digest(token))
                                ).scalar_one_or_none()
    if found is None or found.ended_at is not None:
        return
    found.ended_at = now
    record(uow.session, actor=found.user.username, action="console.signout", target=f"user:{found.user.username}",
           institution_code=found.user.institution.code)


def _user(session: Session, username: str, *, lock: bool = False) -> User | None:
    stmt = sa.select(User).where(User.username == username)
    return session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()

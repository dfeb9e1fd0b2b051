"""Work to run once a session's transaction has committed: notifications that must never tell
plugins about something that was then rolled back.

The promise: ``after_commit(session, fn)`` calls ``fn()`` right after the session's outermost
transaction commits, once, in the order queued; a rollback of that transaction (or of the
savepoint ``fn`` was queued in) drops it uncalled. ``fn`` must not touch the session (no
transaction is open when it runs; on SQLite a new write would hold the lock meanwhile); an
exception from it is logged and never turns the committed work into an error.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session, SessionTransaction

__all__ = ["after_commit"]

log = logging.getLogger("nongxin.after_commit")

_PENDING = "nongxin.after_commit.pending"
_LISTENING = "nongxin.after_commit.listening"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Call ``fn`` after ``session``'s outermost transaction commits; never if it rolls back."""
    if not session.info.get(_LISTENING):
        sa.event.listen(session, "after_commit", _fire)
        sa.event.listen(session, "after_soft_rollback", _drop)
        session.info[_LISTENING] = True
    where = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((where, fn))


def _fire(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: its work commits with the outer one
        return
    for _, fn in session.info.pop(_PENDING, []):
        try:
            fn()
        except Exception:  # the work is committed; a notification cannot undo it
            log.exception("after-commit work failed")


def _inside(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    pending: list[tuple[Any, Callable[[], None]]] = session.info.get(_PENDING, [])
    kept = [(t, fn) for t, fn in pending if not _inside(t, previous_transaction)]
    if kept:
        session.info[_PENDING] = kept
    else:
        session.info.pop(_PENDING, None)

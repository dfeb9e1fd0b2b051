"""Loan applications: who may see which, and the one way an application changes state.

Scope first (an application filed outside the caller's subtree is 404, like a missing one), then
the role from the permission table (403). ``transition`` is the only code that sets ``status``:
a move ``TRANSITIONS`` does not allow is 409 naming the current state, and every move is audited.
"""

from __future__ import annotations

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.credit.models import TRANSITIONS, Application, ApplicationStatus
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.errors import Conflict, NotFound
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, require

CLOSED = frozenset({ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN})


def visible_application(uow: UnitOfWork, principal: Principal, application_id: int, action: Action,
                        *, lock: bool = False) -> Application:
    """The application if the caller's subtree holds the institution it was filed at; else 404.
    ``lock`` takes the row for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite's
    writers are serialized already), so two state changes never interleave."""
    stmt = sa.select(Application).where(Application.id == application_id)
    if lock:
        stmt = stmt.with_for_update()
    app = uow.session.execute(stmt).scalar_one_or_none()
    where = uow.session.get(Institution, app.institution_id) if app is not None else None
    if app is None or where is None or not principal.can_see(where):
        raise NotFound(f"application {application_id} not found", fields={"application": ["not found"]})
    require(principal, action)
    return app


def transition(uow: UnitOfWork, app: Application, to: ApplicationStatus, *, actor: str, bank_code: str,
               note: str = "") -> None:
    """Move ``app`` to ``to`` or refuse with 409 naming the state it is in."""
    before = app.status
    if to not in TRANSITIONS[before]:
        raise Conflict(f"application {app.number} is {before.value}; it cannot become {to.value}",
                       code="invalid_state")
    app.status = to
    if to in CLOSED:
        app.closed_at = utcnow()
    record(uow.session, actor=actor, action=f"application.{to.value}", target=f"application:{app.number}",
           institution_code=bank_code, before={"status": before.value},
           after={"status": to.value, **({"note": note} if note else {})})

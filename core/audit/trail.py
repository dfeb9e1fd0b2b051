"""The audit trail searched: filters and pages over the entries of the caller's subtree, for the
admins' console page (``/console/audit``).

The promise: ``search`` checks ``audit.read`` and returns only entries about institutions in the
caller's subtree, as ``services.entries`` does, newest first, one page at a time (keyset paging on
the entry id, so a page costs the same however deep into the trail it lies); ``parse_query`` turns
a page's query parameters into a :class:`TrailQuery` or refuses, naming the parameter and why. An
institution outside the caller's subtree is the same 404 as one that does not exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.models import AuditEntry
from nongxin.core.audit.services import about_subtree
from nongxin.core.auth import Principal
from nongxin.core.errors import invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.permissions import Action, require
from nongxin.sdk.bureau import CHINA

PER_PAGE = 50
ACTION_RE = re.compile(r"^[a-z0-9_.]{1,64}$")
#: Filters, by query parameter, and the longest value each takes.
LENGTHS = {"actor": 64, "action": 64, "target": 200, "institution": 32}


@dataclass(frozen=True)
class TrailQuery:
    """``action`` ending in "." is a family (``user.`` is every user action); ``target`` matches
    from its start (``user:jinan`` finds ``user:jinan.cm``); ``since``/``until`` are China
    calendar days, both included; ``institution`` takes its whole subtree; ``before`` is the id
    the page starts below (None: the newest)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    institution: str | None = None
    since: date | None = None
    until: date | None = None
    before: int | None = None

    def params(self) -> dict[str, str]:
        """The filters as query parameters (without ``before``), for the next page's link."""
        values = {"actor": self.actor, "action": self.action, "target": self.target,
                  "institution": self.institution, "since": self.since, "until": self.until}
        return {k: str(v) for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class TrailPage:
    entries: list[AuditEntry]
    older: int | None  # ``before`` for the next (older) page; None: this is the last


def _day(args: Mapping[str, str], name: str) -> date | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise invalid(name, f"{text[:20]!r} is not a date (YYYY-MM-DD)") from None


def parse_query(args: Mapping[str, str]) -> TrailQuery:
    """A page's query parameters as a query; empty ones are no filter."""
    found: dict[str, str | None] = {}
    for name, longest in LENGTHS.items():
        text = args.get(name, "").strip()
        if len(text) > longest:
            raise invalid(name, f"at most {longest} characters")
        found[name] = text or None
    if found["action"] is not None and not ACTION_RE.match(found["action"]):
        raise invalid("action", "an action is lower-case letters, digits, '_' and '.' (e.g. user.lock, or user.)")
    if found["institution"] is not None and not institutions.CODE_RE.match(found["institution"]):
        raise invalid("institution", "an institution code is 1-32 letters, digits, '-' or '_'")
    since, until = _day(args, "since"), _day(args, "until")
    if since and until and since > until:
        raise invalid("until", "the last day comes before the first day")
    before_text = args.get("before", "").strip()
    before = None
    if before_text:
        if not before_text.isdigit() or not 0 < int(before_text) < 2**63:
            raise invalid("before", "a page starts below a positive entry number")
        before = int(before_text)
    return TrailQuery(actor=found["actor"], action=found["action"], target=found["target"],
                      institution=found["institution"], since=since, until=until, before=before)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), CHINA).astimezone(timezone.utc)


def search(session: Session, principal: Principal, query: TrailQuery, *, per_page: int = PER_PAGE) -> TrailPage:
    """One page of the entries of the caller's subtree that pass every filter, newest first."""
    require(principal, Action.AUDIT_READ)
    top = principal.institution_path
    if query.institution is not None:
        top = institutions.visible(session, principal, query.institution).path
    stmt = sa.select(AuditEntry).where(about_subtree(top))
    if query.actor is not None:
        stmt = stmt.where(AuditEntry.actor == query.actor)
    if query.action is not None:
        stmt = stmt.where(AuditEntry.action.startswith(query.action, autoescape=True)
                          if query.action.endswith(".") else AuditEntry.action == query.action)
    if query.target is not None:
        stmt = stmt.where(AuditEntry.target.startswith(query.target, autoescape=True))
    if query.since is not None:
        stmt = stmt.where(AuditEntry.at >= _start_of(query.since))
    if query.until is not None:
        stmt = stmt.where(AuditEntry.at < _start_of(query.until + timedelta(days=1)))
    if query.before is not None:
        stmt = stmt.where(AuditEntry.id < query.before)
    rows = list(session.execute(stmt.order_by(AuditEntry.id.desc()).limit(per_page + 1)).scalars())
    older = rows[per_page - 1].id if len(rows) > per_page else None
    return TrailPage(rows[:per_page], older)

"""Court lists (法院被执行人 / 限制高消费 / 失信被执行人) loaded from files, API rows or connectors.

The promises:

* All or nothing: every row is checked first (identity number by the SDK's checks, resident ID or
  USCC; name and case number present; ``listed_on`` a date; ``delisted_on`` empty or a date not
  before it; no second row for the same identity number and case in one load); when any row is
  bad nothing is written and every bad row is reported with its line number and reason.
* Idempotent on (county bank, kind, identity number, case number): loading a row again updates
  the entry in place (e.g. sets ``delisted_on``), never adds a second one. That holds for the
  province's own lists too (county bank NULL), which the unique constraint cannot see, so the
  importer matches existing entries itself, and two loads into one list wait for each other
  (PostgreSQL advisory lock; SQLite serializes writers already).
* A county admin loads for their own county bank (also when filed at one of its branches); the
  province admin for the whole province
  (no county) or a named county bank; another county bank's code is "not found".
* One audit entry per load with its counts; identity numbers never enter the audit trail.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.collateral.scan import county_banks
from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.early_warning.feeds import COURT_FACTS
from nongxin.core.early_warning.models import WatchlistEntry
from nongxin.core.errors import NotFound, ValidationFailed
from nongxin.core.importing import Row, Table
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.permissions import Action, require
from nongxin.core.schemas import CONTROL
from nongxin.core.scoping import PAGE, page
from nongxin.sdk.identity import InvalidIdentity, normalize, validate_resident_id, validate_uscc

__all__ = ["COLUMNS", "KINDS", "LoadReport", "RowError", "WatchlistRejected", "listing", "load", "rows_table",
           "target_bank"]

COLUMNS = ("id_number", "name", "case_no", "court", "listed_on", "delisted_on")
KINDS = tuple(COURT_FACTS)
_LOCK_BASE = 0x6E78_1300  # + crc32 of (county bank, kind): one lock per list


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class LoadReport:
    kind: str
    county_bank: str | None  # None: the whole province
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "county_bank": self.county_bank, "added": self.added, "updated": self.updated,
                "unchanged": self.unchanged}


class WatchlistRejected(ValidationFailed):
    """Bad rows stopped the load; nothing was written. Carries every row's reason."""

    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError], source: str) -> None:
        shown = "; ".join(str(e) for e in errors[:50])
        more = f"; and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing loaded: {shown}{more}",
                         fields={f"line {e.line}": [e.reason] for e in errors})
        self.errors = list(errors)


@dataclass(frozen=True)
class _Entry:
    id_number: str
    name: str
    case_no: str
    court: str
    listed_on: date
    delisted_on: date | None


def rows_table(rows: Iterable[dict[str, object]]) -> Table:
    """Rows given as mappings (API JSON, connector feeds) as a table: row n is "line" n + 1, as if
    under a header line; a value for an unknown column is that row's error."""
    table = Table(COLUMNS)
    for number, values in enumerate(rows, start=2):
        unknown = sorted(str(k) for k in values if k not in COLUMNS)
        cells = {c: "" if values.get(c) is None else str(values.get(c)) for c in COLUMNS}
        error = f"unknown column(s) {', '.join(unknown)}; expected: {', '.join(COLUMNS)}" if unknown else None
        table.rows.append(Row(number, cells, error))
    return table


def target_bank(session: Session, principal: Principal, county: str | None) -> Institution | None:
    """The county bank a load is for (None: the province's own list), as the caller may load it."""
    require(principal, Action.WATCHLIST_IMPORT)
    caller = session.get(Institution, principal.institution_id)
    assert caller is not None
    own = institutions.county_bank_of(session, caller) if caller.level is not Level.PROVINCE else None
    if county is None:
        if caller.level is Level.PROVINCE:
            return None
        if own is None:
            raise ValidationFailed("county: name the county bank the list is for", fields={"county": ["required"]})
        return own
    bank = institutions.get_by_code(session, county.strip())
    if bank is None or bank.level is not Level.COUNTY or not (principal.can_see(bank) or bank == own):
        raise NotFound(f"county bank {county} not found", fields={"county": ["no such county bank"]})
    return bank


def _identity(raw: str) -> str:
    number = normalize(raw)
    if not number:
        raise InvalidIdentity("bad_length", "id_number: required")
    try:
        return validate_resident_id(number)
    except InvalidIdentity as as_person:
        try:
            return validate_uscc(number)
        except InvalidIdentity as as_company:
            looks_like_person = number[:-1].isdigit()
            raise (as_person if looks_like_person else as_company) from None


def _day(raw: str, name: str, *, required: bool) -> date | None:
    text = raw.strip()
    if not text:
        if required:
            raise ValueError(f"{name}: required (YYYY-MM-DD)")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def _check(row: Row) -> _Entry:
    v = row.values
    try:
        number = _identity(v["id_number"])
    except InvalidIdentity as exc:
        text = str(exc)
        raise ValueError(text if text.startswith("id_number") else f"id_number: {text}") from None
    name, case_no, court = v["name"].strip(), v["case_no"].strip(), v["court"].strip()
    for label, text, limit in (("name", name, 100), ("case_no", case_no, 64), ("court", court, 100)):
        if label != "court" and not text:
            raise ValueError(f"{label}: required")
        if len(text) > limit:
            raise ValueError(f"{label}: longer than {limit} characters")
        if (bad := CONTROL.search(text)) is not None:
            raise ValueError(f"{label}: must not contain control, escape or bidi characters (found U+{ord(bad.group()):04X})")
    listed = _day(v["listed_on"], "listed_on", required=True)
    assert listed is not None
    delisted = _day(v["delisted_on"], "delisted_on", required=False)
    if delisted is not None and delisted < listed:
        raise ValueError(f"delisted_on: {delisted} is before listed_on {listed}")
    return _Entry(number, name, case_no, court, listed, delisted)


def _lock(session: Session, bank: Institution | None, kind: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        key = _LOCK_BASE + zlib.crc32(f"{bank.id if bank else 0}:{kind}".encode()) % 0xFFFF
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def check_rows(table: Table) -> tuple[list[_Entry], list[RowError]]:
    """Every row checked; the good entries and every bad row's reason."""
    entries: list[_Entry] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for row in table.rows:
        if row.error:
            errors.append(RowError(row.line, row.error))
            continue
        try:
            entry = _check(row)
        except ValueError as exc:
            errors.append(RowError(row.line, str(exc)))
            continue
        key = (entry.id_number, entry.case_no)
        if key in seen:
            errors.append(RowError(row.line, f"the same id_number and case_no as line {seen[key]}"))
            continue
        seen[key] = row.line
        entries.append(entry)
    return entries, errors


def load(uow: UnitOfWork, principal: Principal, table: Table, *, kind: str, county: str | None,
         source: str) -> LoadReport:
    """Load ``table`` into the ``kind`` list of the target county bank (or the province): all rows
    or none; commits when every row is good, else raises :class:`WatchlistRejected` with the
    database as it was."""
    if kind not in KINDS:
        raise ValidationFailed(f"kind: {kind!r} is not a court list; expected one of {', '.join(KINDS)}",
                               fields={"kind": [f"one of {', '.join(KINDS)}"]})
    session = uow.session
    bank = target_bank(session, principal, county)
    entries, errors = check_rows(table)
    if errors:
        uow.rollback()
        raise WatchlistRejected(errors, source)
    report = LoadReport(kind, bank.code if bank else None)
    _lock(session, bank, kind)
    bank_id = bank.id if bank else None
    where = WatchlistEntry.county_bank_id.is_(None) if bank_id is None else WatchlistEntry.county_bank_id == bank_id
    existing: dict[tuple[str, str], WatchlistEntry] = {}
    numbers = sorted({e.id_number for e in entries})
    for start in range(0, len(numbers), 500):
        for held in session.execute(sa.select(WatchlistEntry).where(
                where, WatchlistEntry.kind == kind, WatchlistEntry.id_number.in_(numbers[start:start + 500]))).scalars():
            existing[(held.id_number, held.case_no)] = held
    now = utcnow()
    for e in entries:
        held = existing.get((e.id_number, e.case_no))
        if held is None:
            session.add(WatchlistEntry(county_bank_id=bank_id, kind=kind, id_number=e.id_number, name=e.name,
                                       case_no=e.case_no, court=e.court, listed_on=e.listed_on,
                                       delisted_on=e.delisted_on, source=source[:100],
                                       loaded_by=principal.username, loaded_at=now))
            report.added += 1
        elif (held.name, held.court, held.listed_on, held.delisted_on) != (e.name, e.court, e.listed_on, e.delisted_on):
            held.name, held.court, held.listed_on, held.delisted_on = e.name, e.court, e.listed_on, e.delisted_on
            held.source, held.loaded_by, held.loaded_at = source[:100], principal.username, now
            report.updated += 1
        else:
            report.unchanged += 1
    record(session, actor=principal.username, action="watchlist.import", target=f"watchlist:{kind}",
           institution_code=bank.code if bank else principal.institution_code,
           after={**report.as_dict(), "source": source, "rows": len(entries)})
    uow.commit()
    return report


def listing(uow: UnitOfWork, principal: Principal, *, kind: str | None = None, id_number: str | None = None,
            limit: int = PAGE, offset: int = 0) -> list[tuple[WatchlistEntry, str | None]]:
    """The entries the caller's county banks see (their own lists and the province's), newest
    listing first, each with its county bank's code (None: the province's list). ``warning.read``:
    whoever follows up a warning may see the list entry that raised it."""
    require(principal, Action.WARNING_READ)
    session = uow.session
    caller = session.get(Institution, principal.institution_id)
    assert caller is not None
    banks = {b.id: b.code for b in county_banks(session, caller)}
    stmt = sa.select(WatchlistEntry).where(sa.or_(WatchlistEntry.county_bank_id.in_(list(banks)),
                                                  WatchlistEntry.county_bank_id.is_(None)))
    if kind:
        stmt = stmt.where(WatchlistEntry.kind == kind)
    if id_number:
        stmt = stmt.where(WatchlistEntry.id_number == normalize(id_number))
    stmt = page(stmt.order_by(WatchlistEntry.listed_on.desc(), WatchlistEntry.id.desc()), limit, offset)
    return [(e, banks.get(e.county_bank_id) if e.county_bank_id is not None else None)
            for e in session.execute(stmt).scalars()]

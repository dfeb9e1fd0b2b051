"""Credit-bureau queries: consent first, then cache, then the provider plugin; everything logged.

The order of checks is the product's promise: the identity number is validated before anything
else, no provider is called without a live authorization of this county bank covering the purpose
(post-loan management of an existing borrower excepted), and every query or cache reuse leaves a row
in the append-only log. Refusals write nothing (a failed request leaves the database as it was);
they are logged by the application logger for the security team.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit import chain
from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.bureau.models import QUERY_LOG_CHAIN, BureauAuthorization, BureauQueryLog, BureauReportCache
from nongxin.core.clock import CHINA
from nongxin.core.config import Settings
from nongxin.core.credit.models import OPEN_STATUSES, CreditLine, CreditLineStatus, Loan
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork, as_utc, utcnow
from nongxin.core.errors import Forbidden, NotFound, ValidationFailed, field_error, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, may, require
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk.bureau import (
    AuthorizationRef, BureauReport, BureauSubject, BureauSummary, Purpose, Refusal, report_from_dict,
    summarize, to_dict,
)
from nongxin.sdk.identity import IdentityKind, InvalidIdentity, mask_identity, validate_identity

log = logging.getLogger("nongxin.bureau")

CHANNELS = ("paper", "electronic")
#: What a query is for: an application, a loan (post-loan), a peer review round (the bureau's
#: override of a household's colour), a credit line (the annual review, 年检).
FOR_KINDS = ("application", "loan", "review_round", "credit_line")


@dataclass(frozen=True)
class SubjectInput:
    kind: str
    id_number: str
    name: str


def parse_purpose(code: str) -> Purpose:
    try:
        return Purpose(code)
    except ValueError:
        allowed = ", ".join(f"{p.value} ({p.label_en})" for p in Purpose)
        raise invalid("purpose", f"{code!r} is not a query-reason code; allowed: {allowed}") from None


def parse_subject(subject: SubjectInput, today: date | None = None) -> BureauSubject:
    """Validate the identity number first: a typo must never reach the bureau. ``today`` (the
    business date) also refuses a birth date after it."""
    try:
        kind = IdentityKind(subject.kind)
    except ValueError:
        raise invalid("subject.kind", f"{subject.kind!r} is not one of "
                      f"{', '.join(k.value for k in IdentityKind)}") from None
    try:
        validate_identity(kind, subject.id_number, today=today)
    except InvalidIdentity as exc:
        raise field_error("subject.id_number", exc) from None
    if not subject.name.strip():
        raise invalid("subject.name", "must not be empty")
    return BureauSubject(kind, subject.id_number, subject.name.strip())


def county_bank(uow: UnitOfWork, principal: Principal) -> Institution:
    """Consent and reports belong to a county bank; the caller must work inside one."""
    here = institutions.visible(uow.session, principal, principal.institution_code)
    bank = institutions.county_bank_of(uow.session, here)
    if bank is None:
        raise Forbidden("credit-bureau work is done by a county bank; "
                        f"{principal.institution_code} is not inside one", code="not_in_county_bank")
    return bank


# -- authorizations --------------------------------------------------------------------------

def record_authorization(
    uow: UnitOfWork, principal: Principal, settings: Settings, *, subject: SubjectInput,
    purposes: list[str], channel: str, evidence_ref: str, evidence_sha256: str,
    face_verified: bool = False, granted_at: datetime | None = None, expires_at: datetime | None = None,
    today: date | None = None,
) -> BureauAuthorization:
    """``today`` is the business date (for the identity number's birth-date check)."""
    parsed = parse_subject(subject, today)
    require(principal, Action.BUREAU_AUTHORIZE)
    if not purposes:
        raise invalid("purposes", "name at least one purpose code")
    codes = sorted({parse_purpose(p).value for p in purposes})
    if channel not in CHANNELS:
        raise invalid("channel", f"{channel!r} is not one of {', '.join(CHANNELS)}")
    if channel == "electronic" and not face_verified:
        raise invalid("face_verified", "an electronic authorization needs face verification")
    if len(evidence_sha256) != 64 or any(c not in "0123456789abcdef" for c in evidence_sha256.lower()):
        raise invalid("evidence.sha256", "must be the 64-hex-digit SHA-256 of the evidence file")
    if not evidence_ref.strip():
        raise invalid("evidence.ref", "must say where the signed letter or recording is stored")
    granted = _granted(granted_at)
    expires = as_utc(expires_at) if expires_at else granted + timedelta(days=settings.bureau_authorization_days)
    if expires <= granted:
        raise invalid("expires_at", "must be after granted_at")
    bank = county_bank(uow, principal)
    auth = BureauAuthorization(
        county_bank_id=bank.id, subject_kind=parsed.kind.value, id_number=parsed.id_number,
        subject_name=parsed.name, purposes=codes, channel=channel, face_verified=face_verified,
        evidence_ref=evidence_ref.strip(), evidence_sha256=evidence_sha256.lower(),
        granted_at=granted, expires_at=expires, recorded_by=principal.username,
    )
    uow.session.add(auth)
    uow.flush()
    record(uow.session, actor=principal.username, action="bureau.authorization.record",
           target=f"authorization:{auth.id}", institution_code=bank.code,
           after={"subject": mask_identity(parsed.id_number), "purposes": codes, "channel": channel,
                  "expires_at": expires.isoformat()})
    return auth


#: A device clock this far ahead of the server is skew, not a future consent: read as "now".
CLOCK_SKEW = timedelta(seconds=60)


def _granted(granted_at: datetime | None) -> datetime:
    """When consent was given. A subject cannot sign in the future: a time ahead of the server by
    more than the clock skew is invalid input, not an authorization that starts later."""
    now = utcnow()
    if granted_at is None:
        return now
    granted = as_utc(granted_at)
    if granted > now + CLOCK_SKEW:
        raise invalid("granted_at", f"must not be in the future (server time {now:%Y-%m-%dT%H:%M:%SZ})")
    return min(granted, now)


def same_name(a: str, b: str) -> bool:
    """Names compare without surrounding or inner blanks (ASCII or full-width) and case."""
    def norm(name: str) -> str:
        return "".join(name.split()).casefold()  # split() also splits on the full-width space

    return norm(a) == norm(b)


def _name_mismatch(subject: BureauSubject, on_record: str, where: str) -> ValidationFailed:
    log.warning("bureau query refused: name_mismatch for %s against %s", mask_identity(subject.id_number), where)
    return ValidationFailed(
        f"subject.name: {subject.name!r} does not match the name on the {where} for this identity number",
        code="name_mismatch", fields={"subject.name": [f"does not match the name on the {where}"]})


def get_authorization(uow: UnitOfWork, principal: Principal, auth_id: int) -> BureauAuthorization:
    auth = _visible_authorization(uow, principal, auth_id)
    require(principal, Action.BUREAU_AUTHORIZATION_READ)
    return auth


def _visible_authorization(uow: UnitOfWork, principal: Principal, auth_id: int) -> BureauAuthorization:
    auth = uow.session.get(BureauAuthorization, auth_id)
    if auth is None or not _above(principal, auth.county_bank):
        raise NotFound(f"authorization {auth_id} not found")
    return auth


def _above(principal: Principal, bank: Institution) -> bool:
    """A customer manager at a branch still works for the county bank that holds the consent."""
    return bank.path.startswith(principal.institution_path) or principal.institution_path.startswith(bank.path)


def list_authorizations(uow: UnitOfWork, principal: Principal, id_number: str | None = None) -> list[BureauAuthorization]:
    require(principal, Action.BUREAU_AUTHORIZATION_READ)
    banks = _banks_for(uow, principal)
    stmt = sa.select(BureauAuthorization).where(BureauAuthorization.county_bank_id.in_([b.id for b in banks]))
    if id_number:
        stmt = stmt.where(BureauAuthorization.id_number == id_number.strip().upper())
    return list(uow.session.execute(stmt.order_by(BureauAuthorization.id.desc())).scalars())


def revoke_authorization(uow: UnitOfWork, principal: Principal, auth_id: int) -> BureauAuthorization:
    auth = _visible_authorization(uow, principal, auth_id)
    require(principal, Action.BUREAU_AUTHORIZATION_REVOKE)
    if auth.revoked_at is not None:
        raise ValidationFailed(f"authorization {auth_id} was already revoked", code="already_revoked",
                               fields={"authorization": ["already revoked"]})
    auth.revoked_at, auth.revoked_by = utcnow(), principal.username
    record(uow.session, actor=principal.username, action="bureau.authorization.revoke",
           target=f"authorization:{auth.id}", institution_code=auth.county_bank.code)
    return auth


def _banks_for(uow: UnitOfWork, principal: Principal) -> list[Institution]:
    """County banks whose bureau records the caller may read: its own, or all in its subtree."""
    here = institutions.visible(uow.session, principal, principal.institution_code)
    own = institutions.county_bank_of(uow.session, here)
    if own is not None:
        return [own]
    from nongxin.core.institutions.models import Level

    return [i for i in institutions.subtree(uow.session, here) if i.level is Level.COUNTY]


def authorization_ref(row: BureauAuthorization) -> AuthorizationRef:
    """The consent as the SDK states it, so the core and a provider check it with one function.

    The last covered day is the local date of the last covered instant: a letter expiring at
    midnight covers the day before, one expiring at 10:00 covers that whole day."""
    return AuthorizationRef(
        str(row.id), row.id_number, tuple(Purpose(p) for p in row.purposes),
        as_utc(row.granted_at).astimezone(CHINA).date(),
        (as_utc(row.expires_at) - timedelta(microseconds=1)).astimezone(CHINA).date(),
        row.evidence_sha256, revoked=row.revoked_at is not None, signed_at=as_utc(row.granted_at))


#: When several authorizations cover the purpose but none is live, the most telling reason wins.
_REFUSAL_ORDER = (Refusal.REVOKED, Refusal.EXPIRED, Refusal.NOT_YET_VALID)


def _consents(uow: UnitOfWork, bank: Institution, subject: BureauSubject,
              purpose: Purpose) -> tuple[list[BureauAuthorization], set[Refusal]]:
    """The authorizations of ``bank`` live now for ``subject`` and ``purpose``, and why the others
    are not (the one check, ``AuthorizationRef.refusal``)."""
    rows = list(uow.session.execute(sa.select(BureauAuthorization).where(
        BureauAuthorization.county_bank_id == bank.id,
        BureauAuthorization.id_number == subject.id_number)).scalars())
    now = utcnow()
    answers = [(row, authorization_ref(row).refusal(subject, purpose, now)) for row in rows]
    return [row for row, refusal in answers if refusal is None], {r for _, r in answers if r is not None}


def consent_refusal(uow: UnitOfWork, bank: Institution, subject: BureauSubject, purpose: Purpose) -> Refusal | None:
    """Why no live authorization of ``bank`` covers querying ``subject`` for ``purpose`` now, or
    None when one does: the check ``query`` makes, without raising and without writing (the
    decision asks it before anything is queried). A name mismatch is left to ``query``."""
    live, reasons = _consents(uow, bank, subject, purpose)
    if live:
        return None
    return next((r for r in _REFUSAL_ORDER if r in reasons), Refusal.PURPOSE_NOT_COVERED)


def _live_authorization(uow: UnitOfWork, bank: Institution, subject: BureauSubject, purpose: Purpose) -> BureauAuthorization:
    live, reasons = _consents(uow, bank, subject, purpose)
    if live:
        named = [a for a in live if same_name(a.subject_name, subject.name)]
        if not named:
            raise _name_mismatch(subject, live[0].subject_name, "authorization")
        return max(named, key=lambda a: as_utc(a.expires_at))
    for reason in _REFUSAL_ORDER:
        if reason in reasons:
            raise Forbidden(f"the authorization for purpose {purpose.value} {_REFUSAL_TEXT[reason]}",
                            code=reason.value)
    raise Forbidden(f"no authorization of {bank.code} covers purpose {purpose.value} ({purpose.label_en}) "
                    "for this subject", code=Refusal.PURPOSE_NOT_COVERED.value)


_REFUSAL_TEXT = {Refusal.REVOKED: "was revoked", Refusal.EXPIRED: "has expired",
                 Refusal.NOT_YET_VALID: "is not valid yet"}


# -- queries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueryResult:
    entry: BureauQueryLog
    report: BureauReport | None
    summary: BureauSummary | None

    @property
    def usable(self) -> bool:
        """Only a report may support a decision; a failure or missing provider never does."""
        return self.report is not None


def query(
    uow: UnitOfWork, principal: Principal, directory: PluginDirectory, settings: Settings, *,
    subject: SubjectInput, purpose: str, for_kind: str, for_ref: str, today: date | None = None,
) -> QueryResult:
    """``today``: the business date the report is summarized at (default: the directory's clock)."""
    as_of = today or directory.clock.business_date()
    parsed = parse_subject(subject, as_of)
    reason = parse_purpose(purpose)
    if for_kind not in FOR_KINDS:
        raise invalid("for.kind", f"{for_kind!r} is not one of {', '.join(FOR_KINDS)}")
    if not for_ref.strip():
        raise invalid("for.ref", "name the application or loan the report is for")
    require(principal, Action.BUREAU_QUERY)
    bank = county_bank(uow, principal)
    try:
        authorization = _admit(uow, bank, parsed, reason, for_kind, for_ref)
    except Forbidden as exc:
        log.warning("bureau query refused: %s by %s at %s for %s purpose %s", exc.code, principal.username,
                    bank.code, mask_identity(parsed.id_number), reason.value)
        raise
    entry = BureauQueryLog(
        operator=principal.username, institution_code=principal.institution_code, county_bank_code=bank.code,
        subject_kind=parsed.kind.value, id_number=parsed.id_number, purpose=reason.value,
        authorization_id=authorization.id if authorization else None, for_kind=for_kind,
        for_ref=for_ref.strip(), outcome="", at=utcnow(),
    )
    started = time.perf_counter()
    cached = _fresh_report(uow, bank, parsed, settings)
    if cached is not None:
        report = report_from_dict(cached.report)
        entry.outcome, entry.provider, entry.report_id = "reused", cached.provider, cached.report_id
    else:
        report = _fetch(uow, directory, bank, parsed, reason, authorization, entry)
    entry.duration_ms = int((time.perf_counter() - started) * 1000)
    chain.append(uow.session, QUERY_LOG_CHAIN, entry)  # last: the chain's head is locked until commit
    return QueryResult(entry, report, summarize(report, as_of) if report else None)


def _admit(uow: UnitOfWork, bank: Institution, subject: BureauSubject, purpose: Purpose,
           for_kind: str, for_ref: str) -> BureauAuthorization | None:
    if purpose.needs_authorization:
        return _live_authorization(uow, bank, subject, purpose)
    _post_loan(uow, bank, subject, for_kind, for_ref.strip())
    return None


#: What post-loan management (01) is done for: (its name, the states that admit it, what a refusal needs).
POST_LOAN_OBJECTS = {"loan": ("loan", OPEN_STATUSES, "an open loan"),
                     "credit_line": ("credit line", frozenset({CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN}),
                                     "a held (active or frozen) line")}


def _post_loan(uow: UnitOfWork, bank: Institution, subject: BureauSubject, for_kind: str, ref: str) -> None:
    """Post-loan management (01) needs no new consent only for the loan, or the credit line (its
    annual review), it names: it must exist at this bank (another bank's counts as none), be this
    subject's, and be open (a loan) or held (a line)."""
    if for_kind not in POST_LOAN_OBJECTS:
        raise invalid("for.kind", "post-loan management (01) is done for a loan or a credit line: send {\"kind\": "
                      "\"loan\", \"ref\": LOAN_NO} or {\"kind\": \"credit_line\", \"ref\": LINE_NO}")
    what, live, needs = POST_LOAN_OBJECTS[for_kind]
    stmt = (sa.select(Loan.status, Loan.borrower_id_number, Loan.borrower_name).where(
        Loan.county_bank_id == bank.id, Loan.loan_no == ref) if for_kind == "loan" else
        sa.select(CreditLine.status, Customer.id_number, Customer.name).join(
            Customer, Customer.id == CreditLine.customer_id).where(
            CreditLine.county_bank_id == bank.id, CreditLine.number == ref))
    found = uow.session.execute(stmt).one_or_none()
    short = "loan" if for_kind == "loan" else "line"
    if found is None:
        raise ValidationFailed(f"for.ref: no {what} {ref} at {bank.code}", code=f"{short}_not_found",
                               fields={"for.ref": [f"no {what} {ref} at {bank.code}"]})
    status, id_number, name = found
    if id_number != subject.id_number:
        raise ValidationFailed(f"for.ref: {what} {ref} is not this subject's", code=f"{short}_of_another_subject",
                               fields={"for.ref": [f"the {what}'s {'borrower' if short == 'loan' else 'customer'} "
                                                   "has another identity number"]})
    if status not in live:
        raise Forbidden(f"{what} {ref} is {status.value}; post-loan management (01) needs {needs} at {bank.code}",
                        code="no_loan_at_bank")
    if not same_name(name, subject.name):
        raise _name_mismatch(subject, name, what)


def _fresh_report(uow: UnitOfWork, bank: Institution, subject: BureauSubject, settings: Settings) -> BureauReportCache | None:
    since = utcnow() - timedelta(days=settings.bureau_stale_days)
    return uow.session.execute(sa.select(BureauReportCache).where(
        BureauReportCache.county_bank_id == bank.id, BureauReportCache.id_number == subject.id_number,
        BureauReportCache.fetched_at >= since).order_by(BureauReportCache.fetched_at.desc()).limit(1)).scalar_one_or_none()


def _fetch(uow: UnitOfWork, directory: PluginDirectory, bank: Institution,
           subject: BureauSubject, purpose: Purpose, authorization: BureauAuthorization | None,
           entry: BureauQueryLog) -> BureauReport | None:
    """Ask the provider through the dispatch layer, which applies the bureau timeout
    (``NONGXIN_BUREAU_TIMEOUT_SECONDS``): a provider that overruns is a failure feeding its breaker."""
    view = directory.view(uow.session, bank)
    ref = authorization_ref(authorization) if authorization is not None else None
    result = view.first("nongxin_bureau_query", expect=BureauReport, subject=subject, purpose=purpose,
                        authorization=ref)
    if result.failures:
        failure = result.failures[0]
        entry.outcome, entry.provider, entry.error = "failed", failure.plugin, failure.error[:500]
        return None
    if not result.values:
        entry.outcome, entry.error = "no_provider", f"no bureau provider is enabled at {bank.code}"
        return None
    report = result.values[0]
    entry.outcome, entry.provider, entry.report_id = "fetched", report.provider, report.report_id
    uow.session.add(BureauReportCache(county_bank_id=bank.id, id_number=subject.id_number, report_id=report.report_id,
                                      provider=report.provider, report=to_dict(report)))
    return report


# -- the log ---------------------------------------------------------------------------------

def _log_query(uow: UnitOfWork, principal: Principal, action: Action, *, county_bank_code: str | None = None,
               id_number: str | None = None, purpose: str | None = None, since: date | None = None,
               until: date | None = None) -> Any:
    codes = [b.code for b in _banks_for(uow, principal)]
    if county_bank_code is not None:
        if county_bank_code not in codes:
            raise NotFound(f"institution {county_bank_code} not found")
        codes = [county_bank_code]
    require(principal, action)
    stmt = sa.select(BureauQueryLog).where(BureauQueryLog.county_bank_code.in_(codes))
    if id_number:
        stmt = stmt.where(BureauQueryLog.id_number == id_number.strip().upper())
    if purpose:
        stmt = stmt.where(BureauQueryLog.purpose == parse_purpose(purpose).value)
    if since:
        stmt = stmt.where(BureauQueryLog.at >= _day_start(since))
    if until:
        stmt = stmt.where(BureauQueryLog.at < _day_start(until + timedelta(days=1)))
    return stmt


def list_log(uow: UnitOfWork, principal: Principal, *, limit: int = 200, **filters: Any) -> list[BureauQueryLog]:
    stmt = _log_query(uow, principal, Action.BUREAU_LOG_READ, **filters)
    return list(uow.session.execute(stmt.order_by(BureauQueryLog.id.desc()).limit(limit)).scalars())


def count_queries(uow: UnitOfWork, principal: Principal, **filters: Any) -> list[dict[str, Any]]:
    """How many times each subject was queried per purpose (and how) in the period: the question
    a subject's complaint or a regulator's inspection asks."""
    inner = _log_query(uow, principal, Action.BUREAU_LOG_COUNT, **filters).subquery()
    stmt = (sa.select(inner.c.id_number, inner.c.purpose, inner.c.outcome, sa.func.count().label("n"))
            .group_by(inner.c.id_number, inner.c.purpose, inner.c.outcome)
            .order_by(inner.c.id_number, inner.c.purpose, inner.c.outcome))
    return [dict(row._mapping) for row in uow.session.execute(stmt)]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc)


def shows_full_id(principal: Principal) -> bool:
    return may(principal, Action.BUREAU_FULL_ID)


def evidence_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()

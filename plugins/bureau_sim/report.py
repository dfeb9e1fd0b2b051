"""Deterministic, realistic simulated credit reports for demos, tests and training.

The same subject and ``as_of`` always give the same report, seeded from a SHA-256 of the kind and
number, so a demo can be rehearsed and a failing test reproduced. Dates are relative to ``as_of``.

Without a marker, a subject draws a profile: about 70% clean, 17% with a few late months in the
past, 5% currently overdue (special mention), 5% with non-performing loans (half of them also with
court records), 3% clean loans but a court enforcement record. People under 18 on ``as_of``
have no credit history at all (unless a marker says otherwise).

Markers, read from characters 15-17 (the resident ID's sequence number; the same positions of a
USCC), override the draw:

====== ======================================================================================
``999`` blacklisted: open dishonest-debtor (失信), enforcement and consumption-restriction
        records, at least one non-performing loan (doubtful or loss), overdue now, worst 180+ days
``998`` always clean: loans and cards all normal, no overdue ever, no public records, at most
        two queries in 12 months and none for new credit in the last 3 months
``997`` late in the past, fine now: one or two months coded 1 or 2 in a loan's history
        (worst_overdue_days_24m 1-31), nothing overdue now, no non-performing loans, no public
        records
``996`` thin file (白户): no loans, cards, guarantees, queries or public records
``995`` credit-hungry (多头借贷): otherwise clean, but 6 new-credit queries in the last month and
        10 in the last 3 months
====== ======================================================================================

:func:`nongxin.sdk.identity.make_resident_id` builds such numbers, e.g.
``make_resident_id("330521", date(1980, 5, 1), 999)``.
"""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from nongxin.sdk.bureau import (
    BureauReport, BureauSubject, CreditCard, FiveTier, Guarantee, LoanAccount, LoanKind,
    PublicRecord, PublicRecordKind, Purpose, QueryRecord, RecordStatus,
)
from nongxin.sdk.identity import IdentityKind, birth_date

__all__ = ["MARKERS", "SIMULATED_PROVIDER_NAME", "marker_of", "simulate_report"]

SIMULATED_PROVIDER_NAME = "bureau_sim"

MARKERS: dict[str, str] = {
    "999": "blacklisted",
    "998": "clean",
    "997": "past_overdue",
    "996": "thin_file",
    "995": "credit_hungry",
}

_PROFILES = ("clean", "past_overdue", "current_overdue", "non_performing", "enforcement_only")
_PROFILE_WEIGHTS = (70, 17, 5, 5, 3)

_LENDERS = (
    ("rural_bank", "青禾农村商业银行"), ("rural_bank", "东山农村商业银行"),
    ("village_bank", "南溪村镇银行"), ("commercial_bank", "城南商业银行"),
    ("microfinance", "汇通小额贷款有限公司"),
    ("consumer_finance", "安信消费金融有限公司"),
)
_COURTS = ("青禾县人民法院", "东山县人民法院", "南溪市中级人民法院")
_CHINA = timezone(timedelta(hours=8))
_CENT = Decimal("0.01")

# kind weight, credit amount range (yuan, in thousands), term range (months)
_LOAN_KINDS = (
    (LoanKind.FARM, 45, (20, 300), (12, 36)),
    (LoanKind.CONSUMER, 25, (10, 200), (12, 60)),
    (LoanKind.BUSINESS, 20, (50, 1000), (12, 60)),
    (LoanKind.MORTGAGE, 10, (200, 1200), (120, 360)),
)


def marker_of(subject: BureauSubject) -> str | None:
    """The marker profile a subject's characters 15-17 select, or None for a drawn profile."""
    return MARKERS.get(subject.id_number[14:17])


def _is_minor(subject: BureauSubject, as_of: date) -> bool:
    if subject.kind is not IdentityKind.RESIDENT_ID:
        return False
    born = birth_date(subject.id_number)
    return (as_of.year - born.year) - ((as_of.month, as_of.day) < (born.month, born.day)) < 18


def _rng(subject: BureauSubject) -> random.Random:
    digest = hashlib.sha256(f"bureau_sim|{subject.kind.value}|{subject.id_number}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _yuan(rng: random.Random, low_thousands: int, high_thousands: int) -> Decimal:
    return Decimal(rng.randint(low_thousands, high_thousands) * 1000)


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(d.day, 28))


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _base_history(opened: date, maturity: date, as_of: date) -> list[str]:
    """24 month codes, oldest first: '/' before opening, 'C' after settling, 'N' in between."""
    out = []
    for i in range(24):
        month = _add_months(as_of, i - 23)
        if _months_between(opened, month) < 0:
            out.append("/")
        elif _months_between(maturity, month) > 0:
            out.append("C")
        else:
            out.append("N")
    return out


def _overdue_tail(history: list[str], days: int) -> None:
    """End the history with the run 1, 2, ... k that ``days`` overdue today implies."""
    k = min(7, (days - 1) // 30 + 1)
    for j in range(k):
        history[23 - j] = str(min(7, k - j))


def _past_lates(rng: random.Random, history: list[str], worst: int) -> None:
    active = [i for i, c in enumerate(history[:-1]) if c == "N"]
    for i in rng.sample(active, min(len(active), rng.randint(1, 2))):
        history[i] = str(rng.randint(1, worst))


def _trouble(rng: random.Random, profile: str, role: str) -> tuple[FiveTier, int]:
    """Classification and days overdue today for the loan playing ``role``."""
    if role == "current_overdue":
        return FiveTier.SPECIAL_MENTION, rng.randint(5, 85)
    if role == "non_performing":
        days = rng.randint(181, 720) if profile == "blacklisted" else rng.randint(91, 720)
        tier = (FiveTier.SUBSTANDARD if days <= 180
                else FiveTier.DOUBTFUL if days <= 360 else FiveTier.LOSS)
        return tier, days
    return FiveTier.NORMAL, 0


def _loan(rng: random.Random, n: int, as_of: date, profile: str, role: str) -> LoanAccount:
    kind, _weight, (lo, hi), (tlo, thi) = rng.choices(
        _LOAN_KINDS, weights=[k[1] for k in _LOAN_KINDS])[0]
    institution_type, _name = rng.choice(_LENDERS)
    tier, overdue_days = _trouble(rng, profile, role)
    term = rng.randint(tlo, thi)
    if overdue_days:  # repaid for a while, then stopped paying; an unpaid loan never settles
        opened = as_of - timedelta(days=overdue_days + rng.randint(60, 720))
        stopped = as_of - timedelta(days=overdue_days)
    else:
        opened = as_of - timedelta(days=rng.randint(60, min(3650, term * 30)))
        stopped = as_of
    maturity = _add_months(opened, term)
    credit = _yuan(rng, lo, hi)
    total = (maturity - opened).days
    left = max((maturity - stopped).days, total // 10 if overdue_days else 0)
    balance = (credit * left / total).quantize(_CENT)
    history = _base_history(opened, max(maturity, as_of) if overdue_days else maturity, as_of)
    overdue_amount = Decimal("0")
    if role == "past_overdue" and balance > 0:
        _past_lates(rng, history, 2)
    if overdue_days:
        percent = rng.randint(5, 100) if tier.non_performing else rng.randint(2, 10)
        overdue_amount = max(_CENT, (balance * percent / 100).quantize(_CENT))
        _overdue_tail(history, overdue_days)
    return LoanAccount(
        account_id=f"L{n:02d}", institution_type=institution_type, kind=kind, opened=opened,
        maturity=maturity, credit_amount=credit, balance=balance, five_tier=tier,
        overdue_amount=overdue_amount, overdue_days=overdue_days,
        repayment_history="".join(history),
    )


def _loans(rng: random.Random, as_of: date, profile: str) -> list[LoanAccount]:
    """The first loan plays the profile's trouble; the others are clean."""
    count = rng.choices((0, 1, 2, 3, 4), weights=(10, 35, 30, 17, 8))[0]
    role = "non_performing" if profile == "blacklisted" else profile
    if role != "clean":
        count = max(count, 1)
    loans = [_loan(rng, n + 1, as_of, profile, role if n == 0 else "clean") for n in range(count)]
    for _ in range(50):  # past lateness only shows on a loan still running: redraw settled ones
        if role != "past_overdue" or any(c.isdigit() for c in loans[0].repayment_history):
            return loans
        loans[0] = _loan(rng, 1, as_of, profile, role)
    raise AssertionError("simulator could not draw a running loan")  # pragma: no cover


def _cards(rng: random.Random, as_of: date, profile: str) -> list[CreditCard]:
    count = rng.choices((0, 1, 2, 3), weights=(40, 35, 18, 7))[0]
    cards = []
    for n in range(count):
        institution_type, _name = rng.choice(_LENDERS[:4])
        limit = _yuan(rng, 5, 50)
        top = 60 if profile in ("clean", "past_overdue") else 100
        used = (limit * rng.randint(0, top) / 100).quantize(_CENT)
        opened = as_of - timedelta(days=rng.randint(90, 3000))
        history = _base_history(opened, as_of + timedelta(days=3650), as_of)
        overdue_amount, overdue_days = Decimal("0"), 0
        if n == 0 and profile in ("blacklisted", "non_performing", "current_overdue") and used > 0:
            overdue_days = rng.randint(31, 200)
            overdue_amount = max(_CENT, (used * rng.randint(10, 100) / 100).quantize(_CENT))
            _overdue_tail(history, overdue_days)
        cards.append(CreditCard(
            card_id=f"C{n + 1:02d}", institution_type=institution_type, opened=opened, limit=limit,
            used=used, overdue_amount=overdue_amount, overdue_days=overdue_days,
            repayment_history="".join(history),
        ))
    return cards


def _guarantees(rng: random.Random, profile: str) -> list[Guarantee]:
    count = rng.choices((0, 1, 2), weights=(70, 22, 8))[0]
    out = []
    for n in range(count):
        bad = profile in ("blacklisted", "non_performing") and rng.random() < 0.5
        out.append(Guarantee(
            guarantee_id=f"G{n + 1:02d}", institution_type=rng.choice(_LENDERS)[0],
            amount=_yuan(rng, 20, 200),
            debtor_status=rng.choice((FiveTier.SUBSTANDARD, FiveTier.LOSS)) if bad else FiveTier.NORMAL,
        ))
    return out


def _queries(rng: random.Random, as_of: date, profile: str, loans: int) -> list[QueryRecord]:
    def record(days_back: int, reason: Purpose) -> QueryRecord:
        return QueryRecord(as_of - timedelta(days=days_back), rng.choice(_LENDERS)[1], reason)

    out = []
    if profile == "clean_marker":
        for reason in (Purpose.LOAN_APPROVAL, Purpose.POST_LOAN_MANAGEMENT):
            out += [record(rng.randint(100, 360), reason) for _ in range(rng.randint(0, 1))]
    else:
        hard = (Purpose.LOAN_APPROVAL, Purpose.CREDIT_CARD_APPROVAL, Purpose.LIMIT_APPROVAL,
                Purpose.FINANCING_APPROVAL)
        out += [record(rng.randint(0, 364), rng.choices(hard, weights=(6, 3, 1, 1))[0])
                for _ in range(rng.choices(range(6), weights=(30, 30, 18, 12, 6, 4))[0])]
        out += [record(rng.randint(0, 364), Purpose.POST_LOAN_MANAGEMENT)
                for _ in range(loans * rng.randint(0, 4))]
        other = (Purpose.GUARANTOR_REVIEW, Purpose.CREDIT_REVIEW, Purpose.CUSTOMER_ADMISSION_REVIEW)
        out += [record(rng.randint(0, 364), rng.choice(other)) for _ in range(rng.randint(0, 2))]
    if profile == "credit_hungry":
        out = [q for q in out if not q.reason.signals_new_credit]
        out += [record(rng.randint(0, 27), Purpose.LOAN_APPROVAL) for _ in range(6)]
        out += [record(rng.randint(35, 85), Purpose.CREDIT_CARD_APPROVAL) for _ in range(4)]
    return sorted(out, key=lambda q: (q.queried_on, q.reason.value, q.institution), reverse=True)


def _public_records(
    rng: random.Random, as_of: date, profile: str, marked: bool
) -> list[PublicRecord]:
    def record(kind: PublicRecordKind, low: int, high: int, status: RecordStatus) -> PublicRecord:
        return PublicRecord(kind, as_of - timedelta(days=rng.randint(30, 1000)),
                            _yuan(rng, low, high), status, rng.choice(_COURTS))

    if profile == "blacklisted":
        return [record(PublicRecordKind.ENFORCEMENT, 20, 300, RecordStatus.OPEN),
                record(PublicRecordKind.CONSUMPTION_RESTRICTION, 20, 300, RecordStatus.OPEN),
                record(PublicRecordKind.DISHONEST_DEBTOR, 20, 300, RecordStatus.OPEN)]
    out = []
    if profile == "enforcement_only" or (profile == "non_performing" and rng.random() < 0.5):
        out.append(record(PublicRecordKind.ENFORCEMENT, 10, 200, RecordStatus.OPEN))
        if rng.random() < 0.5:
            out.append(record(PublicRecordKind.CONSUMPTION_RESTRICTION, 10, 200, RecordStatus.OPEN))
            if rng.random() < 0.4:
                out.append(record(PublicRecordKind.DISHONEST_DEBTOR, 10, 200, RecordStatus.OPEN))
    if not marked and profile != "clean" and rng.random() < 0.1:
        out.append(record(PublicRecordKind.TAX_ARREARS, 1, 20, rng.choice(list(RecordStatus))))
    return out


def simulate_report(subject: BureauSubject, as_of: date) -> BureauReport:
    """A plausible report for ``subject`` as of ``as_of``; identical inputs give identical reports."""
    rng = _rng(subject)
    marker = marker_of(subject)
    if marker is None:
        profile = rng.choices(_PROFILES, weights=_PROFILE_WEIGHTS)[0]
    else:  # the clean marker is stricter than a drawn clean profile (few, old queries)
        profile = "clean_marker" if marker == "clean" else marker
    report_id = "SIM" + hashlib.sha256(
        f"{subject.id_number}|{as_of.isoformat()}".encode()).hexdigest()[:16].upper()
    generated_at = datetime.combine(as_of, time(9, 0), tzinfo=_CHINA)
    if profile == "thin_file" or (marker is None and _is_minor(subject, as_of)):
        return BureauReport(subject, report_id, generated_at, SIMULATED_PROVIDER_NAME)
    quiet = profile in ("clean_marker", "credit_hungry", "enforcement_only")
    loan_profile = "clean" if quiet else profile
    loans = _loans(rng, as_of, loan_profile)
    return BureauReport(
        subject=subject, report_id=report_id, generated_at=generated_at,
        provider=SIMULATED_PROVIDER_NAME, loans=tuple(loans),
        credit_cards=tuple(_cards(rng, as_of, loan_profile)),
        guarantees=tuple(_guarantees(rng, loan_profile)),
        queries=tuple(_queries(rng, as_of, profile, len(loans))),
        public_records=tuple(_public_records(rng, as_of, profile, marker is not None)),
    )

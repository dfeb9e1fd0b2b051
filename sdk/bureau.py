"""Credit-bureau (征信) values passed to and from the ``nongxin_bureau_query`` hook.

A bureau adapter turns whatever its provider returns (PBOC second-generation report, a provincial
platform, the bundled simulator) into a :class:`BureauReport`; the core then caches it with
:func:`to_dict` and derives the flat :class:`BureauSummary` facts that rules and scorecards read.
Keeping one shape for every provider is what lets a county switch providers without touching a rule.

Money is always ``Decimal`` yuan: constructors convert ``int`` and ``str`` but refuse ``float``,
because a float that reaches a balance has already lost fen.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from nongxin.sdk._codec import decode, encode
from nongxin.sdk.errors import InvalidValue, WrongValueType
from nongxin.sdk.identity import IdentityKind, mask_identity, normalize, validate_identity

__all__ = [
    "AuthorizationRef",
    "BureauReport",
    "BureauSubject",
    "BureauSummary",
    "CreditCard",
    "FiveTier",
    "Guarantee",
    "LoanAccount",
    "LoanKind",
    "PublicRecord",
    "PublicRecordKind",
    "Purpose",
    "QueryRecord",
    "RecordStatus",
    "Refusal",
    "REPAYMENT_HISTORY_CHARS",
    "report_from_dict",
    "summarize",
    "to_dict",
]

#: Version of the :func:`to_dict` layout, stored with each cached report.
DICT_FORMAT = 1


class Purpose(str, enum.Enum):
    """PBOC query-reason code (查询原因): the bureau logs it and the subject can see it.

    The value is the two-digit code sent to the bureau; ``label_zh``/``label_en`` are for screens.
    """

    label_zh: str
    label_en: str

    def __new__(cls, code: str, label_zh: str, label_en: str) -> "Purpose":
        obj = str.__new__(cls, code)
        obj._value_ = code
        obj.label_zh = label_zh
        obj.label_en = label_en
        return obj

    POST_LOAN_MANAGEMENT = ("01", "贷后管理", "post-loan management")
    LOAN_APPROVAL = ("02", "贷款审批", "loan approval")
    CREDIT_CARD_APPROVAL = ("03", "信用卡审批", "credit card approval")
    GUARANTOR_REVIEW = ("08", "担保资格审查", "guarantor review")
    EXECUTIVE_REVIEW = (
        "22", "法人代表、负责人、高管等资信审查", "legal representative / executive review"
    )
    CUSTOMER_ADMISSION_REVIEW = ("23", "客户准入资格审查", "customer admission review")
    FINANCING_APPROVAL = ("24", "融资审批", "financing approval")
    CREDIT_REVIEW = ("25", "资信审查", "credit review")
    LIMIT_APPROVAL = ("26", "额度审批", "limit approval")

    @property
    def needs_authorization(self) -> bool:
        """Only post-loan management of an existing borrower may query without a signed consent."""
        return self is not Purpose.POST_LOAN_MANAGEMENT

    @property
    def signals_new_credit(self) -> bool:
        """Whether another lender querying for this reason means the subject applied for credit.

        These are the "hard" queries counted by ``loan_approval_queries_*``: many of them in a short
        time is the classic sign of a borrower shopping for credit everywhere (多头借贷).
        """
        return self in _NEW_CREDIT_PURPOSES


_NEW_CREDIT_PURPOSES = frozenset(
    {
        Purpose.LOAN_APPROVAL,
        Purpose.CREDIT_CARD_APPROVAL,
        Purpose.FINANCING_APPROVAL,
        Purpose.LIMIT_APPROVAL,
    }
)


class LoanKind(str, enum.Enum):
    MORTGAGE = "mortgage"  # 住房贷款
    CONSUMER = "consumer"  # 消费贷款
    BUSINESS = "business"  # 经营贷款
    FARM = "farm"  # 农户贷款


class FiveTier(str, enum.Enum):
    """Five-tier loan classification (五级分类); the last three are non-performing (不良)."""

    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失

    @property
    def non_performing(self) -> bool:
        return self in (FiveTier.SUBSTANDARD, FiveTier.DOUBTFUL, FiveTier.LOSS)


class PublicRecordKind(str, enum.Enum):
    ENFORCEMENT = "enforcement"  # 被执行
    CONSUMPTION_RESTRICTION = "consumption_restriction"  # 限制高消费
    DISHONEST_DEBTOR = "dishonest_debtor"  # 失信被执行人
    TAX_ARREARS = "tax_arrears"  # 欠税


class RecordStatus(str, enum.Enum):
    OPEN = "open"  # still in force / unpaid
    CLOSED = "closed"  # concluded, lifted or paid


#: Month codes of a 24-month repayment history, oldest month first. ``N`` normal, ``1``-``7`` months
#: overdue (7: 180 days or more), ``*`` nothing due, ``/`` not yet opened, ``C`` settled, ``G``
#: ended otherwise, ``D`` repaid by guarantor, ``Z`` repaid with assets, ``#`` unknown.
REPAYMENT_HISTORY_CHARS = frozenset("N1234567*/CGDZ#")


# ---------------------------------------------------------------- validation helpers


def _money(obj: Any, name: str, *, allow_negative: bool = False) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or isinstance(value, float):
        raise WrongValueType(f"{type(obj).__name__}.{name} must be Decimal, not {type(value).__name__}")
    if isinstance(value, (int, str)):
        value = Decimal(value)
        object.__setattr__(obj, name, value)
    if not isinstance(value, Decimal):
        raise WrongValueType(f"{type(obj).__name__}.{name} must be Decimal, not {type(value).__name__}")
    if not value.is_finite() or (value < 0 and not allow_negative):
        raise InvalidValue(f"{type(obj).__name__}.{name} must be a finite amount >= 0, got {value}")


def _enum(obj: Any, name: str, cls: type[enum.Enum]) -> None:
    object.__setattr__(obj, name, cls(getattr(obj, name)))


def _purpose(value: str | Purpose) -> Purpose:
    """``Purpose(value)``: the member whose code is ``value`` (a member is returned as is).

    Called through ``type[Enum]`` because ``Purpose.__new__`` (code, label_zh, label_en) builds the
    members; a type checker would otherwise read ``Purpose(value)`` as a call to it.
    """
    lookup: type[enum.Enum] = Purpose
    return typing.cast(Purpose, lookup(value))


def _count(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValue(f"{type(obj).__name__}.{name} must be an int >= 0, got {value!r}")


def _history(obj: Any) -> None:
    h = obj.repayment_history
    if not isinstance(h, str) or len(h) > 24 or not set(h) <= REPAYMENT_HISTORY_CHARS:
        raise InvalidValue(
            f"{type(obj).__name__}.repayment_history must be at most 24 of "
            f"{''.join(sorted(REPAYMENT_HISTORY_CHARS))}, got {h!r}"
        )


# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class BureauSubject:
    """Who is queried. The number is validated and normalised here so no typo reaches the bureau."""

    kind: IdentityKind
    id_number: str
    name: str

    def __post_init__(self) -> None:
        _enum(self, "kind", IdentityKind)
        object.__setattr__(self, "id_number", validate_identity(self.kind, self.id_number))

    def __repr__(self) -> str:  # masked: reprs end up in logs and tracebacks
        return (
            f"BureauSubject(kind={self.kind.value!r}, "
            f"id_number={mask_identity(self.id_number, self.kind)!r}, name={self.name!r})"
        )


#: China Standard Time (UTC+8 all year since 1991): consent days are the subject's days.
CHINA = timezone(timedelta(hours=8), "CST")


class Refusal(str, enum.Enum):
    """Why an authorization does not cover a query (the value is the error code the core answers)."""

    OTHER_SUBJECT = "authorization_of_another_subject"
    PURPOSE_NOT_COVERED = "authorization_required"
    REVOKED = "authorization_revoked"
    NOT_YET_VALID = "authorization_not_yet_valid"
    EXPIRED = "authorization_expired"


@dataclass(frozen=True, slots=True)
class AuthorizationRef:
    """The subject's signed consent (授权书) a query relies on; the core archives the document.

    Consent runs from the moment it was given (``signed_at``, when known; else the start of
    ``signed_on``) through the whole of the day it expires, in China Standard Time, as the letter
    reads ("valid until 2027-11-23"). Revocation takes effect at once. :meth:`refusal` is the one
    consent check: the core runs it before every query, and a provider may run it again on the ref
    it receives.
    """

    authorization_id: str
    id_number: str
    purposes: tuple[Purpose, ...]
    signed_on: date
    expires_on: date
    document_ref: str = ""  # where the scanned consent is archived, e.g. a content hash
    revoked: bool = False
    signed_at: datetime | None = None  # the moment consent was given, aware; None: only the day is known

    def __post_init__(self) -> None:
        object.__setattr__(self, "purposes", tuple(_purpose(p) for p in self.purposes))

    def refusal(self, subject: BureauSubject, purpose: Purpose, on: date | datetime) -> Refusal | None:
        """None when this consent allows querying ``subject`` for ``purpose`` at ``on`` (an aware
        moment, or a day: then any moment of it); else why not."""
        if isinstance(on, datetime):
            if on.tzinfo is None:
                raise WrongValueType("refusal needs an aware datetime (or a date)")
            moment: datetime | None = on
            day = on.astimezone(CHINA).date()
        else:
            moment, day = None, on
        if normalize(self.id_number) != subject.id_number:
            return Refusal.OTHER_SUBJECT
        if _purpose(purpose) not in self.purposes:
            return Refusal.PURPOSE_NOT_COVERED
        if self.revoked:
            return Refusal.REVOKED
        if day < self.signed_on or (moment is not None and self.signed_at is not None and moment < self.signed_at):
            return Refusal.NOT_YET_VALID
        if day > self.expires_on:
            return Refusal.EXPIRED
        return None

    def covers(self, subject: BureauSubject, purpose: Purpose, on: date | datetime) -> bool:
        """Whether this consent allows querying ``subject`` for ``purpose`` at ``on`` (see :meth:`refusal`)."""
        return self.refusal(subject, purpose, on) is None


@dataclass(frozen=True, slots=True)
class LoanAccount:
    """One loan (贷款账户). ``repayment_history``: up to 24 month codes, oldest first."""

    account_id: str
    institution_type: str  # e.g. commercial_bank, rural_bank, microfinance, consumer_finance
    kind: LoanKind
    opened: date
    maturity: date
    credit_amount: Decimal
    balance: Decimal
    five_tier: FiveTier = FiveTier.NORMAL
    overdue_amount: Decimal = Decimal("0")
    overdue_days: int = 0
    repayment_history: str = ""

    def __post_init__(self) -> None:
        _enum(self, "kind", LoanKind)
        _enum(self, "five_tier", FiveTier)
        for name in ("credit_amount", "balance", "overdue_amount"):
            _money(self, name)
        _count(self, "overdue_days")
        _history(self)


@dataclass(frozen=True, slots=True)
class CreditCard:
    """One credit card account (贷记卡). ``used``: balance drawn; may exceed ``limit`` (超限)."""

    card_id: str
    institution_type: str
    opened: date
    limit: Decimal
    used: Decimal
    overdue_amount: Decimal = Decimal("0")
    overdue_days: int = 0
    repayment_history: str = ""

    def __post_init__(self) -> None:
        for name in ("limit", "used", "overdue_amount"):
            _money(self, name)
        _count(self, "overdue_days")
        _history(self)


@dataclass(frozen=True, slots=True)
class Guarantee:
    """A guarantee the subject gave for someone else's debt (对外担保): a contingent liability."""

    guarantee_id: str
    institution_type: str
    amount: Decimal
    debtor_status: FiveTier = FiveTier.NORMAL

    def __post_init__(self) -> None:
        _money(self, "amount")
        _enum(self, "debtor_status", FiveTier)


@dataclass(frozen=True, slots=True)
class QueryRecord:
    """A past query of the subject's report by an institution (查询记录)."""

    queried_on: date
    institution: str
    reason: Purpose

    def __post_init__(self) -> None:
        _enum(self, "reason", Purpose)


@dataclass(frozen=True, slots=True)
class PublicRecord:
    """A court, tax or other public record (公共信息)."""

    kind: PublicRecordKind
    recorded_on: date
    amount: Decimal
    status: RecordStatus = RecordStatus.OPEN
    authority: str = ""  # court or tax bureau

    def __post_init__(self) -> None:
        _enum(self, "kind", PublicRecordKind)
        _enum(self, "status", RecordStatus)
        _money(self, "amount")


@dataclass(frozen=True, slots=True)
class BureauReport:
    """A provider's report, normalised. Sequences are tuples so reports stay hashable and frozen."""

    subject: BureauSubject
    report_id: str
    generated_at: datetime
    provider: str
    loans: tuple[LoanAccount, ...] = ()
    credit_cards: tuple[CreditCard, ...] = ()
    guarantees: tuple[Guarantee, ...] = ()
    queries: tuple[QueryRecord, ...] = ()
    public_records: tuple[PublicRecord, ...] = ()

    def __post_init__(self) -> None:
        for name in ("loans", "credit_cards", "guarantees", "queries", "public_records"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


# ---------------------------------------------------------------- summary


_FACT_TYPES: dict[type, str] = {int: "integer", Decimal: "decimal", bool: "boolean"}


@dataclass(frozen=True, slots=True)
class BureauSummary:
    """The numbers rules and scorecards actually decide on, computed once per report.

    * ``loan_approval_queries_1m/3m``: queries whose reason signals a credit application
      (:attr:`Purpose.signals_new_credit`: 02, 03, 24, 26) in the last 1 / 3 calendar months.
    * ``queries_6m/12m``: queries for any reason except post-loan management (01), which an
      existing lender runs on its own and says nothing about the subject's behaviour.
    * ``worst_overdue_days_24m``: the larger of current overdue days and the 24-month histories of
      loans and cards; a history digit k counts as (k-1)*30+1 days, the least it proves.
    * ``current_overdue_amount``: overdue amounts of loans and cards.
    * ``non_performing_accounts``: loans classified substandard, doubtful or loss.
    * ``outstanding_debt``: loan balances plus card balances used.
    * ``guarantees_given``: total amount guaranteed for others.
    * ``open_enforcement`` / ``consumption_restriction`` / ``dishonest_debtor``: an open public
      record of that kind.
    * ``card_utilization``: used / limit over all cards (4 places), None without card limits;
      above 1 means cards are over their limits.
    """

    loan_approval_queries_1m: int
    loan_approval_queries_3m: int
    queries_6m: int
    queries_12m: int
    worst_overdue_days_24m: int
    current_overdue_amount: Decimal
    non_performing_accounts: int
    outstanding_debt: Decimal
    guarantees_given: Decimal
    open_enforcement: bool
    consumption_restriction: bool
    dishonest_debtor: bool
    card_utilization: Decimal | None

    def as_facts(self) -> dict[str, object]:
        """Flat ``bureau_*`` facts, so bureau fields never collide with form or connector fields."""
        return {f"bureau_{f.name}": getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def fact_types(cls) -> dict[str, str]:
        """Rule-engine field type of each fact (``integer``, ``decimal``, ``boolean``) for schemas."""
        hints = typing.get_type_hints(cls)
        out: dict[str, str] = {}
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            base = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
            out[f"bureau_{f.name}"] = _FACT_TYPES[base]
        return out


def _months_before(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 - months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    for day in (d.day, 30, 29, 28):  # clamp 31 March -> 28/29 February
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _history_days(history: str) -> int:
    worst = max((int(c) for c in history if c.isdigit()), default=0)
    return (worst - 1) * 30 + 1 if worst else 0


def summarize(report: BureauReport, as_of: date) -> BureauSummary:
    """Summarise ``report`` as seen on ``as_of``; records dated after ``as_of`` are ignored.

    A window of n months runs from the same day n calendar months earlier up to ``as_of``,
    both inclusive.
    """
    queries = [q for q in report.queries if q.queried_on <= as_of]

    def hard_since(months: int) -> int:
        start = _months_before(as_of, months)
        return sum(1 for q in queries if q.queried_on >= start and q.reason.signals_new_credit)

    def any_since(months: int) -> int:
        start = _months_before(as_of, months)
        return sum(
            1 for q in queries
            if q.queried_on >= start and q.reason is not Purpose.POST_LOAN_MANAGEMENT
        )

    accounts: tuple[LoanAccount | CreditCard, ...] = (*report.loans, *report.credit_cards)
    worst = max(
        (max(a.overdue_days, _history_days(a.repayment_history)) for a in accounts), default=0
    )
    open_kinds = {
        r.kind for r in report.public_records
        if r.status is RecordStatus.OPEN and r.recorded_on <= as_of
    }
    limit = sum((c.limit for c in report.credit_cards), Decimal("0"))
    used = sum((c.used for c in report.credit_cards), Decimal("0"))
    utilization = (used / limit).quantize(Decimal("0.0001"), ROUND_HALF_UP) if limit > 0 else None

    return BureauSummary(
        loan_approval_queries_1m=hard_since(1),
        loan_approval_queries_3m=hard_since(3),
        queries_6m=any_since(6),
        queries_12m=any_since(12),
        worst_overdue_days_24m=worst,
        current_overdue_amount=sum((a.overdue_amount for a in accounts), Decimal("0")),
        non_performing_accounts=sum(1 for loan in report.loans if loan.five_tier.non_performing),
        outstanding_debt=sum(
            (*(loan.balance for loan in report.loans), *(c.used for c in report.credit_cards)),
            Decimal("0"),
        ),
        guarantees_given=sum((g.amount for g in report.guarantees), Decimal("0")),
        open_enforcement=PublicRecordKind.ENFORCEMENT in open_kinds,
        consumption_restriction=PublicRecordKind.CONSUMPTION_RESTRICTION in open_kinds,
        dishonest_debtor=PublicRecordKind.DISHONEST_DEBTOR in open_kinds,
        card_utilization=utilization,
    )


# ---------------------------------------------------------------- JSON-safe dicts


def to_dict(report: BureauReport) -> dict[str, Any]:
    """A JSON-safe dict (Decimals as strings, dates ISO) for the core's report cache.

    Strings, not JSON numbers, carry money because a JSON number is read back as a float.
    """
    out: dict[str, Any] = encode(report)
    out["format"] = DICT_FORMAT
    return out


def report_from_dict(d: Mapping[str, Any]) -> BureauReport:
    """Rebuild a report cached with :func:`to_dict`; raises ValueError/TypeError on a corrupt dict."""
    fmt = d.get("format", DICT_FORMAT)
    if fmt != DICT_FORMAT:
        raise InvalidValue(f"unsupported bureau report format {fmt!r}; expected {DICT_FORMAT}")
    return decode(BureauReport, d, "report")

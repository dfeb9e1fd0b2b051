"""Frozen values passed to and returned by hooks.

Hooks never see ORM rows: a plugin must not be able to write to the core's database behind the
core's back, and these values are stable across core versions within one CORE_API_VERSION.
Money is always ``Decimal`` (yuan), never float.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Callable, Mapping

from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES  # noqa: F401  (re-exported)


class PluginKind(str, enum.Enum):
    PRODUCT = "product"
    CONNECTOR = "connector"
    RULES = "rules"
    SCORECARD = "scorecard"
    BUREAU = "bureau"
    VALUATION = "valuation"
    INTEGRATION = "integration"


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What a plugin module declares as ``PLUGIN`` so the core can list, check and configure it.

    ``core_api`` is a version specifier such as ``">=1.0,<2"``; ``allowed_institutions`` limits
    where the plugin may be enabled (codes; their subtrees), ``None`` meaning anywhere;
    ``settings_schema`` is a marshmallow Schema class validating the plugin's settings. Mark a field
    that holds a credential secret, ``fields.String(metadata={"secret": True})`` (``load_only=True``
    works too): the core stores it and passes it to the plugin's hooks, but it is write-only: never
    shown by the API or the CLI, and masked in the audit trail.
    """

    name: str
    version: str
    kind: PluginKind
    description: str = ""
    core_api: str = ">=1.0,<2"
    allowed_institutions: tuple[str, ...] | None = None
    settings_schema: type | None = None
    enabled_by_default: bool = False


@dataclass(frozen=True, slots=True)
class HookContext:
    """Where and when a hook runs: the institution, its ancestry, this plugin's settings there, and
    the bank's business date.

    The core gives each plugin its own context, so ``settings`` are always the calling plugin's
    validated settings at ``institution_code``. ``business_date`` is the date the books are at (the
    core's clock; a job run "as of" a past date passes that date): a hook deciding anything by date
    reads it, never the system date. The core always sets it; it defaults to None ("unset") so
    contexts built by hand in a plugin's own tests stay valid, and such a test sets it when its hook
    needs a date.
    """

    institution_code: str
    ancestry: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    plugin_name: str = ""
    business_date: date | None = None

    @property
    def today(self) -> date:
        """Deprecated alias of ``business_date`` (core API 1.0); raises if no date was set."""
        warnings.warn("HookContext.today is deprecated; read ctx.business_date", DeprecationWarning, stacklevel=2)
        if self.business_date is None:
            raise ValueError("this HookContext has no business_date: the core always sets one; a test "
                             "building a context by hand passes business_date=date(...)")
        return self.business_date


@dataclass(frozen=True, slots=True)
class AmountRange:
    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """A loan product offered where its plugin is enabled."""

    code: str
    name: str
    segment: str  # salaried, merchant, farmer, small_business, ...
    amount: AmountRange
    term_months: tuple[int, int]
    annual_rate: tuple[Decimal, Decimal]
    repayment_methods: tuple[str, ...] = ("equal_installment",)
    required_data: tuple[str, ...] = ()
    collateral_kind: str | None = None  # None: credit-only (信用)
    auto_approval_ceiling: Decimal = Decimal("0")
    description: str = ""
    # -- the ledger (credit lines, drawdowns, repayments); the defaults are DOMAIN.md's
    revolving: bool = True  # 循环额度: repaid principal may be drawn again; False: one-off
    line_months: int | None = None  # how long a credit line runs; None: the longest term_months
    penalty_markup: Decimal = Decimal("0.5")  # 罚息上浮: penalty rate = rate x (1 + markup), 0.3..0.5
    allocation_order: tuple[str, ...] = ()  # () means ALLOCATION_ORDER; else a permutation of it
    prepayment: str = "shorten_term"  # one of PREPAYMENT_POLICIES
    settlement_day: int = 20  # 按季结息: interest settles on this day of Mar, Jun, Sep and Dec


@dataclass(frozen=True, slots=True)
class ConnectorSpec:
    """An external data source. ``fetch(subject, ctx)`` returns a mapping of the fields it provides.

    Bulk feeds (additive, CORE_API 1.x): ``feeds`` names the court lists this connector delivers
    whole (``enforcement``, ``consumption_restriction``, ``dishonest_debtor``; see ``COURT_FEEDS``).
    For each, the core calls ``fetch({"feed": kind, "since": date | None}, ctx)`` and expects
    ``{"rows": [{"id_number", "name", "case_no", "court", "listed_on", "delisted_on"}, ...]}``
    (dates as ``date`` or ``YYYY-MM-DD``; ``since``: only entries changed since then, or None for
    the whole list). A connector without ``feeds`` is never asked for one.
    """

    name: str
    fields: tuple[str, ...]
    fetch: Callable[[Any, HookContext], Mapping[str, Any]]
    timeout_seconds: float = 5.0
    cache_ttl_seconds: int = 86400
    description: str = ""
    feeds: tuple[str, ...] = ()


#: The bulk feeds a connector may declare in ``ConnectorSpec.feeds``: the three court lists.
COURT_FEEDS = ("enforcement", "consumption_restriction", "dishonest_debtor")


@dataclass(frozen=True, slots=True)
class ScorecardBin:
    """One bin of one variable: a numeric range ``[lower, upper)`` (None: unbounded), or, for a
    text variable, the set of ``values`` it matches (then leave ``lower`` and ``upper`` None)."""

    field: str
    lower: Decimal | None  # inclusive; None: unbounded
    upper: Decimal | None  # exclusive; None: unbounded
    points: int
    values: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScorecardGrade:
    """A grade band: scores from ``min_score`` up (to the next band) earn this grade, whose limit
    coefficient (等级系数) multiplies the product's limit."""

    name: str
    min_score: int
    limit_coefficient: Decimal


@dataclass(frozen=True, slots=True)
class ScorecardDevelopment:
    """Counts of the sample a scorecard was fitted on (integers only: the codec refuses floats).

    ``score_edges``: the ascending inner edges of the score bands ``(-inf, e0), [e0, e1), ...,
    [en, +inf)``; ``score_counts`` one count per band (``len(score_edges) + 1``). ``bin_counts``:
    per variable, one count per bin of that variable in the spec's order, then the count of missing
    values (values no bin holds included), so ``len(bins of v) + 1`` counts. ``rows`` and ``bads``:
    the sample's size and its bads; ``fitted_on``: the date (ISO) the card was fitted.
    """

    rows: int
    bads: int
    score_edges: tuple[int, ...]
    score_counts: tuple[int, ...]
    bin_counts: Mapping[str, tuple[int, ...]]
    fitted_on: str = ""


@dataclass(frozen=True, slots=True)
class ScorecardSpec:
    """A segment's scorecard: base points plus, per variable, the points of the first bin its value
    falls in (when the value is missing or falls in no bin: the variable's ``missing_by_field``
    points, else ``missing_points``); the total's grade
    band gives the grade and its limit coefficient. ``nongxin.sdk.scorecards.score`` computes it."""

    code: str
    segment: str
    base_points: int
    bins: tuple[ScorecardBin, ...]
    missing_points: int = 0
    grades: tuple[ScorecardGrade, ...] = ()
    version: int = 1
    name: str = ""
    #: issue 17 (additive): a challenger scores every decision of its segment in shadow (stored
    #: apart, never used for the outcome); the champion is the first card of the segment that is
    #: not a challenger. A scorecard plugin usually sets it from its ``role`` setting.
    challenger: bool = False
    #: The development sample's distributions, for stability monitoring (PSI); None for a card
    #: typed by hand (the monitor lists it, without a PSI).
    development: ScorecardDevelopment | None = None
    #: A variable's own points for a missing value (or one no bin holds), where the development
    #: sample had enough missing values to weigh them; a variable not named here earns
    #: ``missing_points``.
    missing_by_field: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Applicant:
    kind: str  # resident_id or uscc
    id_number: str
    name: str


@dataclass(frozen=True, slots=True)
class ApplicationData:
    application_id: str
    product_code: str
    institution_code: str
    applicant: Applicant
    amount: Decimal
    term_months: int
    purpose: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    repayment_method: str = "equal_installment"
    segment: str = ""  # the product's segment (salaried, farmer, merchant, ...)


#: Repayment methods by their API names (``../shared/DOMAIN.md``).
REPAYMENT_METHODS: Mapping[str, str] = {
    "equal_installment": "等额本息",
    "equal_principal": "等额本金",
    "monthly_interest": "按月付息到期还本",
    "bullet": "利随本清",
    "quarterly_interest": "按季结息",
}

#: What a repayment pays, in the default order (DOMAIN.md): penalty interest, compound interest,
#: overdue interest, overdue principal, current interest, current principal. A product may name
#: another order in ``ProductSpec.allocation_order`` (a permutation of these).
ALLOCATION_ORDER: tuple[str, ...] = ("penalty", "compound", "overdue_interest", "overdue_principal",
                                     "interest", "principal")

#: What a prepayment does to the rest of the schedule: 缩期 keeps the installment and ends sooner;
#: 减额 keeps the term and lowers the installment.
PREPAYMENT_POLICIES: Mapping[str, str] = {
    "shorten_term": "缩短期限",
    "lower_installment": "减少月供",
}



class Outcome(str, enum.Enum):
    PASS = "pass"
    TAG = "tag"
    MANUAL_REVIEW = "manual_review"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    outcome: Outcome
    reason: str


@dataclass(frozen=True, slots=True)
class LimitResult:
    amount: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PriceResult:
    """The product's price. Loan rates are the LPR plus a spread: answer ``spread_bp`` (basis
    points over the LPR of the loan's term, which the core keeps as a dated province parameter and
    also passes in the facts as ``lpr_1y`` and ``lpr_5y``), or a whole ``annual_rate`` (the core
    then records the spread it implies). Give one of the two."""

    annual_rate: Decimal | None = None
    reason: str = ""
    spread_bp: int | None = None


@dataclass(frozen=True, slots=True)
class BatchTerms:
    """A product's limit and price for many applicants at once (pre-credit, 预授信): the answer of
    ``nongxin_batch_terms``. Each field is a numpy array with one entry per row of the frame the
    core passed, in its order; it must give, row by row, what ``nongxin_credit_limit`` and
    ``nongxin_price`` give for that row's facts (the core tests that on every household of a
    sample village).

    * ``limit_fen``: int64, the product formula's limit in fen *before* the scorecard grade's
      coefficient (the core applies it), -1 where the product gives no limit;
    * ``spread_bp``: int64 basis points over the LPR of the term, or ``annual_rate_ppm``: int64
      whole annual rates in millionths (0.0435 is 43500); give one of the two, as ``PriceResult``;
    * ``outcome`` / ``reason`` (optional): object arrays of the product's findings per row, as
      ``nongxin_assess_application`` would answer: "" (nothing to say), "tag", "manual_review" or
      "reject", with the reason; the first finding of a row is enough;
    * ``code`` (optional): object array of each row's finding code (the ``Finding.code``), so the
      reasons read as the one-record decision's ("finding YMYD_GREY of yimeng_cloud_loan ...").
    """

    limit_fen: Any
    spread_bp: Any = None
    annual_rate_ppm: Any = None
    outcome: Any = None
    reason: Any = None
    code: Any = None


@dataclass(frozen=True, slots=True)
class CollateralData:
    collateral_id: str
    kind: str  # real_estate, vehicle, deposit, guarantee
    description: str
    declared_value: Decimal
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Valuation:
    value: Decimal
    method: str
    valuer: str
    valued_on: date


@dataclass(frozen=True, slots=True)
class Event:
    """A notification: what happened (``kind``), to what, at which institution, with details."""

    kind: str
    subject_id: str
    institution_code: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PluginFailure:
    """Stands in for a plugin's answer when the plugin raised or its breaker is open.

    Risk decisions treat it as "needs manual review", never as approval.
    """

    plugin: str
    hook: str
    error: str

"""The parameters the core knows: name, type, default, who may set them, and which way a lower
institution may move them.

A parameter is registered here once; the API, the CLI and every service read it through
``nongxin.core.parameters.services``. ``tighten`` says which way a county may move a value set
above it: "lower" (a cap: a county may lower it, never raise it), "higher" (a floor), or None (any
value at the levels allowed).

Tighten-only parameters are read as the tightest of the values in force on the institution's
ancestry (``services.in_force``): a county that set a lower cap keeps it when the province later
raises its own, and a province that later tightens below a county's value binds that county too,
so a county's value can never end up looser than its ancestors'.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nongxin.core.institutions.models import Level
from nongxin.sdk.collateral import KINDS


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    kind: str  # "rate" (Decimal fraction), "money" (Decimal yuan), "days" / "count" (int), "flag" (bool), "choice" (str)
    default: Any
    levels: tuple[Level, ...]  # where it may be set
    tighten: str | None = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None
    choices: tuple[str, ...] = ()  # the values a "choice" may take

    def parse(self, text: str) -> Any:
        """The value from its text form; ValueError names what is wrong.

        A rate may be written as a fraction ("0.0345") or in percent ("3.45%"); it is kept to the
        millionth (0.01 basis point), as the ``Rate`` column stores rates."""
        raw = str(text).strip()
        if self.kind == "flag":
            folded = raw.lower()
            if folded in FLAG_TRUE:
                return True
            if folded in FLAG_FALSE:
                return False
            raise ValueError(f"{text!r} is not yes or no (write true or false)")
        if self.kind == "choice":
            if raw.lower() not in self.choices:
                raise ValueError(f"{text!r} is not one of {', '.join(self.choices)}")
            return raw.lower()
        if self.kind in ("days", "count"):
            if not raw.isascii() or not raw.lstrip("+-").isdigit() or len(raw) > 6:
                raise ValueError(f"{text!r} is not a whole number" + (" of days" if self.kind == "days" else ""))
            value: Any = int(raw)
        else:
            percent = self.kind == "rate" and raw.endswith("%")
            try:
                value = Decimal(raw[:-1].strip() if percent else raw)
            except InvalidOperation:
                raise ValueError(f"{text!r} is not a decimal number"
                                 + (" (write a rate as 0.0345 or 3.45%)" if self.kind == "rate" else "")) from None
            if not value.is_finite():
                raise ValueError(f"{text!r} is not a finite number")
            if percent:
                value = value.scaleb(-2)
            if value and value.adjusted() > 15:
                raise ValueError(f"{text} is too large")
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"must be at least {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"must be at most {self.maximum}")
            places = {"rate": 6, "money": 2}[self.kind]
            if value != value.quantize(Decimal(1).scaleb(-places)):
                unit = "a millionth (0.01 basis point)" if self.kind == "rate" else "a fen"
                raise ValueError(f"{text} is finer than {unit}")
            return value
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum}")
        return value

    def text(self, value: Any) -> str:
        """The stored and displayed text form of a parsed value ("0.0345", "5", "3000000.00")."""
        if self.kind in ("days", "count"):
            return str(int(value))
        if self.kind == "choice":
            return str(value)
        if self.kind == "flag":
            return "true" if value else "false"
        return format(Decimal(value).normalize() if self.kind == "rate" else Decimal(value), "f")

    def looser(self, value: Any, than: Any) -> bool:
        """Whether ``value`` moves the wrong way from ``than`` for a tighten-only parameter."""
        if self.tighten == "lower":
            return bool(value > than)
        if self.tighten == "higher":
            return bool(value < than)
        return False

    def tightest(self, values: list[Any]) -> Any:
        """The tightest of ``values`` (tighten-only parameters)."""
        return min(values) if self.tighten == "lower" else max(values)


FLAG_TRUE = frozenset({"true", "yes", "1", "on", "是"})
FLAG_FALSE = frozenset({"false", "no", "0", "off", "否"})

PROVINCE_ONLY = (Level.PROVINCE,)
DOWN_TO_COUNTY = (Level.PROVINCE, Level.CITY, Level.COUNTY)

#: The province's defaults per kind of collateral (DOMAIN.md): haircut (折扣率; a county may only
#: raise it), maximum loan-to-value (抵质押率上限; a county may only lower it) and revaluation
#: interval (重估周期; a county may only shorten it).
COLLATERAL_DEFAULTS: dict[str, tuple[str, str, int]] = {
    # kind: (haircut, ltv_max, revalue_days)
    "real_estate": ("0.10", "0.70", 365),
    "vehicle": ("0.20", "0.50", 180),
    "deposit": ("0", "0.90", 365),
    "land_rights": ("0.20", "0.50", 365),
    "forest_rights": ("0.20", "0.50", 365),
    "warehouse_receipt": ("0.20", "0.60", 90),
    "guarantee_company": ("0", "1", 365),
    "guarantee_person": ("0", "1", 365),
}
COLLATERAL_PARAMETERS = tuple(p for kind, (haircut, ltv, days) in COLLATERAL_DEFAULTS.items() for p in (
    Parameter(f"collateral.{kind}.haircut", f"{KINDS[kind].label}折扣率", "rate", Decimal(haircut), DOWN_TO_COUNTY,
              tighten="higher", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter(f"collateral.{kind}.ltv_max", f"{KINDS[kind].label}抵质押率上限", "rate", Decimal(ltv), DOWN_TO_COUNTY,
              tighten="lower", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter(f"collateral.{kind}.revalue_days", f"{KINDS[kind].label}重估周期(天)", "days", days, DOWN_TO_COUNTY,
              tighten="lower", minimum=1, maximum=3650),
))

#: Working days a warning task has, by colour (early_warning.domain.DEFAULT_DEADLINE_DAYS); a
#: county may set its own either way: a deadline is a service level, not a risk limit.
EARLY_WARNING_PARAMETERS = tuple(
    Parameter(f"early_warning.deadline_days.{colour}", f"{label}处置时限(工作日)", "days", days, DOWN_TO_COUNTY,
              minimum=1, maximum=60)
    for colour, label, days in (("red", "红色预警", 3), ("orange", "橙色预警", 5), ("yellow", "黄色预警", 10)))

#: Whole-village credit (整村授信, issue 15): each county bank's own practice.
VILLAGE_PARAMETERS = (
    Parameter("village.min_reviewers", "每户最少评议人数", "count", 3, DOWN_TO_COUNTY, minimum=1, maximum=50),
    Parameter("village.aggregation", "评议汇总规则", "choice", "any_black", DOWN_TO_COUNTY,
              choices=("any_black", "majority")),
    Parameter("village.offer_days", "预授信有效期(天)", "days", 90, DOWN_TO_COUNTY, minimum=1, maximum=730),
    Parameter("village.credit_village.min_households", "信用村最少农户数", "count", 20, DOWN_TO_COUNTY,
              minimum=1, maximum=100000),
    Parameter("village.credit_village.min_coverage", "信用村授信面下限", "rate", Decimal("0.80"), DOWN_TO_COUNTY,
              tighten="higher", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter("village.credit_village.min_usage", "信用村用信率下限", "rate", Decimal("0.30"), DOWN_TO_COUNTY,
              tighten="higher", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter("village.credit_village.max_npl", "信用村不良率上限", "rate", Decimal("0.02"), DOWN_TO_COUNTY,
              tighten="lower", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter("annual_review.tolerance", "年检额度容忍下降比例", "rate", Decimal("0.20"), DOWN_TO_COUNTY,
              tighten="lower", minimum=Decimal("0"), maximum=Decimal("1")),
    Parameter("annual_review.failed_action", "年检未通过期间额度处理", "choice", "freeze", DOWN_TO_COUNTY,
              choices=("none", "freeze", "reduce")),
)

#: Scorecard stability monitoring (issue 17).
SCORECARD_PARAMETERS = (
    Parameter("scorecard.psi_threshold", "评分卡PSI预警阈值", "rate", Decimal("0.25"), DOWN_TO_COUNTY,
              tighten="lower", minimum=Decimal("0"), maximum=Decimal("10")),
    Parameter("scorecard.monitor_days", "评分卡监测窗口(天)", "days", 30, DOWN_TO_COUNTY, minimum=1, maximum=366),
    Parameter("scorecard.min_population", "评分卡监测最少样本数", "count", 100, DOWN_TO_COUNTY, minimum=1,
              maximum=10000000),
)

PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("lpr.1y", "一年期LPR", "rate", Decimal("0.0300"), PROVINCE_ONLY,
              minimum=Decimal("0"), maximum=Decimal("0.2")),
    Parameter("lpr.5y", "五年期以上LPR", "rate", Decimal("0.0350"), PROVINCE_ONLY,
              minimum=Decimal("0"), maximum=Decimal("0.2")),
    Parameter("review.investigation_days", "调查时限(工作日)", "days", 3, DOWN_TO_COUNTY, minimum=1, maximum=60),
    Parameter("review.review_days", "审查时限(工作日)", "days", 2, DOWN_TO_COUNTY, minimum=1, maximum=60),
    Parameter("review.approval_days", "审批时限(工作日)", "days", 2, DOWN_TO_COUNTY, minimum=1, maximum=60),
    Parameter("credit.customer_exposure_cap", "单户授信上限", "money", Decimal("3000000"), DOWN_TO_COUNTY,
              tighten="lower", minimum=Decimal("0")),
    *COLLATERAL_PARAMETERS,
    Parameter("collateral.shortfall_freezes_line", "押品不足冻结额度", "flag", False, DOWN_TO_COUNTY),
    *EARLY_WARNING_PARAMETERS,
    *VILLAGE_PARAMETERS,
    *SCORECARD_PARAMETERS,
)}

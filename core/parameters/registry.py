"""The parameters the core knows: name, type, default, who may set them, and which way a lower
institution may move them.

A parameter is registered here once; the API, the CLI and every service read it through
``nongxin.core.parameters.services``. ``tighten`` says which way a county may move a value set
above it: "lower" (a cap: a county may lower it, never raise it), "higher" (a floor), or None (any
value at the levels allowed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from nongxin.core.institutions.models import Level


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    kind: str  # "rate" (Decimal fraction), "money" (Decimal yuan), "days" (int)
    default: Any
    levels: tuple[Level, ...]  # where it may be set
    tighten: str | None = None
    minimum: Decimal | int | None = None
    maximum: Decimal | int | None = None

    def parse(self, text: str) -> Any:
        """The value from its text form; ValueError names what is wrong."""
        if self.kind == "days":
            try:
                value: Any = int(str(text).strip())
            except ValueError:
                raise ValueError(f"{text!r} is not a whole number of days") from None
        else:
            try:
                value = Decimal(str(text).strip())
            except InvalidOperation:
                raise ValueError(f"{text!r} is not a decimal number") from None
            if not value.is_finite():
                raise ValueError(f"{text!r} is not a finite number")
            if self.kind == "money" and value != value.quantize(Decimal("0.01")):
                raise ValueError(f"{text} yuan is not a whole number of fen")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {self.maximum}")
        return value


PROVINCE_ONLY = (Level.PROVINCE,)
DOWN_TO_COUNTY = (Level.PROVINCE, Level.CITY, Level.COUNTY)

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
)}

"""The bundled tax records, read once.

A real deployment swaps this file for the tax bureau's feed; keeping the lookup behind one small
function means the connector, its tests and a county's sandbox all behave the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Mapping

#: 纳税信用等级, best first (State Taxation Administration grades).
TAX_GRADES = ("A", "B", "M", "C", "D")


class TaxRecordNotFound(LookupError):
    """No filing for the firm: the decision must not guess, so the core sends it to manual review."""

    def __init__(self, uscc: str) -> None:
        super().__init__(f"no tax record for unified social credit code {uscc}")
        self.uscc = uscc


@dataclass(frozen=True, slots=True)
class TaxRecord:
    uscc: str
    name: str
    tax_year: int
    filed_revenue: Decimal
    tax_grade: str


@lru_cache(maxsize=1)
def _records() -> Mapping[str, TaxRecord]:
    raw = json.loads((files(__package__) / "data" / "tax_records.json").read_text(encoding="utf-8"))
    out = {}
    for uscc, row in raw["records"].items():
        if row["tax_grade"] not in TAX_GRADES:
            raise ValueError(f"tax record {uscc}: grade {row['tax_grade']!r} is not one of {TAX_GRADES}")
        out[uscc] = TaxRecord(uscc, row["name"], int(row["tax_year"]), Decimal(row["filed_revenue"]),
                              row["tax_grade"])
    return out


def lookup(uscc: str) -> TaxRecord:
    try:
        return _records()[uscc]
    except KeyError:
        raise TaxRecordNotFound(uscc) from None

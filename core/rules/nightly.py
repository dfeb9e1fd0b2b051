"""What the nightly scan hands to rule management, bank by bank, inside the bank's transaction.

The promise: after ``early_warning.scan`` has judged one county bank's loans (post-loan book) and
pledged positions (collateral book), and before it writes the warnings, ``after_bank`` runs the
three rule-management steps over the same frames, in the same transaction (all or nothing with the
bank's scan; a bank whose post-loan book is unusable reaches none of them):

* ``facts_store.keep``: the day's post-loan facts frame kept for backtests;
* ``shadow.judge``: the published shadow rules evaluated beside the live ones, their hits stored
  apart, and every rule's hits of the night tallied (live and shadow) for the shadow report;
* ``monitoring.judge``: the published conditions of the monitoring models in force at the bank,
  their hits written as the day's suspicious records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from nongxin.core.institutions.models import Institution
from nongxin.core.rules import facts_store, monitoring, shadow

if TYPE_CHECKING:
    from nongxin.core.collateral.scan import ScanReport
    from nongxin.core.early_warning.scan import BankScan

__all__ = ["BankNight", "after_bank", "position_hits"]


@dataclass(frozen=True)
class BankNight:
    """One county bank as the scan judged it on one business date."""

    bank: Institution
    as_of: date
    #: ``early_warning.frames.post_loan_frame``: every POST_LOAN fact, and loan_id, loan_no,
    #: manager_id, institution_id (the branch), id_number.
    loans: pd.DataFrame
    #: The live post-loan hits: loan_id, rule_code, rule_version, colour.
    loan_hits: pd.DataFrame
    #: ``collateral.positions.positions`` of the bank: every COLLATERAL fact, pledge_id, item_number, ...
    positions: pd.DataFrame
    #: The live collateral hits: pledge_id, rule_code, rule_version, colour.
    position_hits: pd.DataFrame


def position_hits(report: "ScanReport") -> pd.DataFrame:
    """The collateral scan's hits as a frame (pledge_id, rule_code, rule_version, colour)."""
    return pd.DataFrame({
        "pledge_id": np.array([h.pledge_id for h in report.hits], dtype=np.int64),
        "rule_code": np.array([h.rule_code for h in report.hits], dtype=object),
        "rule_version": np.array([h.rule_version for h in report.hits], dtype=np.int64),
        "colour": np.array([h.colour for h in report.hits], dtype=object)})


def after_bank(session: Session, runtime: Any, night: BankNight, result: "BankScan") -> None:
    """The rule-management steps of one bank's night (module docstring)."""
    facts_store.keep(runtime.settings, night)
    result.shadow_hits = shadow.judge(session, runtime, night)
    result.suspicious = monitoring.judge(session, runtime, night)

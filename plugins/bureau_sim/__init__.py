"""The simulated credit bureau bundled for demos and tests (see :mod:`.report` for the markers).

It answers last (the lead wires it ``trylast``), so any real provider enabled at an institution
wins and the simulator only fills in where no real bureau is configured.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nongxin.plugins.bureau_sim.report import (
    MARKERS, SIMULATED_PROVIDER_NAME, marker_of, simulate_report,
)
from nongxin.sdk import PluginInfo, PluginKind, hookimpl
from nongxin.sdk.bureau import BureauReport, BureauSubject, Purpose

__all__ = ["MARKERS", "PLUGIN", "SIMULATED_PROVIDER_NAME", "marker_of", "nongxin_bureau_query", "simulate_report"]

PLUGIN = PluginInfo(
    name=SIMULATED_PROVIDER_NAME, version="1.0.0", kind=PluginKind.BUREAU,
    # Off unless switched on: a real province must never decide on simulated reports by accident.
    # The demo province switches it on at the province.
    enabled_by_default=False,
    description="模拟征信: deterministic simulated credit reports for demos and tests",
)


@hookimpl(trylast=True)
def nongxin_bureau_query(
    subject: BureauSubject, purpose: Purpose, authorization: Any, ctx: Any
) -> BureauReport:
    """Hook implementation: the core has already checked authorization and purpose.

    ``ctx.today`` lets tests pin the date; a context without it means the real today.
    """
    today = getattr(ctx, "today", None)
    return simulate_report(subject, today if isinstance(today, date) else date.today())

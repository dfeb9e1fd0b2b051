"""The simulated credit bureau bundled for demos and tests (see :mod:`.report` for the markers).

It answers last (the lead wires it ``trylast``), so any real provider enabled at an institution
wins and the simulator only fills in where no real bureau is configured.
"""

from __future__ import annotations

from nongxin.plugins.bureau_sim.report import (
    MARKERS, SIMULATED_PROVIDER_NAME, marker_of, simulate_report,
)
from nongxin.sdk import HookContext, PluginInfo, PluginKind, hookimpl
from nongxin.sdk.bureau import AuthorizationRef, BureauReport, BureauSubject, Purpose

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
    subject: BureauSubject, purpose: Purpose, authorization: AuthorizationRef | None, ctx: HookContext
) -> BureauReport:
    """Hook implementation: the core has already checked authorization and purpose.

    The report is as of ``ctx.business_date`` (the bank's business date, or the date a job or
    test runs "as of"), so the same subject on the same business date gets the same report.
    """
    if ctx.business_date is None:
        raise ValueError("the simulated bureau needs ctx.business_date (the core always sets it)")
    return simulate_report(subject, ctx.business_date)

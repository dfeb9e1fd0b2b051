"""Court lists delivered through ``nongxin_connectors``: ``nongxin warnings watchlist-pull``.

The promises: every connector enabled at the county bank whose ``ConnectorSpec.feeds`` names a
court list is asked for it (``fetch({"feed": kind, "since": since}, ctx)``, within the connector's
timeout; a disabled plugin is never asked), and its rows go through the same checks as a file
(``watchlists.load``), each feed in its own transaction: a connector that fails, times out,
answers in the wrong shape or sends a bad row is reported and leaves nothing behind, and the
other connectors' feeds are still loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import watchlists
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk import ConnectorSpec

__all__ = ["FeedOutcome", "pull"]


@dataclass(frozen=True)
class FeedOutcome:
    connector: str  # "plugin/connector", or the plugin when its connectors could not be listed
    kind: str
    report: watchlists.LoadReport | None
    error: str | None = None


def _rows(answer: Mapping[str, Any]) -> list[dict[str, object]]:
    rows = answer.get("rows")
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError('the feed did not answer {"rows": [mapping, ...]}')
    return [dict(r) for r in rows]


def pull(uow: UnitOfWork, principal: Principal, directory: PluginDirectory, *, county: str,
         since: date | None = None) -> list[FeedOutcome]:
    """Ask every enabled connector offering a court feed at ``county`` and load what it sends."""
    bank = watchlists.target_bank(uow.session, principal, county)
    assert bank is not None
    code = bank.code
    view = directory.view(uow.session, bank)
    specs = view.collect("nongxin_connectors", expect=ConnectorSpec)
    outcomes = [FeedOutcome(f.plugin, "", None, f.error) for f in specs.failures]
    uow.rollback()  # nothing read so far is kept: each feed loads in a transaction of its own
    for connector in specs.contributions:
        spec = connector.value
        name = f"{connector.provenance.plugin}/{spec.name}"
        for kind in spec.feeds:
            if kind not in watchlists.KINDS:
                outcomes.append(FeedOutcome(name, kind, None, f"unknown feed {kind!r}; expected one of "
                                                              f"{', '.join(watchlists.KINDS)}"))
                continue
            result = view.fetch(connector, {"feed": kind, "since": since})
            if result.failures:
                outcomes.append(FeedOutcome(name, kind, None, "; ".join(f.error for f in result.failures)))
                continue
            try:
                table = watchlists.rows_table(_rows(result.values[0]))
                report = watchlists.load(uow, principal, table, kind=kind, county=code, source=f"connector {name}")
            except (ValueError, watchlists.WatchlistRejected) as exc:
                uow.rollback()
                outcomes.append(FeedOutcome(name, kind, None, getattr(exc, "message", str(exc))))
                continue
            outcomes.append(FeedOutcome(name, kind, report))
    return outcomes

"""Court lists through connectors: each enabled feed loaded through the file checks, a failing one
reported with nothing written, the others still loaded, a disabled plugin never asked."""

from __future__ import annotations

from datetime import date
from types import ModuleType
from typing import Any, Callable

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning.models import WatchlistEntry
from nongxin.sdk import ConnectorSpec, PluginInfo, PluginKind, hookimpl
from nongxin.sdk.identity import make_resident_id

P1 = make_resident_id("370102", date(1975, 3, 4), 123)
P2 = make_resident_id("370102", date(1982, 6, 7), 456)
CALLS: list[tuple[str, Any, str]] = []


def _connector(name: str, feeds: tuple[str, ...], answer: Callable[[Any], Any]) -> ModuleType:
    mod = ModuleType(name)
    mod.PLUGIN = PluginInfo(name=name, version="1.0.0", kind=PluginKind.CONNECTOR)  # type: ignore[attr-defined]

    def fetch(subject: Any, ctx: Any) -> Any:
        CALLS.append((name, subject, ctx.institution_code))
        return answer(subject)

    @hookimpl
    def nongxin_connectors(ctx: Any) -> list[ConnectorSpec]:
        return [ConnectorSpec(name="courts", fields=(), fetch=fetch, feeds=feeds)]

    mod.nongxin_connectors = nongxin_connectors  # type: ignore[attr-defined]
    return mod


def _rows(subject: Any) -> Any:
    number = P1 if subject["feed"] == "enforcement" else P2
    return {"rows": [{"id_number": number, "name": "王大山", "case_no": f"(2025)鲁0102执{subject['feed'][:3]}",
                      "court": "历下区人民法院", "listed_on": date(2025, 11, 1), "delisted_on": None}]}


def _down(subject: Any) -> Any:
    raise RuntimeError("court gateway unreachable")


def _bad(subject: Any) -> Any:
    return {"rows": [dict(_rows(subject)["rows"][0], id_number=P1[:-1] + ("1" if P1[-1] == "0" else "0"))]}


@pytest.fixture
def nongxin_plugins() -> list[Any]:
    return [_connector("court_feed", ("enforcement", "dishonest_debtor"), _rows),
            _connector("court_feed_down", ("consumption_restriction",), _down),
            _connector("court_feed_bad", ("consumption_restriction",), _bad),
            _connector("court_feed_shapeless", ("enforcement",), lambda s: {"entries": []}),
            _connector("tax_like", (), _rows)]


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


def run(app: Any, *args: str) -> Any:
    """The command with the app's runtime, which registers this module's plugins."""
    runtime = app.extensions["nongxin"]
    return CliRunner().invoke(main, list(args), obj=Console(runtime.settings, runtime=runtime),
                              catch_exceptions=False)


def held(app: Any) -> list[tuple[str, str]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return sorted(tuple(r) for r in unit.session.execute(sa.select(WatchlistEntry.kind, WatchlistEntry.id_number)))


def test_pull_loads_every_enabled_feed_and_reports_the_failing_ones(nongxin_app, nongxin_enable) -> None:
    for plugin in ("court_feed", "court_feed_down", "court_feed_bad", "court_feed_shapeless", "tax_like"):
        nongxin_enable(plugin, "JNRCB")
    result = run(nongxin_app, "warnings", "watchlist-pull", "--county", "JNRCB", "--user", "jinan.admin",
                 "--since", "2025-10-01")
    assert result.exit_code == 1
    assert "court_feed/courts enforcement: 1 added" in result.output
    assert "court_feed/courts dishonest_debtor: 1 added" in result.output
    assert "court_feed_down/courts consumption_restriction: failed, nothing loaded" in result.output
    assert "court gateway unreachable" in result.output
    assert "court_feed_bad/courts consumption_restriction: failed" in result.output and "line 2" in result.output
    assert "court_feed_shapeless/courts enforcement: failed" in result.output and '"rows"' in result.output
    assert held(nongxin_app) == sorted([("enforcement", P1), ("dishonest_debtor", P2)])
    asked = {(name, s["feed"], s["since"]) for name, s, _ in CALLS}
    assert ("court_feed", "enforcement", date(2025, 10, 1)) in asked
    assert not any(name == "tax_like" for name, _, _ in CALLS)  # no feeds declared: never asked for one
    again = run(nongxin_app, "warnings", "watchlist-pull", "--county", "JNRCB", "--user", "jinan.admin")
    assert "court_feed/courts enforcement: 0 added, 0 updated, 1 unchanged" in again.output
    assert len(held(nongxin_app)) == 2


def test_a_plugin_not_enabled_at_the_county_bank_is_never_asked(nongxin_app, nongxin_enable) -> None:
    nongxin_enable("court_feed", "JNRCB")
    result = run(nongxin_app, "warnings", "watchlist-pull", "--county", "LYRCB", "--user", "province.admin")
    assert result.exit_code == 0 and "no connector enabled at LYRCB" in result.output
    assert CALLS == [] and held(nongxin_app) == []
    refused = run(nongxin_app, "warnings", "watchlist-pull", "--county", "LYRCB", "--user", "jinan.admin")
    assert refused.exit_code == 2 and "not found" in refused.output

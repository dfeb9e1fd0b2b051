"""``bootstrap(settings) -> Runtime``: the one place a process wires settings, database, clock,
plugins and rule books. ``create_app``, every CLI command and the batch jobs take their runtime
from here, nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from nongxin.core.clock import Clock
from nongxin.core.config import Settings

if TYPE_CHECKING:
    from nongxin.core.calendar.services import Calendars
    from nongxin.core.plugin_state.services import PluginDirectory
    from nongxin.core.plugins.host import PluginHost
    from nongxin.core.rules.books import RuleBooks


@dataclass
class Runtime:
    """What a process wires once and every request, command or job reads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    plugins: PluginDirectory
    rulebooks: RuleBooks
    #: The working-day calendar: ``runtime.calendar.get(session)`` (cached; one SELECT to check).
    calendar: Calendars

    @property
    def host(self) -> PluginHost:
        return self.plugins.host

    def as_of(self, day: date) -> Runtime:
        """The same process "as of" ``day``: same engine and plugins, business date ``day``.
        Views and rule books are cached per business date, so the copy gets its own."""
        from nongxin.core.plugin_state.services import PluginDirectory
        from nongxin.core.rules.books import RuleBooks

        clock = self.clock.as_of(day)
        directory = PluginDirectory(self.plugins.host, clock)
        return replace(self, clock=clock, plugins=directory, rulebooks=RuleBooks(directory))


def bootstrap(settings: Settings, *, plugins: Sequence[Any] = (), discover: bool = True,
              clock: Clock | None = None) -> Runtime:
    """Check the settings, open the engine (lazily: nothing connects yet), load the installed
    plugins (``discover``) and ``plugins`` given here (tests, a plugin author's own run), and build
    the rule books. Without a ``clock``, the business date is the one the day close stored.
    Raises ConfigurationError for settings production must refuse."""
    from nongxin.core.audit.chain import session_factory
    from nongxin.core.calendar.services import Calendars
    from nongxin.core.db import make_engine
    from nongxin.core.plugin_state.services import PluginDirectory
    from nongxin.core.plugins.breaker import Breakers
    from nongxin.core.plugins.host import PluginHost
    from nongxin.core.rules.books import RuleBooks

    settings.check()
    engine = make_engine(settings.database_url)
    if clock is None:  # the business date the day close stored (one small query, cached)
        from nongxin.core.credit.day_close import Books

        clock = Clock(books=Books(engine))
    host = PluginHost(Breakers(settings.breaker_threshold, settings.breaker_cooldown_seconds),
                      trace=settings.trace_plugins,
                      timeouts={"nongxin_bureau_query": float(settings.bureau_timeout_seconds),
                                "nongxin_value_collateral": float(settings.valuation_timeout_seconds)})
    if discover:
        host.load_entry_points()
    for module in plugins:
        host.register(module, source="registered by the application")
    directory = PluginDirectory(host, clock)
    return Runtime(settings=settings, engine=engine, sessions=session_factory(engine, settings.keyring()),
                   clock=clock, plugins=directory, rulebooks=RuleBooks(directory), calendar=Calendars())

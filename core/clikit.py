"""What every `nongxin` command shares: its runtime (bootstrapped lazily, so `--help` needs no
database), the operator it acts as, `--as-of`, and one way errors reach the terminal.

Each domain module keeps its commands in its own ``cli.py`` (``core/institutions/cli.py``,
``core/bureau/cli.py``, ...); ``core/cli.py`` registers them on the one ``nongxin`` group. A
command parses its options, calls one service and prints the result: the checks live in the
services, which the API calls too.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Callable, Iterator

import click

from nongxin.core.config import Settings
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, describe
from nongxin.sdk.errors import NongxinSdkError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from nongxin.core.auth import Principal
    from nongxin.core.plugin_state.services import PluginDirectory
    from nongxin.core.rules.books import RuleBooks
    from nongxin.core.runtime import Runtime


class Console:
    """What every command works with: its runtime, bootstrapped lazily (so `--help` works without
    a database) by :func:`nongxin.core.runtime.bootstrap`, like the app's."""

    def __init__(self, settings: Settings, *, runtime: "Runtime | None" = None) -> None:
        settings.check()  # the same refusals as the app: a weak production secret stops every command
        from nongxin.core.logmask import install_on_loggers

        install_on_loggers()  # what a command logs has identity numbers masked, as in the app
        self.settings = settings
        self._runtime = runtime
        self._as_of: date | None = None

    @property
    def runtime(self) -> "Runtime":
        if self._runtime is None:
            from nongxin.core.runtime import bootstrap

            self._runtime = bootstrap(self.settings)
        if self._as_of is not None and self._runtime.clock.business_date() != self._as_of:
            self._runtime = self._runtime.as_of(self._as_of)
        return self._runtime

    def as_of(self, day: date) -> None:
        """Run this command "as of" ``day``: the business date its hooks and rule books see."""
        self._as_of = day

    @property
    def engine(self) -> "Engine":
        return self.runtime.engine

    @property
    def sessions(self) -> "sessionmaker[Session]":
        return self.runtime.sessions

    @property
    def plugins(self) -> "PluginDirectory":
        return self.runtime.plugins

    @property
    def rulebooks(self) -> "RuleBooks":
        return self.runtime.rulebooks

    def require_schema(self) -> None:
        """Before the first read: a database without the current schema is a one-line error naming
        the command to run, not a traceback (and an empty SQLite file is not created)."""
        if getattr(self, "_schema_ok", False):
            return
        from nongxin.core.errors import ConfigurationError
        from nongxin.core.migrate import schema_problem

        problem = schema_problem(self.engine)
        if problem:
            raise ConfigurationError(problem, code="schema_not_current")
        self._schema_ok = True

    @contextmanager
    def uow(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        self.require_schema()
        with UnitOfWork(self.sessions, write=write) as unit:
            yield unit


def console_of(ctx: click.Context) -> Console:
    """The command's Console, made on first use from the environment's settings."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = Console(Settings.from_env())
    return root.obj


def _set_as_of(ctx: click.Context, _param: click.Parameter, value: datetime | None) -> None:
    if value is not None:
        console_of(ctx).as_of(value.date())


def as_of_option(fn: Callable[..., None]) -> Callable[..., None]:
    """``--as-of YYYY-MM-DD`` for a command that decides or scans: the command runs with that
    business date (hooks see it as ``ctx.business_date``; rule books are those in force that day)."""
    return click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), default=None, expose_value=False,
                        callback=_set_as_of, is_eager=False,
                        help="Business date to run as of (YYYY-MM-DD; default: the books' date).")(fn)


def yuan(_ctx: click.Context, _param: click.Parameter, value: str) -> Decimal:
    """A click callback: the option's text as a finite Decimal amount of yuan, or a usage error
    naming it (the service then checks sign, fen and range, as for the API)."""
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount of yuan (write e.g. 50000.00)") from None
    if not amount.is_finite():
        raise click.BadParameter(f"{value!r} is not an amount of yuan (write e.g. 50000.00)")
    return amount


def fail(exc: NongxinError | NongxinSdkError, status: int | None = None) -> None:
    """The message and exit status from the one table in ``nongxin.core.errors`` (``status``: a
    command's own exit status for every refusal instead, as ``scorecard fit``'s 1)."""
    seen = describe(exc)
    first, *rest = seen.lines()
    click.secho(first, fg="red", err=True)
    for line in rest:
        click.echo(line, err=True)
    sys.exit(seen.exit_status if status is None else status)


class Group(click.Group):
    """Turns the core's and the SDK's errors into a clear message and exit status, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (NongxinError, NongxinSdkError) as exc:
            fail(exc)
            return None


def operator(unit: UnitOfWork) -> "Principal | None":
    """The console operator acts for the province; on an empty database, as the bootstrapper."""
    import getpass

    from nongxin.core.auth import system_principal
    from nongxin.core.institutions.services import root

    top = root(unit.session)
    return system_principal(top, f"cli:{getpass.getuser()}") if top else None


def province_operator(unit: UnitOfWork) -> "Principal":
    """Commands other than the bootstrap ones need the tree to exist."""
    from nongxin.core.errors import ConfigurationError

    acting = operator(unit)
    if acting is None:
        raise ConfigurationError("the database has no institutions yet: run `nongxin db upgrade`, then "
                                 "`nongxin institutions import FILE` (or `nongxin demo`)")
    return acting


def as_user(unit: UnitOfWork, username: str) -> "Principal":
    """The named, active user as the services see a caller (commands run "on behalf of" a user)."""
    from nongxin.core.institutions.users import principal_named

    return principal_named(unit.session, username)

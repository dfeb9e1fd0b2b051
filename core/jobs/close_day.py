"""``nongxin close-day [--to DATE]``: close each business date from the books' date through ``to``,
in order, each county bank in its own transaction (``credit.day_close.close_bank_day``).

The promise: dates are closed one at a time and in order; a (bank, date) already closed is skipped,
so a run that crashed half way resumes at the first (bank, date) not in ``day_closes``, and a second
run is a no-op. ``to`` before the books' date, or after today's date in China, is refused with a
message, and nothing is closed. Each county bank gets a progress bar while it closes and a log line
with its counts and seconds.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Callable

import click
import sqlalchemy as sa

from nongxin.core.clock import CHINA
from nongxin.core.credit.day_close import STEPS, BankClose, close_bank_day
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import ValidationFailed
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.runtime import Runtime

__all__ = ["run", "close_day"]

log = logging.getLogger("nongxin.close_day")


def _county_banks(runtime: Runtime) -> list[Institution]:
    with UnitOfWork(runtime.sessions, write=False) as unit:
        banks = list(unit.session.execute(sa.select(Institution).where(Institution.level == Level.COUNTY)
                                          .order_by(Institution.code)).scalars())
        unit.session.expunge_all()
    return banks


def run(runtime: Runtime, *, to: date, progress: bool = True, actor: str = "close-day",
        echo: Callable[[str], None] | None = None) -> list[BankClose]:
    """Close every date from the business date through ``to`` for every county bank; what each
    (bank, date) did, in order. ``echo`` receives each bank's log line (it is also logged)."""
    start = runtime.clock.business_date()
    if to < start:
        raise ValidationFailed(f"--to {to} is before the books' date {start}: closed days are never closed again",
                               fields={"to": [f"must be on or after {start}"]})
    today = runtime.clock.now().astimezone(CHINA).date()
    if to > today:
        raise ValidationFailed(f"--to {to} has not begun yet: today is {today} in China",
                               fields={"to": [f"must be on or before {today}"]})
    banks = _county_banks(runtime)
    done: list[BankClose] = []
    day = start
    while day <= to:
        for bank in banks:
            done.append(_close_one(runtime, bank, day, actor=actor, progress=progress))
            log.info(done[-1].line())
            if echo is not None:
                echo(done[-1].line())
        refresh = getattr(runtime.clock.books, "refresh", None)
        if callable(refresh):
            refresh()
        day += timedelta(days=1)
    return done


def _close_one(runtime: Runtime, bank: Institution, day: date, *, actor: str, progress: bool) -> BankClose:
    if not progress:
        return close_bank_day(runtime.sessions, bank, day, actor=actor)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"{bank.code} {day}", total=len(STEPS))
        return close_bank_day(runtime.sessions, bank, day, actor=actor, progress=lambda _step: bar.advance(task))


@click.command("close-day")
@click.option("--to", "to", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Close every business date through this one (YYYY-MM-DD; default: the books' date, once).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def close_day(ctx: click.Context, to: object, quiet: bool) -> None:
    """Close the business day (日终): due and overdue installments, overdue days, penalty and compound
    products, expired credit lines, the day's loan snapshot; each county bank in turn."""
    import getpass

    from nongxin.core.clikit import console_of

    console = console_of(ctx)
    console.require_schema()
    runtime = console.runtime
    until = to.date() if to is not None else runtime.clock.business_date()  # type: ignore[attr-defined]
    done = run(runtime, to=until, progress=not quiet, actor=f"cli:{getpass.getuser()}", echo=click.echo)
    closed = [c for c in done if not c.skipped]
    click.echo(f"closed {len(closed)} county bank day(s); books now at {runtime.clock.business_date()}")

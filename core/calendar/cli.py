"""`nongxin calendar`: the province's working-day overrides, from the server's console.

The console operator acts as the province admin (as for every other command); each change is
audited under the operator's name, as through the API.
"""

from __future__ import annotations

from datetime import datetime

import click
from marshmallow import ValidationError

from nongxin.core.calendar.domain import DayKind

DAY = click.DateTime(["%Y-%m-%d"])


@click.group("calendar")
def calendar() -> None:
    """Working-day calendar: official holidays (chinesecalendar) and the province's overrides."""


@calendar.command("set")
@click.argument("day", type=DAY)
@click.argument("kind", type=click.Choice([k.value for k in DayKind]))
@click.option("--note", default="", help="Why (e.g. 国务院办公厅通知 2026-11).")
@click.pass_context
def calendar_set(ctx: click.Context, day: datetime, kind: str, note: str) -> None:
    """Make DAY (YYYY-MM-DD) a working day or a holiday for the whole province."""
    from nongxin.core.calendar import services
    from nongxin.core.clikit import console_of as _console, province_operator as _province_operator
    from nongxin.core.calendar.schemas import DaySet
    from nongxin.core.errors import invalid

    try:  # the same checks as the API's body (length, control characters)
        note = DaySet().load({"kind": kind, "note": note})["note"]
    except ValidationError as exc:
        raise invalid("note", " ".join(map(str, exc.messages_dict.get("note", [str(exc)])))) from None
    with _console(ctx).uow() as unit:
        entry = services.set_day(unit, _province_operator(unit), day.date(), DayKind(kind), note)
        unit.commit()
    click.echo(f"{entry.day.isoformat()} is now a {entry.kind.value} (override"
               f"{', the package says ' + entry.official.value if entry.official else ''})")


@calendar.command("clear")
@click.argument("day", type=DAY)
@click.pass_context
def calendar_clear(ctx: click.Context, day: datetime) -> None:
    """Remove DAY's override: the official data (or Monday to Friday) answers again."""
    from nongxin.core.calendar import services
    from nongxin.core.clikit import console_of as _console, province_operator as _province_operator

    console = _console(ctx)
    with console.uow() as unit:
        services.clear_day(unit, _province_operator(unit), day.date())
        unit.commit()
    with console.uow(write=False) as unit:
        answer = console.runtime.calendar.get(unit.session).is_workday(day.date())
    click.echo(f"cleared {day.date().isoformat()}: now a {answer.kind.value} ({answer.source.value})")


@calendar.command("show")
@click.option("--year", type=click.IntRange(1900, 2999), default=None, help="Default: this year (China time).")
@click.pass_context
def calendar_show(ctx: click.Context, year: int | None) -> None:
    """List a year's holidays and adjusted working days, and where each comes from."""
    from nongxin.core.calendar import services
    from nongxin.core.clikit import console_of as _console, province_operator as _province_operator

    console = _console(ctx)
    with console.uow(write=False) as unit:
        today = console.runtime.clock.business_date()
        listing = services.list_days(unit, _province_operator(unit), year or today.year)
        problem = services.coverage_problem(console.runtime.calendar.get(unit.session), today)
    coverage = {"package": "official holidays from the chinesecalendar package",
                "overrides": "holidays entered by the province (not in the package)",
                "missing": "NO official holidays: Monday to Friday assumed, deadlines estimated"}
    click.echo(f"{listing.year}: {coverage[listing.coverage]}")
    for e in listing.days:
        extra = f" (package: {e.official.value})" if e.official else ""
        by = f" by {e.updated_by}" if e.updated_by else ""
        click.echo(f"  {e.day.isoformat()} {e.day:%a}  {e.kind.value:<8} {e.source.value:<9} {e.note}{extra}{by}")
    if problem:
        click.secho(f"warning: {problem}", fg="yellow", err=True)

"""`nongxin lines list|show|freeze|unfreeze|close --user NAME`: credit lines (授信) from the console,
on behalf of a named user, through the same services and checks as the API; a refusal is a
one-line message naming the field or the line's state, never a traceback."""

from __future__ import annotations

from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


@click.group("lines")
def lines() -> None:
    """Credit lines (授信): list, show, freeze, unfreeze, close."""


def _echo(line: dict[str, Any]) -> None:
    customer = line["customer"]
    click.echo(f"{line['number']}  {line['status']}  at {line['institution']} ({line['county_bank']})")
    click.echo(f"  customer    {customer['id']} {customer['name']} {customer['id_number']}")
    click.echo(f"  amount      {line['amount']}  used {line['used']}  available {line['available']}")
    click.echo(f"  terms       rate {line['annual_rate']}  {'revolving' if line['revolving'] else 'one-off'}  "
               f"products {', '.join(line['products'])}")
    click.echo(f"  runs        {line['start_on']} to {line['end_on']}"
               f"{'  from ' + line['application'] if line['application'] else ''}")
    cover = line.get("collateral")
    if cover is not None and (cover["items"] or cover["exposure"] != "0.00"):
        click.echo(f"  collateral  eligible {cover['eligible']}  limit {cover['limit']}  ltv {cover['ltv'] or 'unsecured'}"
                   f"  shortfall {cover['shortfall']}  ({len(cover['items'])} items pledged)")
    for loan in line.get("loans", []):
        click.echo(f"  loan        {loan['loan_no']:<22} {loan['status']:<12} principal {loan['principal']:>14}  "
                   f"outstanding {loan['outstanding']:>14}")


@lines.command("list")
@click.option("--user", "username", required=True, help="The user reading.")
@click.option("--customer", "customer_id", type=int, default=None, help="Only this customer's.")
@click.option("--status", default=None, help="Only lines in this state (active, frozen, expired, closed).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def lines_list(ctx: click.Context, username: str, customer_id: int | None, status: str | None, limit: int,
               offset: int) -> None:
    """List credit lines of the user's subtree, newest first."""
    from nongxin.core.credit import lines as services
    from nongxin.core.credit.models import CreditLineStatus
    from nongxin.core.errors import invalid

    states = [s.value for s in CreditLineStatus]
    if status is not None and status not in states:
        raise invalid("status", f"must be one of: {', '.join(states)}")
    filters = services.LineFilters(customer_id=customer_id, status=CreditLineStatus(status) if status else None,
                                   limit=limit, offset=offset)
    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        for line in services.list_lines(unit, who, filters):
            shown = services.details(unit, who, line, loans=False)
            click.echo(f"{line.id:>6}  {line.number:<22} {line.status.value:<8} {shown['amount']:>14} "
                       f"used {shown['used']:>14}  {line.customer.name}")


@lines.command("show")
@click.argument("line_id", type=int)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def lines_show(ctx: click.Context, line_id: int, username: str) -> None:
    """Show one credit line, what is used and available, and its loans."""
    from nongxin.core.credit import lines as services
    from nongxin.core.permissions import Action

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        who = as_user(unit, username)
        _echo(services.details(unit, who, services.visible_line(unit, who, line_id, Action.CREDIT_LINE_READ),
                               on=console.runtime.clock.business_date()))


def _move(ctx: click.Context, line_id: int, username: str, reason: str, to: str) -> None:
    from nongxin.core.credit import lines as services
    from nongxin.core.credit.models import CreditLineStatus

    with console_of(ctx).uow() as unit:
        line = services.change_status(unit, as_user(unit, username), line_id, CreditLineStatus(to), reason=reason)
        number, status = line.number, line.status.value
        unit.commit()
    click.echo(f"{number} is {status}")


def _command(name: str, to: str, doc: str) -> None:
    @lines.command(name)
    @click.argument("line_id", type=int)
    @click.option("--user", "username", required=True, help="The user acting.")
    @click.option("--reason", default="", help="Why (kept in the audit trail).")
    @click.pass_context
    def move(ctx: click.Context, line_id: int, username: str, reason: str) -> None:
        _move(ctx, line_id, username, reason, to)

    move.help = doc


_command("freeze", "frozen", "Freeze an active credit line: nothing is drawn on it until unfrozen.")
_command("unfreeze", "active", "Unfreeze a frozen credit line.")
_command("close", "closed", "Close a credit line for good (its loans run on).")

"""``nongxin warnings list|counts --user NAME``: warnings from the console, on behalf of a named
user, through the same services and subtree as the API (``core.early_warning.warnings``); a bad
filter is a one-line message naming the field, never a traceback. ``--json`` prints the API's rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def _dump(rows: Any) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2, default=str)


@click.command("list")
@click.option("--colour", default=None, help="red, orange or yellow.")
@click.option("--status", default=None, help="open or closed.")
@click.option("--institution", default=None, help="Only warnings at or under this institution.")
@click.option("--rule", default=None, help="Only this rule code.")
@click.option("--loan", "loan_no", default=None, help="Only this loan number.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--user", "username", required=True, help="The user looking (their subtree only).")
@click.pass_context
def list_cmd(ctx: click.Context, colour: str | None, status: str | None, institution: str | None, rule: str | None,
             loan_no: str | None, limit: int, offset: int, as_json: bool, username: str) -> None:
    """List warnings in the user's subtree, newest first."""
    from nongxin.core.early_warning.warnings import WarningFilters, list_warnings

    with console_of(ctx).uow(write=False) as unit:
        rows = list_warnings(unit, as_user(unit, username), WarningFilters(
            colour=colour, status=status, institution=institution, rule=rule, loan_no=loan_no, limit=limit,
            offset=offset))
    if as_json:
        click.echo(_dump(rows))
        return
    if not rows:
        click.echo("no warnings")
    for w in rows:
        task = f"task {w['open_task']}" if w["open_task"] else "no open task"
        click.echo(f"{w['id']:>8}  {w['colour']:<6} {w['status']:<6} {w['rule']} v{w['rule_version']}  "
                   f"{w['loan_no'] or w['line_number'] or '-'}  {w['institution']}  first {w['first_seen']} "
                   f"last {w['last_seen']}  {task}  {w['reason']}")


@click.command("counts")
@click.option("--by", type=click.Choice(["colour", "county_bank", "rule", "day"]), default="colour",
              show_default=True)
@click.option("--status", default=None, help="open or closed.")
@click.option("--from", "from_day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First seen on or after.")
@click.option("--to", "to_day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First seen on or before.")
@click.option("--institution", default=None, help="Only warnings at or under this institution.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--user", "username", required=True, help="The user looking (their subtree only).")
@click.pass_context
def counts_cmd(ctx: click.Context, by: str, status: str | None, from_day: datetime | None, to_day: datetime | None,
               institution: str | None, as_json: bool, username: str) -> None:
    """Count warnings in the user's subtree by colour, county bank, rule or day first seen."""
    from nongxin.core.early_warning.warnings import counts

    with console_of(ctx).uow(write=False) as unit:
        rows = counts(unit, as_user(unit, username), by, status=status,
                      from_day=from_day.date() if from_day else None, to_day=to_day.date() if to_day else None,
                      institution=institution)
    if as_json:
        click.echo(_dump(rows))
        return
    if not rows:
        click.echo("no warnings")
    for row in rows:
        click.echo(f"{row['key']:<20} {row['count']:>8}")


def register(group: click.Group) -> None:
    """Add ``list`` and ``counts`` to the ``warnings`` group."""
    group.add_command(list_cmd)
    group.add_command(counts_cmd)

"""``nongxin rules shadow-report --user NAME --institution CODE``: the shadow report from the
console, on behalf of a named user, through the same service and subtree as the API
(``core.rules.shadow_report``): a rich table per day and rule, then the totals; ``--json`` prints
the API's answer. A bad date range or another bank's institution is a one-line message."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


@click.command("shadow-report")
@click.option("--institution", required=True, help="County banks at or under this institution.")
@click.option("--from", "from_day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First business date (default: 29 days before --to).")
@click.option("--to", "to_day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Last business date (default: the business date).")
@click.option("--stage", type=click.Choice(["admission", "post_loan", "collateral"]), default=None)
@click.option("--rule", "rule_id", type=click.IntRange(1), default=None, help="Only this shadow rule (its id).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--user", "username", required=True, help="The user looking (their subtree only).")
@click.pass_context
def shadow_report_cmd(ctx: click.Context, institution: str, from_day: datetime | None, to_day: datetime | None,
                      stage: str | None, rule_id: int | None, as_json: bool, username: str) -> None:
    """Shadow rules' hits per day beside the live rules of the same code."""
    from rich.console import Console as Rich
    from rich.table import Table

    from nongxin.core.rules.shadow_report import FIGURES, report

    console = console_of(ctx)
    end = to_day.date() if to_day else console.runtime.clock.business_date()
    start = from_day.date() if from_day else end - timedelta(days=29)
    with console.uow(write=False) as unit:
        found = report(unit, as_user(unit, username), console.runtime, institution=institution, start=start,
                       end=end, stage=stage, rule_id=rule_id)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2, default=str))
        return
    out = Rich(width=160)
    for title, rows, first in ((f"shadow rules at {found['institution']}, {start} to {end}", found["rows"],
                                "business_date"), ("totals", found["totals"], "days")):
        if not rows:
            click.echo("no shadow rule hits")
            return
        table = Table(title=title)
        for column in (first, "stage", "rule", *FIGURES):
            table.add_column(column, justify="right" if column in FIGURES or column == "days" else "left")
        for r in rows:
            table.add_row(_cell(r[first]), r["stage"], f"{r['rule_code']} v{r['rule_version']} #{r['rule_id']}",
                          *(_cell(r[f]) for f in FIGURES))
        out.print(table)


def register(group: click.Group) -> None:
    """Add ``shadow-report`` to the ``rules`` group."""
    group.add_command(shadow_report_cmd)

"""``nongxin rules backtest --user U --stage S (--expression E | --rule ID...) --institution CODE``:
the backtest service (``core.rules.backtest``) from the console, on behalf of a named user; a table
by county bank and branch and the sample (rich), or ``--json`` (the API's answer). A bad input is a
one-line message naming the field, never a traceback."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from nongxin.core.clikit import as_user, console_of

__all__ = ["backtest_command", "register"]


def register(rules: click.Group) -> None:
    rules.add_command(backtest_command)


def _print(answer: dict[str, Any]) -> None:
    out = Console()
    rules = ", ".join(f"{r['code']} v{r['version']} ({r['outcome']})" for r in answer["rules"])
    out.print(f"{answer['stage']} backtest at {answer['institution']} on {answer['as_of']} from {answer['source']}: "
              f"{answer['hits']} of {answer['population']} hit by {rules} in {answer['seconds']} s")
    for row in answer["by_rule"]:
        out.print(f"  {row['code']}: {row['hits']}")
    table = Table("county bank", "branch", "name", "population", "hits")
    for bank in answer["by_county_bank"]:
        table.add_row(bank["county_bank"], "", bank["name"] or "", str(bank["population"]), str(bank["hits"]))
        for branch in answer["by_branch"]:
            if branch["county_bank"] == bank["county_bank"]:
                table.add_row("", branch["branch"], branch["name"] or "", str(branch["population"]),
                              str(branch["hits"]))
    out.print(table)
    if answer["sample"]:
        sample = Table("subject", "county bank", "branch", "rules", "facts")
        for s in answer["sample"]:
            sample.add_row(s["subject"], s["county_bank"], s["branch"] or "", ", ".join(s["rules"]),
                           ", ".join(f"{k}={v}" for k, v in s["facts"].items()))
        out.print(sample)
    if answer["changed"] is not None:
        out.print(f"changed outcomes: {answer['changed']['total']}")
        for row in answer["changed"]["from_to"]:
            out.print(f"  {row['from']} -> {row['to']}: {row['count']}")


@click.command("backtest")
@click.option("--user", "username", required=True, help="The user running the backtest (their subtree only).")
@click.option("--stage", type=click.Choice(["admission", "post_loan", "collateral"]), required=True)
@click.option("--expression", default=None, help="An expression to try (rule code BACKTEST).")
@click.option("--rule", "rule_ids", type=click.IntRange(1), multiple=True, help="A stored rule's id (repeatable).")
@click.option("--outcome", default=None, help="The expression's outcome (default the stage's severest).")
@click.option("--institution", required=True, help="The institution whose county banks are backtested (a code).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The business date (YYYY-MM-DD; default the current one).")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True,
              help="Admission: how many days of decisions.")
@click.option("--sample", type=click.IntRange(0, 200), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.pass_context
def backtest_command(ctx: click.Context, username: str, stage: str, expression: str | None, rule_ids: tuple[int, ...],
                     outcome: str | None, institution: str, as_of: datetime | None, days: int, sample: int,
                     as_json: bool) -> None:
    """What an expression or stored rules would hit over a day's facts, by county bank and branch."""
    from nongxin.core.errors import invalid
    from nongxin.core.rules.backtest import backtest

    if (expression is None) == (not rule_ids):
        raise invalid("expression", "give exactly one of --expression and --rule")
    console = console_of(ctx)
    with console.uow() as unit:
        answer = backtest(unit, as_user(unit, username), console.runtime, stage=stage, expression=expression,
                          outcome=outcome, rule_ids=list(rule_ids) or None, institution=institution,
                          as_of=as_of.date() if as_of else None, days=days, sample=sample)
        unit.commit()
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        _print(answer)

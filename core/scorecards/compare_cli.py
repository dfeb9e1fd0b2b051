"""``nongxin scorecard compare`` and ``nongxin scorecard history``, on behalf of a named user,
through the same services and checks as the API (``compare``, ``history``): a refusal is a
one-line message naming the field, never a traceback."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def _day(value: datetime | None) -> Any:
    return value.date() if value is not None else None


def _print(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    click.echo(f"{body['institution']}  segment {body['segment']}  challenger {body['challenger'] or '-'} "
               f"(versions {', '.join(map(str, body['versions'])) or '-'})  champions "
               f"{', '.join(body['champions']) or '-'}")
    click.echo(f"decisions {body['decisions']}  paired {body['paired']}  pearson {body['pearson'] or '-'}  "
               f"spearman {body['spearman'] or '-'}")
    o, ks = body["outcomes"], body["ks"]
    click.echo(f"outcomes as of {o['as_of']} (seasoned {o['min_months']} months): goods {o['goods']}  "
               f"bads {o['bads']}  unknown {o['unknown']}")
    click.echo(f"KS champion {ks['champion'] or '-'}  challenger {ks['challenger'] or '-'}"
               + (f"  ({ks['reason']})" if ks["reason"] else ""))
    matrix = body["migration"]
    table = Table(title="grade migration (rows: champion, columns: challenger)")
    grades = list(matrix)
    table.add_column("champion \\ challenger")
    for g in grades:
        table.add_column(g, justify="right")
    for g in grades:
        table.add_row(g, *(str(matrix[g][c]) for c in grades))
    Console().print(table)


def register(scorecard: click.Group) -> None:
    @scorecard.command("compare")
    @click.option("--institution", required=True, help="Institution code (the subtree compared).")
    @click.option("--segment", required=True, help="The segment (farmer, salaried, ...).")
    @click.option("--challenger", default=None, help="Challenger code (default: the segment's only one).")
    @click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="From this business date.")
    @click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Up to this business date.")
    @click.option("--min-months", type=click.IntRange(0, 120), default=6, show_default=True,
                  help="A good loan must have been drawn this many months ago.")
    @click.option("--json", "as_json", is_flag=True, help="Print the API's JSON body.")
    @click.option("--user", "username", required=True, help="The user reading.")
    @click.pass_context
    def compare_cmd(ctx: click.Context, institution: str, segment: str, challenger: str | None,
                    since: datetime | None, until: datetime | None, min_months: int, as_json: bool,
                    username: str) -> None:
        """Compare the champion with a challenger scored in shadow: correlation, grade migration, KS."""
        from nongxin.core.scorecards import compare as service

        console = console_of(ctx)
        with console.uow(write=False) as unit:
            body = service.compare(unit, as_user(unit, username), institution, segment, challenger, _day(since),
                                   _day(until), today=console.runtime.clock.business_date(),
                                   min_months=min_months)
        if as_json:
            from nongxin.core.scorecards.compare_api import ChallengerCompareOut

            click.echo(json.dumps(ChallengerCompareOut().dump(body), ensure_ascii=False, indent=2))
        else:
            _print(body)

    @scorecard.command("history")
    @click.option("--institution", required=True, help="Institution code (the subtree exported).")
    @click.option("--segment", required=True, help="The segment (farmer, salaried, ...).")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="FILE.csv or FILE.parquet")
    @click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Decided on or after this date.")
    @click.option("--min-months", type=click.IntRange(0, 120), default=6, show_default=True,
                  help="A good loan must have been drawn this many months ago.")
    @click.option("--user", "username", required=True, help="The user exporting.")
    @click.pass_context
    def history_cmd(ctx: click.Context, institution: str, segment: str, out: Path, since: datetime | None,
                    min_months: int, username: str) -> None:
        """Export the segment's decided applications with their facts and outcome (target) for fitting."""
        from nongxin.core.scorecards.history import export

        console = console_of(ctx)
        with console.uow() as unit:
            done = export(unit, as_user(unit, username), institution, segment, out,
                          today=console.runtime.clock.business_date(), since=_day(since), min_months=min_months)
        click.echo(f"wrote {done.rows} rows to {done.path} ({done.bads} bad, {done.goods} good; "
                   f"{done.unknown} left out: outcome unknown)")
        click.echo(f"columns: {', '.join(done.columns)}")
        click.echo(f"next: nongxin scorecard fit {done.path} --target target --segment {segment}")

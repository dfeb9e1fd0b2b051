"""``nongxin scorecard monitor|warnings|close-warning --user NAME``: the stability monitor (PSI)
and its model warnings from the console, through the same services and checks as the API.

``monitor`` runs the monitor for the county banks of ``--institution`` (default: the user's) on
``--as-of`` (default: the business date), then prints its figures: card, version, segment, bank,
subject, population, PSI and status (稳定 stable below 0.1, 关注 watch up to the threshold, 偏移
shift above it), or ``--json``. ``nongxin scan`` runs the monitor after the annual review unless
``--no-models`` (``monitored``, ``print_figures``). Exit status 1 when a bank failed.
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of

__all__ = ["monitored", "print_figures", "print_report", "register"]


def register(scorecard: click.Group) -> None:
    for command in (monitor_command, warnings_command, close_command):
        scorecard.add_command(command)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def monitored(runtime: Any, day: date | None, institution: str | None, *, bar: bool) -> Any:
    """The nightly monitor's report, with a progress bar per county bank on a terminal when ``bar``."""
    from rich.progress import Progress

    from nongxin.core.early_warning.scan import county_bank_ids
    from nongxin.core.scorecards import monitor

    if not bar:
        return monitor.run_nightly(runtime, day, institution)
    total = len(county_bank_ids(runtime, institution))
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("scorecard stability", total=total or None)
        return monitor.run_nightly(runtime, day, institution, lambda code, n: progress.update(
            task, advance=1, description=f"{code}: {n} scorecards"))


def print_report(report: Any) -> None:
    """The summary per county bank of a monitor run."""
    from rich.console import Console as Rich
    from rich.table import Table

    table = Table(title=f"scorecard stability monitor (模型稳定性监测) as of {report.as_of}")
    for name in ("bank", "cards", "decisions", "figures", "raised", "refreshed", "failures"):
        table.add_column(name, justify="left" if name in ("bank", "failures") else "right")
    for b in report.banks:
        table.add_row(b.county_bank, str(b.cards), str(b.decisions), str(b.figures), str(b.raised), str(b.refreshed),
                      "[red]" + "; ".join(b.failures) + "[/]" if b.failures else "")
    Rich(width=None if sys.stdout.isatty() else 200).print(table)


def print_figures(figures: dict[str, Any]) -> None:
    """The PSI table: one row per card, bank and subject."""
    from rich.console import Console as Rich
    from rich.table import Table

    table = Table(title=f"scorecard stability (PSI) as of {figures['as_of'] or '-'}")
    names = ("card", "version", "segment", "bank", "subject", "population", "PSI", "status")
    for name in names:
        table.add_column(name, justify="right" if name in ("version", "population", "PSI") else "left")
    colour = {"shift": "red", "watch": "yellow", "stable": "green", "too_few": "dim"}
    for f in figures["items"]:
        label = f"[{colour[f['status']]}]{f['status_label']}[/]" + (f" ({f['reason']})" if f["reason"] else "")
        table.add_row(f["scorecard_code"], str(f["scorecard_version"]), f["segment"], f["county_bank"], f["subject"],
                      str(f["population"]), f["psi"] or "-", label)
    Rich(width=None if sys.stdout.isatty() else 200).print(table)


@click.command("monitor")
@click.option("--institution", default=None, help="The county banks of this institution's subtree (default: the user's).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The date to judge (YYYY-MM-DD; default: the business date).")
@click.option("--json", "as_json", is_flag=True, help="The figures as JSON instead of a table.")
@click.option("--user", "username", required=True, help="The user running it (scorecard.monitor).")
@click.pass_context
def monitor_command(ctx: click.Context, institution: str | None, as_of: datetime | None, as_json: bool,
                    username: str) -> None:
    """Population stability (PSI) of each scorecard in use, recent decisions against the card's
    development sample, for the score and each variable; a PSI above scorecard.psi_threshold raises
    a model warning (模型预警) for the province's model team."""
    from nongxin.core.scorecards import monitor

    console = console_of(ctx)
    runtime = console.runtime
    with console.uow() as unit:
        who = as_user(unit, username)
        report = monitor.run(unit, who, runtime, institution, as_of.date() if as_of else None)
    with console.uow(write=False) as unit:
        figures = monitor.stability(unit, as_user(unit, username), institution, report.as_of)
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "figures": [{k: _plain(v) for k, v in f.items()}
                                                               for f in figures["items"]]},
                              ensure_ascii=False, indent=2))
    else:
        print_figures(figures)
        print_report(report)
    failed = [b for b in report.banks if b.failures]
    for b in failed:
        click.secho(f"scorecard monitor failed at {b.county_bank}: {'; '.join(b.failures)}", fg="red", err=True)
    if failed:
        ctx.exit(1)


@click.command("warnings")
@click.option("--status", type=click.Choice(["open", "closed"]), default=None, help="Only warnings in this state.")
@click.option("--institution", default=None, help="The county banks of this institution's subtree (default: the user's).")
@click.option("--user", "username", required=True, help="The user reading (scorecard.read).")
@click.pass_context
def warnings_command(ctx: click.Context, status: str | None, institution: str | None, username: str) -> None:
    """Model warnings (模型预警): a scorecard's PSI above the threshold, newest first."""
    from nongxin.core.scorecards import monitor

    with console_of(ctx).uow(write=False) as unit:
        rows = monitor.warnings(unit, as_user(unit, username), status, institution)
    if not rows:
        click.echo("no model warnings")
    for w in rows:
        click.echo(f"{w['id']:>6}  {w['status']:<6} {w['county_bank']:<8} {w['scorecard_code']} v{w['scorecard_version']}"
                   f"  {w['subject']:<32} PSI {w['psi']} (last {w['last_psi']} on {w['last_seen_on']})"
                   f"  raised {w['raised_on']}{'  note: ' + w['note'] if w['note'] else ''}")


@click.command("close-warning")
@click.argument("warning_id", type=int)
@click.option("--note", required=True, help="Why it is closed (the card refitted, the shift understood, ...).")
@click.option("--user", "username", required=True, help="The user closing it (scorecard.monitor).")
@click.pass_context
def close_command(ctx: click.Context, warning_id: int, note: str, username: str) -> None:
    """Close an open model warning with a note (audited)."""
    from nongxin.core.scorecards import monitor

    with console_of(ctx).uow() as unit:
        w = monitor.close_warning(unit, as_user(unit, username), warning_id, note)
    click.echo(f"model warning {w['id']} closed: {w['scorecard_code']} v{w['scorecard_version']} {w['subject']}")

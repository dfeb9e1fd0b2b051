"""``nongxin village annual-review``: the nightly annual review (年检) of credit lines
(``village.annual_review``) as a job: a progress bar per county bank, then a summary table (due,
passed, on-site, frozen, reduced, tasks, failures), or ``--json``. ``nongxin scan`` runs it after
the classification unless ``--no-review``.

Exit status 0 when every bank was reviewed; 1, with the banks and their problems on stderr, when
any failed (the others are written).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any

import click

from nongxin.core.clikit import console_of, fail
from nongxin.core.errors import NongxinError

__all__ = ["print_report", "register", "review_command", "reviewed"]


def register(village: click.Group) -> None:
    village.add_command(review_command)


def reviewed(runtime: Any, day: date | None, institution: str | None, *, bar: bool) -> Any:
    """The review's report, with a progress bar per county bank on a terminal when ``bar``."""
    from rich.progress import Progress

    from nongxin.core.early_warning.scan import county_bank_ids
    from nongxin.core.village import annual_review

    if not bar:
        return annual_review.run(runtime, as_of=day, institution=institution)
    total = len(county_bank_ids(runtime, institution))
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("annual review", total=total or None)
        return annual_review.run(runtime, as_of=day, institution=institution, progress=lambda code, n: progress.update(
            task, advance=1, description=f"{code}: {n} lines due"))


def print_report(report: Any) -> None:
    """The summary table of a review's report."""
    from rich.console import Console as Rich
    from rich.table import Table

    out = Rich(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"annual review (年检) as of {report.as_of}")
    names = ("bank", "due", "passed", "on_site", "frozen", "reduced", "tasks", "failures")
    for name in names:
        table.add_column(name, justify="left" if name in ("bank", "failures") else "right")
    for b in report.banks:
        table.add_row(b.county_bank, str(b.due), str(b.passed), str(b.on_site), str(b.frozen), str(b.reduced),
                      str(b.tasks_opened), "[red]" + "; ".join(b.failures) + "[/]" if b.failures else "")
    out.print(table)


@click.command("annual-review")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The business date to review on (YYYY-MM-DD; default: the current one).")
@click.option("--institution", default=None, help="Only the county banks of this institution's subtree (a code).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON instead of a table.")
@click.pass_context
def review_command(ctx: click.Context, as_of: datetime | None, institution: str | None, as_json: bool) -> None:
    """Review every credit line whose annual review (年检) has fallen due: refreshed facts (a
    post-loan bureau query, connectors), the admission rules and the product's limit again; a pass,
    or an on-site check task and, per the county's setting, the line frozen or reduced."""
    console = console_of(ctx)
    try:
        console.require_schema()
        report = reviewed(console.runtime, as_of.date() if as_of else None, institution, bar=not as_json)
    except NongxinError as exc:
        fail(exc)
        return
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report)
    failed = [b for b in report.banks if b.failures]
    for b in failed:
        click.secho(f"annual review failed at {b.county_bank}: {'; '.join(b.failures)}", fg="red", err=True)
    if failed:
        ctx.exit(1)

"""``nongxin scan``: the nightly post-loan scan (``early_warning.scan``) as a job, run after the day
close: a progress bar per county bank, a summary table (loans, positions, hits, new, updated,
reopened, tasks opened, failures), or ``--json``; then the classification and the annual review of
credit lines (``--no-classify``, ``--no-review`` skip them), then the scorecard stability monitor
(PSI, ``--no-models`` skips it).

When a task's deadline was counted on weekends only (the calendar had no official data for a
year), a loud line on stderr names the missing year and the fix. Exit status 0 when every bank was
scanned; 1, with the banks and their problems on stderr, when any failed (the others are written).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from nongxin.core.clikit import console_of
from nongxin.core.early_warning.cluster import cluster_options, runner_for

__all__ = ["register", "scan_command"]


def register(main: click.Group) -> None:
    main.add_command(scan_command)


@click.command("scan")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The business date to scan (YYYY-MM-DD): a closed date (its ledger snapshot) or the current "
                   "one (default).")
@click.option("--institution", default=None, help="Only the county banks of this institution's subtree (a code).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON instead of a table.")
@click.option("--no-classify", "no_classify", is_flag=True,
              help="Skip the five-tier classification that follows the scan (`nongxin classification run`).")
@click.option("--no-review", "no_review", is_flag=True,
              help="Skip the annual review of credit lines that follows the classification "
                   "(`nongxin village annual-review`).")
@click.option("--no-models", "no_models", is_flag=True,
              help="Skip the scorecard stability monitor (PSI) that follows the annual review "
                   "(`nongxin scorecard monitor`).")
@cluster_options
@click.pass_context
def scan_command(ctx: click.Context, as_of: datetime | None, institution: str | None, as_json: bool,
                 no_classify: bool, no_review: bool, no_models: bool, dask: str | None, workers: int | None,
                 parquet_dir: str | None) -> None:
    """Run the post-loan and collateral rules over every loan and pledge of each county bank:
    warnings (预警) red/orange/yellow, and a task with a working-day deadline for each new one; then
    escalate overdue tasks and, unless --no-classify, classify every loan (五级分类); then, unless
    --no-review, review the credit lines whose annual review (年检) has fallen due; then, unless
    --no-models, watch the scorecards' stability (PSI, 模型稳定性监测)."""
    import sqlalchemy as sa
    from rich.console import Console as Rich
    from rich.progress import Progress
    from rich.table import Table

    from nongxin.core.calendar.domain import coverage_problem
    from nongxin.core.collateral.scan import county_banks
    from nongxin.core.early_warning import scan
    from nongxin.core.institutions.models import Institution

    console = console_of(ctx)
    runtime = console.runtime
    with console.uow(write=False) as unit:  # checks the schema; counts the banks for the bars
        top = unit.session.execute(sa.select(Institution).where(Institution.code == institution)).scalar_one_or_none() \
            if institution else None
        total = len(county_banks(unit.session, top)) if top is not None or institution is None else 0
    day = as_of.date() if as_of else None
    with runner_for(dask, workers, parquet_dir) as runner:  # the rules on a Dask cluster, or here
        if as_json:
            report = scan.scan(runtime, as_of=day, institution=institution, runner=runner)
        else:
            with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
                task = bar.add_task("post-loan scan", total=total or None)
                report = scan.scan(runtime, as_of=day, institution=institution, runner=runner,
                                   progress=lambda code, n: bar.update(task, advance=1,
                                                                       description=f"{code}: {n} loans"))
    classes = None
    if not no_classify and not report.failed:  # the nightly order: scan, then classification
        from nongxin.core.early_warning.classification import classify

        classes = classify(runtime, as_of=day, institution=institution)
    reviews = None
    if not no_review and not report.failed:  # then the annual review of credit lines (年检)
        from nongxin.core.village.annual_review_cli import reviewed

        reviews = reviewed(runtime, day, institution, bar=not as_json)
    models = None
    if not no_models and not report.failed:  # then the scorecards' stability (PSI, 模型稳定性监测)
        from nongxin.core.scorecards.monitor_cli import monitored

        models = monitored(runtime, day, institution, bar=not as_json)
    if as_json:
        body = report.as_dict()
        if classes is not None:
            body["classification"] = classes.as_dict()
        if reviews is not None:
            body["annual_review"] = reviews.as_dict()
        if models is not None:
            body["scorecard_monitor"] = models.as_dict()
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        out = Rich(width=None if sys.stdout.isatty() else 200)
        table = Table(title=f"post-loan scan as of {report.as_of}")
        names = ("bank", "loans", "positions", "hits", "new", "updated", "reopened", "tasks", "escalated",
                 "failures")
        for name in names:
            table.add_column(name, justify="left" if name in ("bank", "failures") else "right")
        for b in report.banks:
            table.add_row(b.county_bank, str(b.loans), str(b.positions), str(b.hits), str(b.new), str(b.updated),
                          str(b.reopened), str(b.tasks_opened), str(b.escalated), "[red]" + "; ".join(b.failures) + "[/]" if b.failures
                          else "")
        out.print(table)
        if classes is not None:
            from nongxin.core.early_warning.classification_cli import print_report

            print_report(classes)
        if reviews is not None:
            from nongxin.core.village.annual_review_cli import print_report as print_reviews

            print_reviews(reviews)
        if models is not None:
            from nongxin.core.scorecards.monitor_cli import print_report as print_models

            print_models(models)
    if report.deadline_estimated:
        with console.uow(write=False) as unit:
            problem = coverage_problem(runtime.calendar.get(unit.session), report.as_of) or (
                "a counted day had no official holiday data: add it with `nongxin calendar set DAY holiday` "
                "or upgrade chinesecalendar")
        click.secho(f"WARNING: task deadlines are ESTIMATED (weekends only): {problem}", fg="yellow", bold=True,
                    err=True)
    failed = [b for b in report.banks if b.failures]
    for b in failed:
        click.secho(f"scan failed at {b.county_bank}: {'; '.join(b.failures)}", fg="red", err=True)
    if reviews is not None and reviews.failed:
        for b in reviews.banks:
            if b.failures:
                click.secho(f"annual review failed at {b.county_bank}: {'; '.join(b.failures)}", fg="red", err=True)
    if failed and not no_classify:
        click.secho("classification not run: fix the scan's failures and run `nongxin scan` again", fg="red",
                    err=True)
    for b in models.banks if models is not None else []:
        if b.failures:
            click.secho(f"scorecard monitor failed at {b.county_bank}: {'; '.join(b.failures)}", fg="red", err=True)
    if failed or (reviews is not None and reviews.failed) or (models is not None and models.failed):
        ctx.exit(1)

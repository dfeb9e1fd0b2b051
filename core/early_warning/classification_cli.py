"""``nongxin classification run|show|set|approve|reject|npl``: the five-tier classification from
the console. ``run`` is the nightly job (``classification.classify``, after the scan): a progress
bar per county bank, then a table of loans by tier and the NPL ratio per bank. The others act on
behalf of a named user (``--user``) through the same services as the API (``classify_services``):
another county bank's loan is "not found", a better class than the floor waits for a second person."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import click

from nongxin.core.clikit import as_of_option, as_user, console_of
from nongxin.core.early_warning.domain import TIER_LABELS, TIERS

if TYPE_CHECKING:
    from nongxin.core.early_warning.classification import ClassifyReport


def register(group: click.Group) -> None:
    for command in (run_command, show_command, set_command, approve_command, reject_command, npl_command):
        group.add_command(command)


def _user_option(fn: click.decorators.FC) -> click.decorators.FC:
    return click.option("--user", "username", required=True, help="The user acting (audited as the actor).")(fn)


@click.command("run")
@as_of_option
@click.option("--institution", default=None, help="Only the county banks of this institution's subtree (a code).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON instead of a table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def run_command(ctx: click.Context, institution: str | None, as_json: bool, quiet: bool) -> None:
    """Classify every loan (five tiers) as of the business date; write classes, history and NPL ratios."""
    from rich.progress import Progress

    from nongxin.core.early_warning.classification import classify

    console = console_of(ctx)
    console.require_schema()
    if quiet or as_json:
        report = classify(console.runtime, institution=institution)
    else:
        with Progress(transient=True) as bar:
            task = bar.add_task("classification", total=None)
            report = classify(console.runtime, institution=institution,
                              progress=lambda code, n: bar.update(task, advance=1, description=f"{code}: {n} loans"))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    print_report(report)


def print_report(report: ClassifyReport) -> None:
    """The classification's summary table: loans by tier, changes and NPL ratio per county bank."""
    from rich.console import Console as Rich
    from rich.table import Table

    table = Table(title=f"five-tier classification as of {report.as_of}")
    for name in ("bank", "loans", *(f"{t} {TIER_LABELS[t]}" for t in TIERS), "changes", "NPL ratio"):
        table.add_column(name, justify="left" if name == "bank" else "right")
    for b in report.banks:
        table.add_row(b.county_bank, str(b.loans), *(str(b.by_tier.get(t, 0)) for t in TIERS), str(b.changes),
                      f"{b.npl_ratio * 100:.4f}%")
    Rich(width=200).print(table)


@click.command("show")
@click.argument("loan_no")
@_user_option
@click.pass_context
def show_command(ctx: click.Context, loan_no: str, username: str) -> None:
    """A loan's class, floor, manual state, requests and history."""
    from nongxin.core.early_warning.classify_services import show

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        body = show(unit, as_user(unit, username), loan_no)
    click.echo(f"{body['loan_no']}: {body['tier'] or 'not yet classified'} (floor {body['floor']}; {body['reason']}; "
               f"since {body['since'] or '-'})")
    if body["manual_tier"]:
        click.echo(f"  manual class {body['manual_tier']} (set against floor {body['manual_floor']})")
    for r in body["requests"]:
        click.echo(f"  request {r['id']}: {r['tier']} {r['status']} by {r['requested_by']} ({r['reason']})")
    for h in body["history"]:
        click.echo(f"  {h['business_date']}: {h['from_tier'] or '-'} -> {h['to_tier']} by {h['actor']} ({h['reason']})")


@click.command("set")
@click.argument("loan_no")
@click.argument("tier", type=click.Choice(TIERS))
@click.option("--reason", required=True, help="Why the loan deserves this class.")
@_user_option
@click.pass_context
def set_command(ctx: click.Context, loan_no: str, tier: str, reason: str, username: str) -> None:
    """Set a loan's class by judgment (worse than the floor: at once; better: pending approval)."""
    from nongxin.core.early_warning.classify_services import propose

    console = console_of(ctx)
    with console.uow() as unit:
        request = propose(unit, as_user(unit, username), loan_no, tier, reason, console.runtime.clock.business_date())
        unit.commit()
        click.echo(f"request {request.id}: {loan_no} {tier} {request.status.value}"
                   + (" (needs a second person's approval)" if request.status.value == "pending" else ""))


def _decide(ctx: click.Context, request_id: int, username: str, approve: bool) -> None:
    from nongxin.core.early_warning.classify_services import decide

    console = console_of(ctx)
    with console.uow() as unit:
        request = decide(unit, as_user(unit, username), request_id, approve, console.runtime.clock.business_date())
        unit.commit()
        click.echo(f"request {request.id}: {request.tier} {request.status.value} by {username}")


@click.command("approve")
@click.argument("request_id", type=int)
@_user_option
@click.pass_context
def approve_command(ctx: click.Context, request_id: int, username: str) -> None:
    """Approve a pending manual class (not your own): it applies at once."""
    _decide(ctx, request_id, username, True)


@click.command("reject")
@click.argument("request_id", type=int)
@_user_option
@click.pass_context
def reject_command(ctx: click.Context, request_id: int, username: str) -> None:
    """Reject a pending manual class (not your own)."""
    _decide(ctx, request_id, username, False)


@click.command("npl")
@click.option("--institution", default=None, help="An institution in your subtree (default: your own).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First business date.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last business date.")
@_user_option
@click.pass_context
def npl_command(ctx: click.Context, institution: str | None, start: datetime | None, end: datetime | None,
                username: str) -> None:
    """Non-performing loan ratios per institution and business date."""
    from nongxin.core.early_warning.classify_services import npl

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        inst, rows = npl(unit, as_user(unit, username), institution, start.date() if start else None,
                         end.date() if end else None)
    click.echo(f"NPL ratios under {inst.code}: {len(rows)} rows")
    for r in rows:
        click.echo(f"{r['business_date']}  {r['institution']:<12} loans {r['loans']:>7}  outstanding "
                   f"{r['outstanding']:>16}  non-performing {r['npl_outstanding']:>16}  ratio {r['ratio']}")

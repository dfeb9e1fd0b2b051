"""``nongxin village precredit|offers|offer|accept|decline|expire-offers``: batch pre-credit (预授信)
from the console, on behalf of a named user (``--user``), through the same services and checks as
the API (``core.village.precredit``, ``core.village.offers``); a refusal is a one-line message
naming the field or the offer's state, never a traceback. ``precredit`` shows a progress bar per
county bank and a summary table, or ``--json``; ``--dask ADDRESS`` / ``--workers N`` evaluate on a
Dask cluster (``core.village.precredit_cluster``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of

__all__ = ["register"]


def register(village: click.Group) -> None:
    for command in (precredit_command, offers_command, offer_command, accept_command, decline_command,
                    expire_command):
        village.add_command(command)


@click.command("precredit")
@click.argument("village_id", type=int, required=False)
@click.option("--county", default=None, help="Every village of this county bank (or of every county bank under "
                                             "this institution), instead of one village.")
@click.option("--product", default=None, help="The product (default: the one farmer-segment product offered).")
@click.option("--user", "username", required=True, help="The user running it (county admin or approver).")
@click.option("--dask", "dask", metavar="tcp://HOST:PORT|local", default=None,
              help="Evaluate on the Dask scheduler at this address, or `local` for a local cluster.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Evaluate on a local Dask cluster of N worker processes.")
@click.option("--json", "as_json", is_flag=True, help="The counts as JSON instead of a table.")
@click.pass_context
def precredit_command(ctx: click.Context, village_id: int | None, county: str | None, product: str | None,
                      username: str, dask: str | None, workers: int | None, as_json: bool) -> None:
    """Pre-credit every green or white household of a village (or of a county bank): one offer per
    household (offered, referred or rejected), valid for the county's village.offer_days."""
    from rich.console import Console as Rich
    from rich.progress import Progress
    from rich.table import Table

    from nongxin.core.errors import invalid
    from nongxin.core.village.precredit import run_precredit
    from nongxin.core.village.precredit_cluster import evaluator_for

    if (village_id is None) == (county is None):
        raise invalid("village", "give a VILLAGE_ID or --county CODE, not both or neither")
    console = console_of(ctx)
    with evaluator_for(dask, workers) as evaluator, console.uow() as unit:
        who = as_user(unit, username)
        if as_json:
            results = run_precredit(unit, who, console.runtime, village=village_id, institution=county,
                                    product=product, evaluator=evaluator)
        else:
            with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
                tasks: dict[str, Any] = {}

                def progress(code: str, done: int, total: int) -> None:
                    if code not in tasks:
                        tasks[code] = bar.add_task(f"pre-credit {code}", total=total or None)
                    bar.update(tasks[code], completed=done, description=f"{code}: {done}/{total} households")

                results = run_precredit(unit, who, console.runtime, village=village_id, institution=county,
                                        product=product, progress=progress, evaluator=evaluator)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        return
    table = Table(title="batch pre-credit (预授信)")
    names = ("run", "bank", "households", "offered", "referred", "rejected", "superseded", "expired", "seconds")
    for name in names:
        table.add_column(name, justify="left" if name == "bank" else "right")
    for r in results:
        table.add_row(str(r.run_id), r.county_bank, str(r.households), str(r.offered), str(r.referred),
                      str(r.rejected), str(r.superseded), str(r.expired), f"{r.seconds:.2f}")
    Rich(width=None if sys.stdout.isatty() else 200).print(table)


def _echo(offer: dict[str, Any]) -> None:
    customer = offer["customer"]
    click.echo(f"{offer['id']:>6}  {offer['status']:<10} {offer['product']:<8} {offer['limit'] or '-':>12}  "
               f"rate {offer['rate'] or '-':<8} grade {offer['grade'] or '-':<3} {offer['colour'] or '-':<5} "
               f"household {offer['household']}  {customer['name']} {customer['id_number']}  "
               f"until {offer['expires_on']}")


@click.command("offers")
@click.option("--user", "username", required=True, help="The user reading.")
@click.option("--village", "village_id", type=int, default=None, help="Only this village's.")
@click.option("--status", default=None, help="Only offers in this state (offered, referred, rejected, accepted, "
                                             "declined, expired, superseded).")
@click.option("--institution", default=None, help="Only offers under this institution (a code).")
@click.option("--run", "run_id", type=int, default=None, help="Only this run's.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def offers_command(ctx: click.Context, username: str, village_id: int | None, status: str | None,
                   institution: str | None, run_id: int | None, limit: int, offset: int) -> None:
    """List pre-credit offers of the user's subtree, newest first."""
    from nongxin.core.errors import invalid
    from nongxin.core.village import offers
    from nongxin.core.village.models import OfferStatus

    states = [s.value for s in OfferStatus]
    if status is not None and status not in states:
        raise invalid("status", f"must be one of: {', '.join(states)}")
    filters = offers.OfferFilters(village_id=village_id, status=OfferStatus(status) if status else None,
                                  institution=institution, run_id=run_id, limit=limit, offset=offset)
    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        for offer in offers.list_offers(unit, who, filters):
            _echo(offers.offer_details(unit, who, offer))


@click.command("offer")
@click.argument("offer_id", type=int)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def offer_command(ctx: click.Context, offer_id: int, username: str) -> None:
    """Show one offer with its rule hits and reasons."""
    from nongxin.core.permissions import Action
    from nongxin.core.village import offers

    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        shown = offers.offer_details(unit, who, offers.visible_offer(unit, who, offer_id, Action.VILLAGE_READ))
    _echo(shown)
    click.echo(f"  outcome   {shown['outcome']}  score {shown['score']}  run {shown['run']}  "
               f"application {shown['application'] or '-'}")
    for hit in shown["rule_hits"]:
        click.echo(f"  rule hit  {hit}")
    for reason in shown["reasons"]:
        click.echo(f"  reason    {reason}")


@click.command("accept")
@click.argument("offer_id", type=int)
@click.option("--signature", "signature_ref", required=True,
              help="The signed contract's or the e-signature's reference.")
@click.option("--term", "term_months", type=click.IntRange(1, 600), default=None, help="Term in months "
                                                                                      "(default: the product's longest).")
@click.option("--repayment", "repayment_method", default=None, help="Repayment method (default: the product's first).")
@click.option("--user", "username", required=True, help="The customer manager.")
@click.pass_context
def accept_command(ctx: click.Context, offer_id: int, signature_ref: str, term_months: int | None,
                   repayment_method: str | None, username: str) -> None:
    """Accept an offer with the household's consent and signature: an application is filed and decided."""
    from nongxin.core.village import offers

    console = console_of(ctx)
    with console.uow() as unit:
        result = offers.accept(unit, as_user(unit, username), console.runtime, offer_id, signature_ref=signature_ref,
                               term_months=term_months, repayment_method=repayment_method)
    application, line = result["application"], result["credit_line"]
    click.echo(f"offer {offer_id} accepted: application {application['number']} {application['status']}"
               f" ({application['outcome'] or 'undecided'})")
    if line is not None:
        click.echo(f"credit line {line['number']} {line['amount']} {line['status']}")


@click.command("decline")
@click.argument("offer_id", type=int)
@click.option("--reason", default="", help="Why (kept in the audit trail).")
@click.option("--user", "username", required=True, help="The customer manager.")
@click.pass_context
def decline_command(ctx: click.Context, offer_id: int, reason: str, username: str) -> None:
    """The household declines an offer."""
    from nongxin.core.village import offers

    console = console_of(ctx)
    with console.uow() as unit:
        offers.decline(unit, as_user(unit, username), console.runtime, offer_id, reason=reason)
        unit.commit()
    click.echo(f"offer {offer_id} declined")


@click.command("expire-offers")
@click.pass_context
def expire_command(ctx: click.Context) -> None:
    """Mark offered and referred offers past their date expired (a nightly job)."""
    import getpass

    from nongxin.core.village.precredit import expire_offers

    console = console_of(ctx)
    with console.uow() as unit:
        n = expire_offers(unit, console.runtime.clock.business_date(), actor=f"cli:{getpass.getuser()}")
        unit.commit()
    click.echo(f"{n} offers expired")

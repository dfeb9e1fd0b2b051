"""Loan-application commands, run on behalf of a named user (``--user``): the same services and
checks as the API; a refusal is a one-line message naming the field, never a traceback."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click

from nongxin.core.clikit import as_of_option, as_user, console_of, yuan


@click.group()
def applications() -> None:
    """Loan applications (贷款申请): file, list, show, withdraw."""


def _form(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    form: dict[str, str] = {}
    for item in values:
        name, sep, answer = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r}: write NAME=VALUE, e.g. monthly_income=8000")
        form[name.strip()] = answer
    return form


def _echo(app: dict[str, Any]) -> None:
    customer = app["customer"]
    click.echo(f"{app['number']}  {app['status']}  at {app['institution']} ({app['county_bank']})")
    click.echo(f"  customer    {customer['id']} {customer['name']} {customer['id_number']}")
    click.echo(f"  product     {app['product']}  {app['amount']} yuan, {app['term_months']} months, "
               f"{app['repayment_method']}")
    click.echo(f"  channel     {app['channel']}{' ' + app['channel_ref'] if app['channel_ref'] else ''}"
               f"  filed by {app['filed_by']} at {app['filed_at']:%Y-%m-%d %H:%M}")
    if app["guarantors"]:
        click.echo(f"  guarantors  {', '.join(map(str, app['guarantors']))}")
    for name, answer in app["form"].items():
        click.echo(f"  form        {name} = {answer}")
    decision = app["decision"]
    if decision is not None:
        click.echo(f"  decision    {decision['outcome']}  limit {decision['limit'] or '-'}  rate {decision['rate'] or '-'}"
                   f"{'  category ' + decision['refusal_category'] if decision['refusal_category'] else ''}")
    for task in app["review_tasks"]:
        click.echo(f"  review      {task['tier']:<13} {task['assignee']:<16} due {task['due_on']}  "
                   f"{task['opinion'] or 'open'}")


@applications.command("file")
@click.option("--user", "username", required=True, help="The customer manager filing (the investigator).")
@click.option("--customer", "customer_id", type=int, required=True, help="The customer's id.")
@click.option("--product", required=True, help="Product code, e.g. XIN_E_DAI.")
@click.option("--amount", required=True, callback=yuan, help="Yuan, e.g. 50000.00.")
@click.option("--term", "term_months", type=int, required=True, help="Term in months.")
@click.option("--method", "repayment_method", required=True, help="Repayment method, e.g. equal_installment.")
@click.option("--purpose", default="", help="What the loan is for.")
@click.option("--form", "form", multiple=True, callback=_form, metavar="NAME=VALUE",
              help="A form answer the product requires; repeat for several.")
@click.option("--guarantor", "guarantors", type=int, multiple=True, help="A guarantor's customer id; repeat.")
@click.option("--channel", default="counter", show_default=True,
              help="counter, mobile_app, wechat, qr_code or batch_precredit")
@click.option("--channel-ref", default="", help="The code scanned (qr_code channel).")
@as_of_option
@click.pass_context
def applications_file(ctx: click.Context, username: str, customer_id: int, product: str, amount: Decimal,
                      term_months: int, repayment_method: str, purpose: str, form: dict[str, str],
                      guarantors: tuple[int, ...], channel: str, channel_ref: str) -> None:
    """File an application, checked against the product's spec at the user's institution."""
    from nongxin.core.credit import applications as services

    console = console_of(ctx)
    filing = services.Filing(customer_id=customer_id, product_code=product, amount=amount, term_months=term_months,
                             repayment_method=repayment_method, channel=channel, purpose=purpose, form=form,
                             guarantor_ids=list(guarantors), channel_ref=channel_ref)
    with console.uow() as unit:
        who = as_user(unit, username)
        app = services.file(unit, who, console.plugins, filing, today=console.runtime.clock.business_date())
        unit.commit()
        _echo(services.details(unit, who, app))


@applications.command("list")
@click.option("--user", "username", required=True, help="The user reading.")
@click.option("--status", default=None, help="Only applications in this state.")
@click.option("--assigned-to-me", is_flag=True, help="Only those waiting on the user.")
@click.option("--institution", default=None, help="Only those filed at or below this institution.")
@click.option("--customer", "customer_id", type=int, default=None, help="Only this customer's.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def applications_list(ctx: click.Context, username: str, status: str | None, assigned_to_me: bool,
                      institution: str | None, customer_id: int | None, limit: int, offset: int) -> None:
    """List applications of the user's subtree, newest first."""
    from nongxin.core.credit import applications as services
    from nongxin.core.credit.models import ApplicationStatus
    from nongxin.core.errors import invalid

    states = [s.value for s in ApplicationStatus]
    if status is not None and status not in states:
        raise invalid("status", f"must be one of: {', '.join(states)}")
    filters = services.Filters(status=ApplicationStatus(status) if status else None, assigned_to_me=assigned_to_me,
                               institution=institution, customer_id=customer_id, limit=limit, offset=offset)
    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        for app in services.list_applications(unit, who, filters):
            click.echo(f"{app.id:>6}  {app.number:<22} {app.status.value:<16} {app.product_code:<12} "
                       f"{format(app.amount, 'f'):>14}  {app.customer.name}")


@applications.command("show")
@click.argument("application_id", type=int)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def applications_show(ctx: click.Context, application_id: int, username: str) -> None:
    """Show one application, its decision's outcome and its review tasks."""
    from nongxin.core.credit import applications as services
    from nongxin.core.permissions import Action

    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        _echo(services.details(unit, who, services.visible_application(unit, who, application_id,
                                                                       Action.APPLICATION_READ)))


@applications.command("withdraw")
@click.argument("application_id", type=int)
@click.option("--user", "username", required=True, help="The customer manager or county admin withdrawing.")
@click.option("--reason", required=True, help="Why the application is withdrawn.")
@click.pass_context
def applications_withdraw(ctx: click.Context, application_id: int, username: str, reason: str) -> None:
    """Withdraw an open application (a closed one is refused, naming its state)."""
    from nongxin.core.credit import applications as services

    with console_of(ctx).uow() as unit:
        app = services.withdraw(unit, as_user(unit, username), application_id, reason)
        number = app.number
        unit.commit()
    click.echo(f"{number} withdrawn")

"""``nongxin loans ...``: loans on the books, on behalf of a named user (``--user``), through the
same services as the API. Commands are added by ``register(group)`` functions of their modules."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import click

from nongxin.core.clikit import as_of_option, as_user, console_of, yuan


@click.group("loans")
def loans() -> None:
    """Loans (贷款): show, list, draw under a credit line, repay."""


# -- list, show, draw (issue 11 part C) ---------------------------------------------------------

def _echo(loan: dict[str, Any]) -> None:
    borrower = loan["borrower"]
    line = loan["credit_line"]
    click.echo(f"{loan['loan_no']}  {loan['status']}  at {loan['institution']} ({loan['county_bank']})")
    click.echo(f"  borrower     {borrower['name']} {borrower['id_number']}"
               f"{'  line ' + line['number'] if line else ''}  manager {loan['manager'] or '-'}")
    click.echo(f"  terms        {loan['product']}  {loan['principal']} yuan at {loan['annual_rate']}, "
               f"{loan['term_months']} months, {loan['repayment_method']}; {loan['disbursed_on']} to "
               f"{loan['maturity_on']}  account {loan['account'] or '-'}")
    click.echo(f"  balances     outstanding {loan['outstanding']}  overdue principal {loan['overdue_principal']}  "
               f"overdue interest {loan['overdue_interest']}  penalty {loan['penalty_owed']}  "
               f"compound {loan['compound_owed']}  overdue days {loan['overdue_days']}")
    click.echo(f"  schedule v{loan['schedule_version']}")
    for row in loan["schedule"]:
        click.echo(f"    {row['seq']:>3}  {row['due_on']}  principal {row['principal']:>12}  interest "
                   f"{row['interest']:>10}  paid {row['paid_principal']}/{row['paid_interest']}  {row['status']}")
    for move in loan["transactions"]:
        click.echo(f"  {move['kind']:<13} {move['value_date']}  {move['amount']:>12}  by {move['created_by']}")


@loans.command("list")
@click.option("--user", "username", required=True, help="The user reading.")
@click.option("--status", default=None, help="Only loans in this state.")
@click.option("--overdue/--not-overdue", default=None, help="Only overdue loans (or only loans not overdue).")
@click.option("--customer", "customer_id", type=int, default=None, help="Only this customer's.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def loans_list(ctx: click.Context, username: str, status: str | None, overdue: bool | None,
               customer_id: int | None, limit: int, offset: int) -> None:
    """List the loans of the user's subtree, newest first."""
    from nongxin.core.credit import loans as services
    from nongxin.core.credit.models import LoanStatus
    from nongxin.core.errors import invalid

    states = [s.value for s in LoanStatus]
    if status is not None and status not in states:
        raise invalid("status", f"must be one of: {', '.join(states)}")
    filters = services.LoanFilters(status=LoanStatus(status) if status else None, overdue=overdue,
                                   customer_id=customer_id, limit=limit, offset=offset)
    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        for loan in services.list_loans(unit, who, filters):
            click.echo(f"{loan.loan_no:<22} {loan.status.value:<12} {loan.product_code:<12} "
                       f"{format(loan.outstanding, 'f'):>14}  {loan.overdue_days:>4}d  {loan.borrower_name}")


@loans.command("show")
@click.argument("loan_no")
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def loans_show(ctx: click.Context, loan_no: str, username: str) -> None:
    """Show one loan: terms, balances, the current schedule and the transactions."""
    from nongxin.core.credit import loans as services
    from nongxin.core.permissions import Action

    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        _echo(services.details(unit, who, services.visible_loan(unit, who, loan_no, Action.LOAN_READ)))


@loans.command("draw")
@click.argument("line_id", type=int)
@click.option("--user", "username", required=True, help="The customer manager drawing.")
@click.option("--amount", required=True, callback=yuan, help="Yuan, e.g. 50000.00.")
@click.option("--term-months", type=int, required=True, help="Term in months.")
@click.option("--method", "repayment_method", required=True, help="Repayment method, e.g. equal_installment.")
@click.option("--account", required=True, help="The customer's account the loan is paid to.")
@click.option("--product", default=None, help="Product code (may be left out when the line has one).")
@click.option("--key", default=None, help="Idempotency key; a new one is made (and printed) when left out. "
                                          "Run again with the same key to retry safely.")
@as_of_option
@click.pass_context
def loans_draw(ctx: click.Context, line_id: int, username: str, amount: Decimal, term_months: int,
               repayment_method: str, account: str, product: str | None, key: str | None) -> None:
    """Draw a loan under a credit line (用信), once per key."""
    from nongxin.core.credit import drawdowns
    from nongxin.core.credit import loans as services

    key = key or uuid.uuid4().hex
    click.echo(f"idempotency key {key}")
    console = console_of(ctx)
    request = drawdowns.DrawRequest(amount=amount, term_months=term_months, repayment_method=repayment_method,
                                    account=account, product=product)
    with console.uow() as unit:
        who = as_user(unit, username)
        drawn = drawdowns.draw(unit, who, console.runtime, line_id, request, key)
        if drawn.replayed:
            click.echo("already drawn under this key: nothing new was written")
        _echo(services.details(unit, who, drawn.loan))

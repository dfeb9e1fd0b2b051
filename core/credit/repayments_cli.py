"""``nongxin loans repay LOAN_NO --amount --paid-on --key --user``: a repayment at the counter,
on behalf of a named user, through the same service as the API (``core.credit.repayments``).

``register(group)`` adds the command to the ``loans`` group of ``core/credit/loans_cli.py``. Errors
(an unknown loan, a closed loan, an amount above the payoff) print the core's message and exit 2,
never a traceback.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import click

from nongxin.core.clikit import as_user, console_of
from nongxin.core.credit.schemas import MONEY_TEXT
from nongxin.core.errors import invalid


def _amount(text: str) -> Decimal:
    """The ``--amount`` as Decimal yuan, or a 422 naming the option."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("0")
    if not MONEY_TEXT.match(text.strip()) or value <= 0:
        raise invalid("amount", f"{text!r} is not a positive amount of yuan with at most two decimals (e.g. 1052.35)")
    return value


@click.command("repay")
@click.argument("loan_no")
@click.option("--amount", required=True, help="Yuan, e.g. 1052.35.")
@click.option("--paid-on", "paid_on", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="The business date the money counts for (YYYY-MM-DD).")
@click.option("--key", required=True, help="An idempotency key: the same key again repays nothing twice.")
@click.option("--user", "username", required=True, help="The user taking the repayment (audited as the actor).")
@click.pass_context
def repay_command(ctx: click.Context, loan_no: str, amount: str, paid_on: datetime, key: str, username: str) -> None:
    """Take a repayment of a loan and print its allocation and the loan's balances."""
    from nongxin.core.credit.idempotency import checked_key
    from nongxin.core.credit.repayments import balances, repay

    console = console_of(ctx)
    value = _amount(amount)
    with console.uow() as unit:
        done = repay(unit, as_user(unit, username), console.runtime, loan_no, value, paid_on.date(), checked_key(key))
        txn, loan = done.transaction, done.loan
        parts = {k: v for k, v in txn.detail["allocation"].items() if Decimal(v)}
        after = balances(loan)
        status = loan.status.value
        said = f"transaction {txn.id}, {txn.amount} yuan on {txn.value_date}"
        if not done.replayed:
            unit.commit()
    head = "already taken under this key (nothing written)" if done.replayed else "repaid"
    click.echo(f"loan {loan_no}: {head}: {said}")
    for name, value_text in parts.items():
        click.echo(f"  {name}: {value_text}")
    click.echo(f"status {status}, outstanding {after['outstanding']}, overdue principal {after['overdue_principal']}, "
               f"overdue interest {after['overdue_interest']}, penalty due {after['penalty_due']}, "
               f"compound due {after['compound_due']}, schedule version {after['schedule_version']}")


def register(group: click.Group) -> None:
    """Add ``repay`` to a ``loans`` group."""
    group.add_command(repay_command)

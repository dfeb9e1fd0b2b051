"""``nongxin applications decide ID --user NAME``: the automated decision from the command line,
on behalf of a named customer manager, through the same service as the API.

``register(group)`` adds the command to the ``applications`` group of ``core/credit/cli.py``.
"""

from __future__ import annotations

import click

from nongxin.core.clikit import as_of_option, as_user, console_of


@click.command("decide")
@click.argument("application_id", type=int)
@click.option("--user", "username", required=True, help="The customer manager deciding (audited as the actor).")
@as_of_option
@click.pass_context
def decide_command(ctx: click.Context, application_id: int, username: str) -> None:
    """Run the automated decision of one application and print why it was decided so."""
    from nongxin.core.credit.decision import decide

    console = console_of(ctx)
    with console.uow() as unit:
        done = decide(unit, as_user(unit, username), console.runtime, application_id)
        number, status = done.application.number, done.application.status.value
        decision = done.decision
        lines = []
        if decision is not None:
            outcome = decision.record["outcome"]
            lines.append(f"outcome: {decision.outcome}"
                         + (f" ({decision.refusal_category})" if decision.refusal_category else "")
                         + (f", {outcome['approved_amount']} yuan at {outcome['rate']}" if outcome["approved_amount"]
                            else ""))
            lines += [f"  {reason}" for reason in outcome["reasons"]]
    click.echo(f"application {number}: {status}")
    for m in done.missing_consent:
        click.echo(f"  missing consent: customer {m['customer']} {m['name']} purpose {m['purpose']} ({m['reason']})")
    for line in lines:
        click.echo(line)


def register(group: click.Group) -> None:
    """Add the decision commands to an ``applications`` group."""
    group.add_command(decide_command)

"""`nongxin review act|overdue|draw`: the manual review steps from the console, on behalf of a
named user (act) or as the province operator (overdue, draw). The checks are the services'."""

from __future__ import annotations

import click

from nongxin.core.clikit import as_user, console_of, fail, province_operator


@click.group()
def review() -> None:
    """Manual review: investigation, review, approval."""


@review.command("act")
@click.argument("application_id", type=int)
@click.option("--user", "username", required=True, help="The user acting (their open task of the application).")
@click.option("--opinion", required=True, type=click.Choice(["agree", "disagree", "return"]))
@click.option("--comment", default="", help="The opinion's comment.")
@click.option("--amount", default=None, help="Approval: the amount approved (yuan; default: as requested).")
@click.option("--rate", default=None, help="Approval: the annual rate (e.g. 0.0435), within the product's range.")
@click.option("--category", "category", default=None, help="Refusal category, required to disagree.")
@click.pass_context
def review_act(ctx: click.Context, application_id: int, username: str, opinion: str, comment: str,
               amount: str | None, rate: str | None, category: str | None) -> None:
    """Give USER's opinion on their open review task of APPLICATION_ID."""
    from nongxin.core.credit.models import Opinion
    from nongxin.core.credit.review import act

    console = console_of(ctx)
    rt = console.runtime
    with console.uow() as unit:
        done = act(unit, as_user(unit, username), rt.calendar, rt.plugins, application_id,
                   rt.clock.business_date(), opinion=Opinion(opinion), comment=comment, amount=amount, rate=rate,
                   refusal_category=category)
        number, status = done.app.number, done.app.status.value
        nxt = (f"; next: {done.next.tier.value} by {done.next.assignee.username} due {done.next.due_on}"
               if done.next else "")
        unit.commit()
    click.echo(f"{number}: {opinion} recorded; application is {status}{nxt}")
    if done.waiting is not None:
        fail(done.waiting)


@review.command("overdue")
@click.option("--institution", default=None, help="Institution code (default: the province).")
@click.pass_context
def review_overdue(ctx: click.Context, institution: str | None) -> None:
    """List open review steps past their due date."""
    from nongxin.core.credit.review import overdue

    console = console_of(ctx)
    today = console.runtime.clock.business_date()
    with console.uow(write=False) as unit:
        inst, rows = overdue(unit, province_operator(unit), institution, today)
        lines = [f"{a.number}\t{t.tier.value}\t{t.assignee.username}\tdue {t.due_on}" for t, a in rows]
    click.echo(f"{len(lines)} overdue review step(s) at {inst.code} on {today}")
    for line in lines:
        click.echo(line)


@review.command("draw")
@click.argument("application_id", type=int)
@click.pass_context
def review_draw(ctx: click.Context, application_id: int) -> None:
    """Draw the approver of a reviewed application none was eligible for (after setting limits)."""
    from nongxin.core.credit.review import draw_approver

    console = console_of(ctx)
    rt = console.runtime
    with console.uow() as unit:
        task = draw_approver(unit, province_operator(unit), rt.calendar, application_id, rt.clock.business_date())
        who, due, seed = task.assignee.username, task.due_on, (task.draw or {}).get("seed")
        unit.commit()
    click.echo(f"approver {who} drawn (seed {seed}); due {due}")

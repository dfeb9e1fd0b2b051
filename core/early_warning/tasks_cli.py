"""``nongxin tasks list|close|reassign --user NAME`` and ``nongxin tasks escalate``: warning tasks
from the console through the same services as the API (``core.early_warning.tasks``); a refusal
is a one-line message naming the field, never a traceback.

``nongxin tasks escalate [--as-of DATE] [--institution CODE]`` escalates the overdue tasks of every
county bank (or those under ``--institution``), each bank in its own transaction, and prints what
rose; plugins are told after each bank's commit.
"""

from __future__ import annotations

import json

import click

from nongxin.core.clikit import as_of_option, as_user, console_of


@click.command("list")
@click.option("--assigned-to", default=None, help="me, or a username.")
@click.option("--escalated-to", default=None, help="me, or a username.")
@click.option("--overdue", is_flag=True, help="Only open tasks past their due date.")
@click.option("--escalated", is_flag=True, help="Only escalated tasks.")
@click.option("--status", default=None, help="open or closed.")
@click.option("--institution", default=None, help="Only tasks at or under this institution.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--user", "username", required=True, help="The user looking (their subtree only).")
@click.pass_context
def list_cmd(ctx: click.Context, assigned_to: str | None, escalated_to: str | None, overdue: bool, escalated: bool,
             status: str | None, institution: str | None, limit: int, offset: int, as_json: bool,
             username: str) -> None:
    """List warning tasks in the user's subtree, earliest due first."""
    from nongxin.core.early_warning.tasks import TaskFilters, list_tasks, task_rows

    console = console_of(ctx)
    today = console.runtime.clock.business_date()
    with console.uow(write=False) as unit:
        found = list_tasks(unit, as_user(unit, username), TaskFilters(
            assigned_to=assigned_to, escalated_to=escalated_to, overdue=overdue, escalated=escalated, status=status,
            institution=institution, limit=limit, offset=offset), today)
        rows = task_rows(unit, found, today)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if not rows:
        click.echo("no tasks")
    for t in rows:
        late = " OVERDUE" if t["overdue"] else ""
        up = f" escalated to {t['escalated_to'] or '-'} ({t['escalation_name']})" if t["escalation_level"] else ""
        click.echo(f"{t['id']:>8}  {t['colour']:<6} {t['status']:<6} due {t['due_on']}{late}  {t['loan_no'] or '-'}  "
                   f"{t['rule']}  assigned to {t['assigned_to'] or '-'}{up}")


@click.command("close")
@click.argument("task_id", type=int)
@click.option("--findings", required=True, help="What the follow-up found.")
@click.option("--disposal", required=True, help="monitor, collect, restructure, legal_action or false_alarm.")
@click.option("--evidence", multiple=True, help="A reference (document id, photo name); repeat for more.")
@click.option("--user", "username", required=True, help="The user closing (audited as the actor).")
@click.pass_context
def close_cmd(ctx: click.Context, task_id: int, findings: str, disposal: str, evidence: tuple[str, ...],
              username: str) -> None:
    """Close an open task, and its warning, with findings, a disposal and evidence."""
    from nongxin.core.early_warning.tasks import Closing, close_task

    console = console_of(ctx)
    with console.uow() as unit:
        task = close_task(unit, as_user(unit, username), task_id, Closing(findings, disposal, list(evidence)),
                          console.runtime.clock.business_date())
        shown = (task.id, task.warning_id, task.closed_on)
        unit.commit()
    click.echo(f"task {shown[0]} closed ({disposal}) on {shown[2]}; warning {shown[1]} closed")


@click.command("reassign")
@click.argument("task_id", type=int)
@click.option("--to", "to", required=True, help="The customer manager or post-loan checker taking it over.")
@click.option("--note", default="", help="Why.")
@click.option("--user", "username", required=True, help="The user reassigning (audited as the actor).")
@click.pass_context
def reassign_cmd(ctx: click.Context, task_id: int, to: str, note: str, username: str) -> None:
    """Hand an open task to another customer manager or post-loan checker of its county bank."""
    from nongxin.core.early_warning.tasks import reassign_task

    console = console_of(ctx)
    with console.uow() as unit:
        reassign_task(unit, as_user(unit, username), task_id, to, note, console.runtime.clock.business_date())
        unit.commit()
    click.echo(f"task {task_id} reassigned to {to}")


@click.command("escalate")
@click.option("--institution", default=None, help="Only the county banks at or under this institution.")
@as_of_option
@click.pass_context
def escalate_cmd(ctx: click.Context, institution: str | None) -> None:
    """Escalate the overdue tasks of every county bank (each in its own transaction)."""
    from nongxin.core.collateral.scan import county_banks
    from nongxin.core.early_warning.tasks import escalate
    from nongxin.core.errors import NotFound
    from nongxin.core.institutions.services import get_by_code

    console = console_of(ctx)
    runtime = console.runtime
    as_of = runtime.clock.business_date()
    with console.uow(write=False) as unit:
        top = get_by_code(unit.session, institution) if institution else None
        if institution and top is None:
            raise NotFound(f"institution {institution} not found", fields={"institution": ["not found"]})
        codes = [b.code for b in county_banks(unit.session, top)]
    total = 0
    for code in codes:
        with console.uow() as unit:
            bank = get_by_code(unit.session, code)
            assert bank is not None
            done = escalate(unit, runtime, bank, as_of)
            unit.commit()
        total += len(done)
        for e in done:
            click.echo(f"{code}: task {e.task_id} ({e.loan_no or '-'}) escalated to level {e.level} "
                       f"({e.level_name}): {e.escalated_to or 'nobody in that role'}")
    click.echo(f"escalation as of {as_of}: {total} task(s) escalated in {len(codes)} county bank(s)")


def register(group: click.Group) -> None:
    """Add ``list``, ``close``, ``reassign`` and ``escalate`` to the ``tasks`` group."""
    for command in (list_cmd, close_cmd, reassign_cmd, escalate_cmd):
        group.add_command(command)

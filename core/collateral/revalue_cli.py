"""``nongxin collateral revalue``: automatic valuation through the valuer plugins
(``core.collateral.revalue``).

* ``nongxin collateral revalue --due [--institution CODE] [--as-of DATE]`` values every item whose
  revaluation interval has passed, with a progress bar, then prints the counts and each item that
  could not be valued with the reason; the exit status is 1 when any could not be valued.
* ``nongxin collateral revalue ITEM_ID --user U`` values one item now on the user's behalf; when
  no valuer answers or the valuer fails, the reason is printed, nothing is written, exit status 2.
"""

from __future__ import annotations

import getpass
import sys
from typing import Callable

import click

from nongxin.core.clikit import as_of_option, as_user, console_of
from nongxin.core.errors import invalid


def _bar() -> tuple[Callable[[int, int], None], Callable[[], None]]:
    """A rich progress bar fed by ``revalue_due``'s ``progress(done, total)``; and its closer."""
    from rich.progress import Progress, TaskID

    bar = Progress(transient=True)
    task: list[TaskID] = []

    def progress(done: int, total: int) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task("revaluing", total=total))
        bar.update(task[0], completed=done)

    return progress, bar.stop


@click.command("revalue")
@click.argument("item_id", required=False, type=int)
@click.option("--due", is_flag=True, help="Revalue every item whose revaluation interval has passed.")
@click.option("--institution", default=None, help="With --due: only items registered at or under this institution.")
@click.option("--user", "username", default=None, help="With ITEM_ID: the user valuing (audited as the actor).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@as_of_option
@click.pass_context
def revalue_command(ctx: click.Context, item_id: int | None, due: bool, institution: str | None,
                    username: str | None, quiet: bool) -> None:
    """Value collateral automatically through the valuer plugins: every due item (--due) or one item now."""
    from nongxin.core.collateral.revalue import revalue_due, value_now

    console = console_of(ctx)
    if due == (item_id is not None):
        raise invalid("item_id", "give either ITEM_ID (one item now) or --due (every item due), not both or neither")
    if item_id is not None:
        if not username:
            raise invalid("user", "--user is required to value one item (the user is audited as the actor)")
        with console.uow() as unit:
            outcome = value_now(unit, as_user(unit, username), console.runtime, item_id)
            unit.commit()
        click.echo(f"collateral {outcome.number}: valued {outcome.value} yuan ({outcome.method}) on "
                   f"{outcome.valued_on} by {outcome.plugin}")
        return
    console.require_schema()
    runtime = console.runtime
    closer: Callable[[], None] = lambda: None  # noqa: E731
    progress = None
    if not quiet:
        progress, closer = _bar()
    try:
        report = revalue_due(runtime, runtime.clock.business_date(), institution, progress,
                             actor=f"cli:{getpass.getuser()}")
    finally:
        closer()
    click.echo(f"revaluation as of {report.as_of}: {report.due} due, {report.valued} valued, "
               f"{report.no_answer} without an automatic value, {report.failed} failed")
    for problem in report.problems:
        click.echo(f"  {problem.number} (item {problem.item_id}): {problem.reason}")
    if not report.ok:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add ``revalue`` to the ``collateral`` group."""
    group.add_command(revalue_command)

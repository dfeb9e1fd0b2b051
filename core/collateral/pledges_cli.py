"""`nongxin collateral pledge|register-mortgage|release|cover --user NAME`: pledges from the console,
on behalf of a named user, through the same services and checks as the API
(``nongxin.core.collateral.pledges``); a refusal is a one-line message naming the field, never a
traceback."""

from __future__ import annotations

from datetime import datetime

import click

from nongxin.core.clikit import as_user, console_of


def register(group: click.Group) -> None:
    """Add the pledge commands to the ``collateral`` group."""
    group.add_command(pledge_cmd)
    group.add_command(register_mortgage_cmd)
    group.add_command(release_cmd)
    group.add_command(cover_cmd)


@click.command("pledge")
@click.argument("item_id", type=int)
@click.option("--line", "line_id", type=int, required=True, help="The credit line the item secures.")
@click.option("--rank", type=int, default=None, help="1 is served first (default: one below the lowest taken).")
@click.option("--user", "username", required=True, help="The user acting.")
@click.pass_context
def pledge_cmd(ctx: click.Context, item_id: int, line_id: int, rank: int | None, username: str) -> None:
    """Pledge a collateral item to a credit line of the same county bank."""
    from nongxin.core.collateral import pledges

    console = console_of(ctx)
    with console.uow() as unit:
        row = pledges.pledge(unit, as_user(unit, username), item_id, line_id, rank,
                             today=console.runtime.clock.business_date())
        shown = (row.id, row.rank, row.registration.value)
        unit.commit()
    click.echo(f"pledge {shown[0]}: item {item_id} secures line {line_id} at rank {shown[1]} ({shown[2]})")


@click.command("register-mortgage")
@click.argument("pledge_id", type=int)
@click.option("--registration-no", required=True, help="他项权证号 / 不动产登记证明号.")
@click.option("--registered-on", type=click.DateTime(["%Y-%m-%d"]), required=True, help="YYYY-MM-DD.")
@click.option("--user", "username", required=True, help="The user acting.")
@click.pass_context
def register_mortgage_cmd(ctx: click.Context, pledge_id: int, registration_no: str, registered_on: datetime,
                          username: str) -> None:
    """Record the mortgage registration (抵押登记) of a pending pledge."""
    from nongxin.core.collateral import pledges

    console = console_of(ctx)
    with console.uow() as unit:
        row = pledges.register_mortgage(unit, as_user(unit, username), pledge_id, registration_no=registration_no,
                                        registered_on=registered_on.date(),
                                        today=console.runtime.clock.business_date())
        number = row.registration_no
        unit.commit()
    click.echo(f"pledge {pledge_id} is registered: {number}")


@click.command("release")
@click.argument("pledge_id", type=int)
@click.option("--reason", default="", help="Why (kept in the audit trail).")
@click.option("--user", "username", required=True, help="The user acting.")
@click.pass_context
def release_cmd(ctx: click.Context, pledge_id: int, reason: str, username: str) -> None:
    """Release a pledge, unless the line would be left above its loan-to-value limit."""
    from nongxin.core.collateral import pledges

    console = console_of(ctx)
    with console.uow() as unit:
        row = pledges.release(unit, as_user(unit, username), pledge_id, reason=reason,
                              today=console.runtime.clock.business_date())
        day = row.released_on
        unit.commit()
    click.echo(f"pledge {pledge_id} is released on {day}")


@click.command("cover")
@click.argument("line_id", type=int)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def cover_cmd(ctx: click.Context, line_id: int, username: str) -> None:
    """A credit line's collateral cover on the business date."""
    from nongxin.core.collateral import pledges

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        shown = pledges.cover(unit, as_user(unit, username), line_id, today=console.runtime.clock.business_date())
    click.echo(f"{shown['number']}  as of {shown['as_of']}")
    click.echo(f"  exposure {shown['exposure']}  eligible {shown['eligible']}  limit {shown['limit']}  "
               f"ltv {shown['ltv'] or 'unsecured'} (limit {shown['ltv_limit'] or '-'})  shortfall {shown['shortfall']}")
    for i in shown["items"]:
        click.echo(f"  {i['number']:<22} {i['kind']:<18} rank {i['rank']:<3} {i['registration']:<12} "
                   f"eligible {i['eligible']:>14}  limit {i['limit']:>14}")

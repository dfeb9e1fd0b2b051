"""``nongxin village list|show|rate``: villages and credit villages (信用村) from the console, on
behalf of a named user, through the same services and checks as the API."""

from __future__ import annotations

from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def register(village: click.Group) -> None:
    for command in (village_list, village_show, village_rate):
        village.add_command(command)


def _summary(v: dict[str, Any]) -> str:
    reviewed = " ".join(f"{c}:{n}" for c, n in v["reviewed"].items() if n)
    flag = f"信用村 since {v['credit_village_since']}" if v["credit_village"] else ""
    return (f"{v['id']:>6}  {v['name']:<12} {v['grid']:<14} households {v['households']:>5}  credited "
            f"{v['credited']:>5}  {reviewed or 'not reviewed'}  {flag}").rstrip()


@click.command("list")
@click.option("--user", "username", required=True, help="The user reading.")
@click.option("--institution", default=None, help="Only the villages under this institution.")
@click.option("--credit", "credit_only", is_flag=True, help="Only credit villages (信用村).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def village_list(ctx: click.Context, username: str, institution: str | None, credit_only: bool, limit: int,
                 offset: int) -> None:
    """List the villages of the user's subtree with households, colours and credited households."""
    from nongxin.core.village import villages as service

    with console_of(ctx).uow(write=False) as unit:
        for v in service.summaries(unit, as_user(unit, username), institution, credit_only=credit_only,
                                   limit=limit, offset=offset):
            click.echo(_summary(v))


@click.command("show")
@click.argument("village_id", type=click.IntRange(1))
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def village_show(ctx: click.Context, village_id: int, username: str) -> None:
    """One village with its households (identity numbers masked unless the user may see them)."""
    from nongxin.core.village import villages as service

    with console_of(ctx).uow(write=False) as unit:
        v = service.details(unit, as_user(unit, username), village_id)
    click.echo(f"{v['name']} ({v['county_bank']}, grid {v['grid']})  households {v['households']}  credited "
               f"{v['credited']}  {'信用村 since ' + str(v['credit_village_since']) if v['credit_village'] else ''}")
    for h in v["household_list"]:
        head = h["head"]
        click.echo(f"  {h['household_no']:<8} {h['group']:<6} {head['name'] if head else '(no head)':<8} "
                   f"{head['id_number'] if head else '':<18}  members {h['members']}  land {h['land_mu'] or '-'} mu  "
                   f"assets {h['assets'] or '-'}  {h['main_business'] or '-'}  colour {h['colour'] or '-'}")


@click.command("rate")
@click.option("--county", default=None, help="Rate every village of this county bank (code).")
@click.option("--village", "village_id", type=click.IntRange(1), default=None, help="Or rate this one village.")
@click.option("--user", "username", required=True, help="The user rating (village.rate).")
@click.pass_context
def village_rate(ctx: click.Context, county: str | None, village_id: int | None, username: str) -> None:
    """Rate credit villages (信用村) against the county's thresholds as of the business date."""
    from rich.progress import Progress

    from nongxin.core.village import villages as service

    console = console_of(ctx)
    with console.uow() as unit, Progress(transient=True) as progress:
        task = progress.add_task("rating villages", total=None)
        written = service.rate(unit, as_user(unit, username), institution=county, village_id=village_id,
                               today=console.runtime.clock.business_date())
        unit.commit()
        progress.update(task, total=1, completed=1)
        rows = [service.rating_json(r) for r in written]
    for r in rows:
        verdict = "信用村" if r["credit_village"] else "not rated: " + "; ".join(r["reasons"])
        click.echo(f"{r['village']:>6}  households {r['households']:>5}  credited {r['credited']:>5}  coverage "
                   f"{r['coverage']:.6f}  usage {r['usage']:.6f}  npl {r['npl_ratio']:.6f}  {verdict}")
    click.echo(f"rated {len(rows)} village(s): {sum(r['credit_village'] for r in rows)} credit village(s)")

"""Customer file commands (客户档案), run on behalf of a named user: add, list, show, import."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


@click.group()
def customers() -> None:
    """Customer file (客户档案) commands, run on behalf of a named user."""


_user = click.option("--user", "username", required=True, help="The user acting (audited as the actor).")


def _line(c: Any, id_number: str) -> str:
    return (f"{c.id:>6}  {c.kind.value:<19} {id_number:<18}  {c.name}  grid {c.grid.code}  "
            f"manager {c.manager.username}")


@customers.command("add")
@_user
@click.option("--kind", default="individual", show_default=True, help="individual, individual_business or enterprise")
@click.option("--id-number", required=True, help="Resident ID (individual) or unified social credit code.")
@click.option("--name", "customer_name", required=True, help="The customer's name.")
@click.option("--grid", required=True, help="Code of the grid or branch the customer belongs to.")
@click.option("--manager", required=True, help="Username of the responsible customer manager.")
@click.option("--phone", default="")
@click.option("--address", default="")
@click.option("--occupation", default="")
@click.option("--employer", default="")
@click.option("--segment", default=None, help="farmer, salaried, merchant, ...")
@click.option("--annual-income", default=None, help="Yuan, e.g. 86000.00")
@click.option("--legal-representative", default=None,
              help="Customer id (or resident ID) of the legal representative (enterprises, individual businesses).")
@click.option("--village", default=None, help="Household: administrative village (行政村).")
@click.option("--group", default="", help="Household: villagers' group (村民小组).")
@click.option("--household-no", default=None, help="Household: household number (户号).")
@click.option("--relation", default=None, help="Household: relation to the head (head, spouse, child, ...).")
@click.pass_context
def customers_add(ctx: click.Context, username: str, kind: str, id_number: str, customer_name: str, grid: str,
                  manager: str, phone: str, address: str, occupation: str, employer: str, segment: str | None,
                  annual_income: str | None, legal_representative: str | None, village: str | None, group: str,
                  household_no: str | None, relation: str | None) -> None:
    """File one customer."""
    from nongxin.core.customers import services

    household = None
    if village or household_no or relation:
        household = services.HouseholdInput(village or "", group, household_no or "", relation or "")
    console = console_of(ctx)
    with console.uow() as unit:
        customer = services.create_customer(
            unit, as_user(unit, username), services.CustomerInput(
                kind=kind, id_number=id_number, name=customer_name, grid=grid, manager=manager, phone=phone,
                address=address, occupation=occupation, employer=employer, segment=segment,
                annual_income=annual_income, legal_representative=legal_representative, household=household),
            today=console.runtime.clock.business_date())
        customer_id = customer.id
        unit.commit()
    click.echo(f"customer {customer_id} filed: {customer_name}")


@customers.command("list")
@_user
@click.option("--name", "customer_name", default=None, help="Part of the name.")
@click.option("--id-number", default=None, help="The whole identity number.")
@click.option("--grid", default=None, help="Grid or branch code: customers there and below.")
@click.option("--manager", default=None, help="Username of the responsible customer manager.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
@click.pass_context
def customers_list(ctx: click.Context, username: str, customer_name: str | None, id_number: str | None,
                   grid: str | None, manager: str | None, limit: int, offset: int) -> None:
    """Search the customers the user can see (identity numbers masked unless their role may see them)."""
    from nongxin.core.customers import services

    with console_of(ctx).uow(write=False) as unit:
        me = as_user(unit, username)
        found = services.search(unit, me, services.Search(customer_name, id_number, grid, manager, limit, offset))
        for c in found:
            click.echo(_line(c, services.shown_id(me, c)))
    click.echo(f"{len(found)} customer(s)", err=True)


@customers.command("show")
@_user
@click.argument("customer_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def customers_show(ctx: click.Context, username: str, customer_id: int) -> None:
    """Show one customer file, with its household and legal representative."""
    from nongxin.core.customers import services

    with console_of(ctx).uow(write=False) as unit:
        me = as_user(unit, username)
        c = services.visible_customer(unit, me, customer_id)
        click.echo(_line(c, services.shown_id(me, c)))
        if c.birth_date is not None:
            click.echo(f"  born {c.birth_date.isoformat()}, {c.sex}")
        for label, value in (("phone", c.phone), ("address", c.address), ("occupation", c.occupation),
                             ("employer", c.employer), ("segment", c.segment),
                             ("annual income", c.annual_income)):
            if value:
                click.echo(f"  {label}: {value}")
        if c.legal_representative is not None:
            rep = c.legal_representative
            click.echo(f"  legal representative: customer {rep.id} {rep.name} ({services.shown_id(me, rep)})")
        if c.household is not None:
            h = c.household
            click.echo(f"  household {h.household_no}, {h.village} {h.group_name}: "
                       f"{c.relation.value if c.relation else '-'}")
            for m in services.members(unit, h):
                click.echo(f"    {m.id:>6}  {m.name}  {m.relation.value if m.relation else '-'}")


@customers.command("import")
@_user
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def customers_import(ctx: click.Context, username: str, file: Path) -> None:
    """Import customer files from CSV or .xlsx, all or nothing.

    Columns (any order): kind, id_number, name, phone, address, occupation, employer, segment,
    annual_income, grid, manager, legal_representative, village, group, household_no, relation.
    CSV may be UTF-8 or GBK/GB18030. Every bad row is listed with its line number; when any row
    is bad nothing is written.
    """
    from rich.progress import Progress

    from nongxin.core.customers.importer import ImportRejected, import_table, read_customers

    console = console_of(ctx)
    table = read_customers(file)
    with console.uow() as unit, Progress(transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=len(table.rows))
        try:
            report = import_table(unit, as_user(unit, username), table, today=console.runtime.clock.business_date(),
                                  progress=lambda n: progress.advance(task, n))
        except ImportRejected as exc:
            progress.stop()
            for err in exc.report.errors:
                click.secho(f"  {err}", fg="red", err=True)
            click.secho(f"error: {len(exc.report.errors)} bad row(s); nothing was imported", fg="red", err=True)
            sys.exit(2)
    click.echo(f"imported {len(report.imported)} customer(s)")

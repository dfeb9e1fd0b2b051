"""``nongxin village import FILE --grid CODE --manager USERNAME --user NAME``: a village roster from
the console, through the same service as the API, with a progress bar; bad rows are printed as
"line N: reason" and nothing is written (exit 1)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nongxin.core.clikit import as_user, console_of


def register(village: click.Group) -> None:
    village.add_command(village_import)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--grid", required=True, help="Grid (or branch) code the households are filed at.")
@click.option("--manager", required=True, help="Username of their customer manager.")
@click.option("--user", "username", required=True, help="The user importing (village.import).")
@click.pass_context
def village_import(ctx: click.Context, file: Path, grid: str, manager: str, username: str) -> None:
    """Import a village roster (CSV in UTF-8 or GBK, or .xlsx), all or nothing.

    Columns (any order): village, group, household_no, id_number, name, relation, phone, land_mu,
    main_business, assets, annual_income, segment. A re-import updates, never duplicates.
    """
    from rich.progress import Progress

    from nongxin.core.customers.importer import ImportRejected
    from nongxin.core.importing import read_file
    from nongxin.core.village.roster import COLUMNS, import_roster

    console = console_of(ctx)
    table = read_file(file, columns=COLUMNS)
    with console.uow() as unit, Progress(transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=len(table.rows))
        try:
            report = import_roster(unit, as_user(unit, username), table, grid=grid, manager=manager,
                                   file_name=file.name, today=console.runtime.clock.business_date(),
                                   progress=lambda n: progress.advance(task, n))
        except ImportRejected as exc:
            progress.stop()
            for err in exc.report.errors:
                click.echo(str(err), err=True)
            click.secho(f"error: {len(exc.report.errors)} bad row(s); nothing was imported", fg="red", err=True)
            sys.exit(1)
    counts = report.counts()
    click.echo(f"imported {counts['rows']} row(s): villages created {counts['villages_created']}; households "
               f"created {counts['households_created']}, updated {counts['households_updated']}; members created "
               f"{counts['members_created']}, updated {counts['members_updated']}, linked {counts['members_linked']}")

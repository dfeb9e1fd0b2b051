"""``nongxin warnings watchlist-import FILE --kind KIND [--county CODE] --user NAME``: load a court
list file (CSV UTF-8/GBK or .xlsx) through the same checks as ``POST /api/watchlists/import``;
``nongxin warnings watchlist-pull --county CODE --user NAME``: the same, from the connectors
enabled there that declare court feeds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def register(group: click.Group) -> None:
    group.add_command(watchlist_import)
    group.add_command(watchlist_pull)


@click.command("watchlist-import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(["enforcement", "consumption_restriction", "dishonest_debtor"]),
              help="which court list the file is")
@click.option("--county", default=None, help="the county bank it is for (province admin; default: your own, "
                                             "or the whole province for the province admin)")
@click.option("--user", "username", required=True, help="load on behalf of this user")
@click.pass_context
def watchlist_import(ctx: click.Context, file: Path, kind: str, county: str | None, username: str) -> None:
    """Load a court list, all or nothing; loading it again updates entries, never duplicates.

    Columns (any order): id_number, name, case_no, court, listed_on, delisted_on (may be empty).
    Every bad row is listed with its line number; when any row is bad nothing is written.
    """
    from nongxin.core.early_warning.watchlists import COLUMNS, WatchlistRejected, load
    from nongxin.core.importing import read_file

    console = console_of(ctx)
    table = read_file(file, columns=COLUMNS)
    with console.uow() as unit:
        try:
            report = load(unit, as_user(unit, username), table, kind=kind, county=county, source=file.name)
        except WatchlistRejected as exc:
            for err in exc.errors:
                click.secho(f"  {err}", fg="red", err=True)
            click.secho(f"error: {len(exc.errors)} bad row(s); nothing was loaded", fg="red", err=True)
            sys.exit(2)
    where = report.county_bank or "the whole province"
    click.echo(f"{kind} list for {where}: {report.added} added, {report.updated} updated, "
               f"{report.unchanged} unchanged")


@click.command("watchlist-pull")
@click.option("--county", required=True, help="the county bank whose connectors to ask")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="ask only for entries changed since this day (default: the whole lists)")
@click.option("--user", "username", required=True, help="load on behalf of this user")
@click.pass_context
def watchlist_pull(ctx: click.Context, county: str, since: Any, username: str) -> None:
    """Load the court lists of every connector enabled at the county bank that offers them.

    Each connector's feed loads all or nothing; a failing connector is reported (exit status 1)
    and the others are still loaded.
    """
    from nongxin.core.early_warning.watchlist_pull import pull

    console = console_of(ctx)
    with console.uow() as unit:
        outcomes = pull(unit, as_user(unit, username), console.runtime.plugins, county=county,
                        since=since.date() if since else None)
    if not outcomes:
        click.echo(f"no connector enabled at {county} offers a court list")
    for o in outcomes:
        if o.report is not None:
            click.echo(f"{o.connector} {o.kind}: {o.report.added} added, {o.report.updated} updated, "
                       f"{o.report.unchanged} unchanged")
        else:
            click.secho(f"{o.connector} {o.kind or '(connectors)'}: failed, nothing loaded: {o.error}", fg="red",
                        err=True)
    if any(o.report is None for o in outcomes):
        sys.exit(1)

"""``nongxin ledger export``: the columnar ledger of a business date written to a Parquet file.

The promise: one row per loan, money as int64 fen (never float); prints the rows written and the
seconds taken; a bad date, a date the day close has not closed (and that is not the current
business date), an unknown county bank or an unwritable path is a one-line error, not a traceback.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

DAY = click.DateTime(["%Y-%m-%d"])


@click.group("ledger")
def ledger() -> None:
    """The columnar ledger (台账): loans and their balances in integer fen, for the nightly scan."""


@ledger.command("export")
@click.option("--as-of", "as_of", type=DAY, required=True,
              help="Business date (YYYY-MM-DD): a closed date's snapshot, or the current date's live books.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Parquet file to write.")
@click.option("--county-bank", "county_banks", multiple=True,
              help="County bank code (repeatable; default: every county bank with loans).")
@click.pass_context
def ledger_export(ctx: click.Context, as_of: datetime, out: Path, county_banks: tuple[str, ...]) -> None:
    """Write the ledger as of a business date to a Parquet file."""
    import pyarrow.parquet as pq

    from nongxin.core.clikit import console_of
    from nongxin.core.errors import invalid
    from nongxin.core.jobs.ledger import ledger_table

    console = console_of(ctx)
    console.require_schema()
    started = time.perf_counter()
    table = ledger_table(console.engine, as_of.date(), county_banks=list(county_banks) or None,
                         business_date=console.runtime.clock.business_date())
    try:
        pq.write_table(table, out)
    except OSError as exc:
        raise invalid("out", f"cannot write {out}: {exc.strerror or exc}") from None
    seconds = time.perf_counter() - started
    click.echo(f"{table.num_rows} rows as of {as_of.date().isoformat()} written to {out} in {seconds:.2f} s")

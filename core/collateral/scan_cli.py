"""``nongxin collateral scan``: the nightly shortfall scan (``core.collateral.scan``) as a job, run
after the day close: rule hits by colour, lines in shortfall, lines frozen (where the county
setting asks for it) and the banks whose rule book failed, as rich tables or ``--json``."""

from __future__ import annotations

import json
import sys

import click

from nongxin.core.clikit import as_of_option, console_of

COLOURS = {"red": "red", "orange": "dark_orange", "yellow": "yellow"}


def register(group: click.Group) -> None:
    group.add_command(scan_command)


@click.command("scan")
@as_of_option
@click.option("--institution", default=None, help="Only the county banks of this institution's subtree (a code).")
@click.option("--json", "as_json", is_flag=True, help="The report as JSON instead of tables.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def scan_command(ctx: click.Context, institution: str | None, as_json: bool, quiet: bool) -> None:
    """Run the collateral rules over every pledged position; list hits and shortfalls; freeze lines
    in shortfall where `collateral.shortfall_freezes_line` is on."""
    from rich.console import Console as Rich
    from rich.progress import Progress
    from rich.table import Table

    from nongxin.core.collateral import scan

    console = console_of(ctx)
    with console.uow(write=False) as unit:  # checks the schema; counts the banks for the bar
        import sqlalchemy as sa

        from nongxin.core.institutions.models import Institution

        top = unit.session.execute(sa.select(Institution).where(Institution.code == institution)).scalar_one_or_none() \
            if institution else None
        total = len(scan.county_banks(unit.session, top)) if top is not None or institution is None else 0
    if quiet or as_json:
        report = scan.scan(console.runtime, institution=institution)
    else:
        with Progress(transient=True) as bar:
            task = bar.add_task("collateral scan", total=total or None)
            report = scan.scan(console.runtime, institution=institution,
                               progress=lambda code, n: bar.update(task, advance=1,
                                                                   description=f"{code}: {n} positions"))
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    out = Rich(width=None if sys.stdout.isatty() else 200)  # a file or a pipe gets every figure whole
    out.print(f"collateral scan as of {report.as_of}: {report.positions} positions at {len(report.banks)} county "
              f"banks; {len(report.hits)} hits, {len(report.shortfalls)} lines in shortfall, "
              f"{len(report.frozen)} frozen, {len(report.failures)} failures")
    if report.hits:
        hits = Table(title="rule hits")
        for name in ("colour", "rule", "bank", "item", "kind", "line", "facts"):
            hits.add_column(name)
        for h in sorted(report.hits, key=lambda h: ("red orange yellow".split().index(h.colour), h.line_number)):
            facts = ", ".join(f"{k}={v}" for k, v in h.facts.items())
            hits.add_row(f"[{COLOURS.get(h.colour, 'white')}]{h.colour}[/]", f"{h.rule_code} v{h.rule_version}",
                         h.county_bank, h.item_number, h.kind, h.line_number, facts)
        out.print(hits)
    if report.shortfalls:
        short = Table(title="lines in shortfall")
        for name in ("bank", "line", "customer", "exposure", "eligible", "limit", "ltv", "ltv limit", "shortfall"):
            short.add_column(name, justify="right" if name not in ("bank", "line", "customer") else "left")
        for s in report.shortfalls:
            short.add_row(s.county_bank, s.line_number, s.customer_name, f"{s.exposure}", f"{s.eligible}",
                          f"{s.limit}", "-" if s.ltv is None else f"{s.ltv}",
                          "-" if s.ltv_limit is None else f"{s.ltv_limit}", f"{s.shortfall}")
        out.print(short)
    for f in report.frozen:
        out.print(f"[red]frozen[/] {f.county_bank} {f.line_number} (shortfall {f.shortfall} yuan)")
    for failure in report.failures:
        out.print(f"[red]no rules applied at {failure.county_bank}[/]: {failure.problem}")

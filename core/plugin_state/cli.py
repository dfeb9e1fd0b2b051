"""Commands for plugins: list, switch and configure them per institution, check the installed ones."""

from __future__ import annotations

import sys

import click

from nongxin.core.clikit import as_of_option, console_of, province_operator

@click.group()
def plugins() -> None:
    """Plugin commands: list, switch and configure plugins per institution."""


@plugins.command("list")
@click.option("--institution", default=None, help="Institution code (default: the province).")
@click.pass_context
def plugins_list(ctx: click.Context, institution: str | None) -> None:
    """List plugins with their state at an institution and where it comes from."""
    from rich.console import Console as Rich
    from rich.table import Table

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        operator = province_operator(unit)
        listing = console.plugins.listing(unit.session, operator, institution or operator.institution_code)
        title = f"plugins at {listing.institution.code} {listing.institution.name}"
    table = Table(title=title)
    for column in ("plugin", "version", "kind", "state", "source", "breaker", "hooks"):
        table.add_column(column)
    for p in listing.plugins:
        table.add_row(p.plugin.name, p.plugin.info.version, p.plugin.info.kind.value,
                      "enabled" if p.state.enabled else "disabled", p.state.enabled_source,
                      str(p.breaker.get("state", "")), ", ".join(p.plugin.hooks))
    for failed in listing.failed:
        table.add_row(failed.name, "", "", "FAILED", failed.reason, "", "")
    Rich(width=None if sys.stdout.isatty() else 200).print(table)


def _switch(ctx: click.Context, name: str, institution: str, enabled: bool | None) -> None:
    console = console_of(ctx)
    with console.uow() as unit:
        state = console.plugins.switch(unit, province_operator(unit), name, institution, enabled)
        unit.commit()
    click.echo(f"{name} at {institution}: {'enabled' if state.enabled else 'disabled'} ({state.enabled_source})")


@plugins.command("enable")
@click.argument("name")
@click.option("--institution", required=True, help="Institution code; its subtree follows.")
@click.pass_context
def plugins_enable(ctx: click.Context, name: str, institution: str) -> None:
    """Enable plugin NAME at an institution and its subtree."""
    _switch(ctx, name, institution, True)


@plugins.command("disable")
@click.argument("name")
@click.option("--institution", required=True, help="Institution code; its subtree follows.")
@click.pass_context
def plugins_disable(ctx: click.Context, name: str, institution: str) -> None:
    """Disable plugin NAME at an institution and its subtree."""
    _switch(ctx, name, institution, False)


@plugins.command("settings")
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--institution", required=True, help="Institution code.")
@click.pass_context
def plugins_settings(ctx: click.Context, name: str, assignments: tuple[str, ...], institution: str) -> None:
    """Show plugin NAME's settings at an institution, or set KEY=VALUE pairs (VALUE as JSON if it parses)."""
    import json

    from nongxin.core.errors import invalid

    console = console_of(ctx)
    values = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise invalid("settings", f"{item!r} is not KEY=VALUE")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    with console.uow() as unit:
        operator = province_operator(unit)
        if values:
            state = console.plugins.set_settings(unit, operator, name, institution, values)
            unit.commit()
        else:
            state = console.plugins.read_settings(unit.session, operator, name, institution)
    from nongxin.core.plugin_state.services import secret_keys

    hidden = secret_keys(console.plugins.host.loaded[name])
    for key, value in sorted(state.settings.items()):
        click.echo(f"{key} = {'(secret; write-only)' if key in hidden else value}")


@plugins.command("check")
@as_of_option
@click.pass_context
def plugins_check(ctx: click.Context) -> None:
    """Load every installed plugin and report; exit 1 if any failed to load."""
    from nongxin.core.rules.books import rule_pack_problem

    console = console_of(ctx)
    directory = console.plugins
    day = console.runtime.clock.business_date()
    broken = 0
    for name, plugin in sorted(directory.host.loaded.items()):
        problem = rule_pack_problem(plugin, day) if "nongxin_rules" in plugin.hooks else None
        if problem:
            broken += 1
            click.secho(f"FAILED  {name} {plugin.info.version}: {problem}", fg="red")
        else:
            click.echo(f"ok      {name} {plugin.info.version} ({plugin.source})")
    for failed in directory.host.failed.values():
        click.secho(f"FAILED  {failed.name}: {failed.reason} ({failed.source})", fg="red")
    if directory.host.failed or broken:
        sys.exit(1)

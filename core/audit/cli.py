"""Commands for the keyed hash chains: print their anchors, verify them."""

from __future__ import annotations

import sys

import click

from nongxin.core.clikit import console_of

@click.group()
def audit() -> None:
    """Audit trail commands."""


@audit.command("head")
@click.pass_context
def audit_head(ctx: click.Context) -> None:
    """Print each chain's anchor (NAME=LENGTH:HASH); keep them outside the database for
    `verify --anchor`."""
    from nongxin.core.audit.chain import GENESIS, head
    from nongxin.core.audit.services import chains

    with console_of(ctx).uow(write=False) as unit:
        for name, chain in chains().items():
            anchor = head(unit.session, chain)
            click.echo(f"{name}={anchor or f'0:{GENESIS}'}")


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="NAME=LENGTH:HASH",
              help="An anchor printed earlier by `nongxin audit head` (a bare LENGTH:HASH is the "
                   "audit_log's); detects deleted newest entries. Repeat for each chain.")
@click.pass_context
def audit_verify(ctx: click.Context, anchors: tuple[str, ...]) -> None:
    """Check every keyed hash chain (the audit log and the credit-bureau query log); exit 1 naming
    each changed, forged or missing entry."""
    from nongxin.core.audit.chain import Anchor, verify
    from nongxin.core.audit.services import chains
    from nongxin.core.errors import invalid

    known = chains()
    parsed: dict[str, Anchor] = {}
    for text in anchors:
        name, _, value = text.rpartition("=")
        name = name or "audit_log"
        if name not in known:
            raise invalid("anchor", f"{name!r} is not a chain; chains: {', '.join(known)}")
        try:
            parsed[name] = Anchor.parse(value)
        except ValueError as exc:
            raise invalid("anchor", str(exc)) from None
    broken = 0
    with console_of(ctx).uow(write=False) as unit:
        for name, chain in known.items():
            problems = verify(unit.session, chain, parsed.get(name))
            broken += len(problems)
            for problem in problems:
                click.secho(f"  {problem.message}", fg="red", err=True)
            click.echo(f"{name}: {'BROKEN, ' + str(len(problems)) + ' problem(s)' if problems else 'intact'}")
    if broken:
        click.secho(f"audit chains BROKEN: {broken} problem(s)", fg="red", err=True)
        sys.exit(1)
    click.echo("audit chains intact")

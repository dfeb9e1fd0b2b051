"""Commands for the institution tree, users and API tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from nongxin.core.clikit import console_of, operator, province_operator

@click.group()
def institutions() -> None:
    """Institution tree commands."""


@institutions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True,
              help="Import the good rows even if some rows are bad (default: all or nothing).")
@click.pass_context
def institutions_import(ctx: click.Context, file: Path, partial: bool) -> None:
    """Import institutions from a CSV or .xlsx file with columns code,name,level,parent.

    CSV may be UTF-8 (with or without BOM) or GBK/GB18030, as Excel saves it in China; the
    encoding is detected. Parents must be listed before their children or exist already. Levels:
    province, city, county, branch, grid. A value beyond the four columns is an error on its line.
    """
    from rich.progress import Progress

    from nongxin.core.institutions.importer import ImportRejected, import_table, read_tree

    console = console_of(ctx)
    table = read_tree(file)
    with console.uow() as unit, Progress(transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=len(table.rows))
        try:
            report = import_table(unit, operator(unit), table, partial=partial,
                                  progress=lambda n: progress.advance(task, n))
        except ImportRejected as exc:
            for err in exc.report.errors:
                click.secho(f"  {err}", fg="red", err=True)
            click.secho(f"error: {len(exc.report.errors)} bad row(s); nothing was imported "
                        "(use --partial to import the good rows)", fg="red", err=True)
            sys.exit(2)
    for err in report.errors:
        click.secho(f"  skipped {err}", fg="yellow", err=True)
    click.echo(f"imported {len(report.imported)} institution(s), skipped {len(report.errors)} bad row(s)")
    if report.errors:
        sys.exit(1)


@click.group()
def users() -> None:
    """User commands."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help="province_admin, county_admin, product_manager, "
              "parameter_admin, customer_manager, reviewer, approver or post_loan_checker")
@click.option("--institution", required=True, help="Code of the user's institution.")
@click.option("--name", "display_name", default="", help="Display name (Chinese is fine).")
@click.pass_context
def users_create(ctx: click.Context, username: str, role: str, institution: str, display_name: str) -> None:
    """Create a user at an institution with one role."""
    from nongxin.core.institutions.users import create_user, parse_role

    with console_of(ctx).uow() as unit:
        create_user(unit, operator(unit), username=username, display_name=display_name,
                    role=parse_role(role), institution_code=institution)
        unit.commit()
    click.echo(f"created user {username} ({role}) at {institution}")


@users.command("password")
@click.argument("username")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from the first line of standard input (for scripts) instead of asking.")
@click.pass_context
def users_password(ctx: click.Context, username: str, from_stdin: bool) -> None:
    """Set USERNAME's console password (asked twice, never echoed). It unlocks a locked account
    and signs the user out of every console session. API tokens are not touched."""
    from nongxin.core.console.signin import MIN_PASSWORD, set_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"New console password for {username} (at least {MIN_PASSWORD} characters)",
                                hide_input=True, confirmation_prompt=True)
    console = console_of(ctx)
    with console.uow() as unit:
        set_password(unit, username, password, now=console.runtime.clock.now(), actor="cli")
        unit.commit()
    click.echo(f"{username}: console password set; sign in at /console/signin")


@users.command("approval-limit")
@click.argument("username")
@click.argument("amount")
@click.pass_context
def users_approval_limit(ctx: click.Context, username: str, amount: str) -> None:
    """Set an approver's approval limit to AMOUNT yuan ("none" takes the authority away)."""
    from nongxin.core.credit.review import set_approval_limit

    with console_of(ctx).uow() as unit:
        user = set_approval_limit(unit, province_operator(unit), username,
                                  None if amount.strip().lower() == "none" else amount)
        limit = user.approval_limit
        unit.commit()
    click.echo(f"{username}: approval limit {'none' if limit is None else f'{limit} yuan'}")


@click.group()
def tokens() -> None:
    """API token commands."""


@tokens.command("issue")
@click.argument("username")
@click.option("--days", type=int, default=None,
              help="Days until the token expires (default: NONGXIN_TOKEN_DAYS; at most NONGXIN_TOKEN_MAX_DAYS).")
@click.pass_context
def tokens_issue(ctx: click.Context, username: str, days: int | None) -> None:
    """Issue an API token for USERNAME and print it once."""
    from nongxin.core.institutions.users import issue_token_for

    console = console_of(ctx)
    with console.uow() as unit:
        plain, token = issue_token_for(unit, province_operator(unit), username,
                                       days=console.settings.token_days if days is None else days,
                                       max_days=console.settings.token_max_days)
        unit.commit()
    click.echo(plain)
    click.echo(f"(prefix {token.prefix}, expires {token.expires_at:%Y-%m-%d}; it is not stored and "
               "cannot be shown again)", err=True)


@tokens.command("revoke")
@click.argument("token_or_prefix")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_or_prefix: str) -> None:
    """Revoke a token, given the token or its first 10 characters."""
    from nongxin.core.institutions.users import revoke_token

    with console_of(ctx).uow() as unit:
        token = revoke_token(unit, token_or_prefix, principal=province_operator(unit))
        owner = token.user.username
        unit.commit()
    click.echo(f"revoked token {token.prefix} of {owner}")

"""`nongxin village review open|reviewer|rate|ratings-import|show|close|list --user NAME`: peer
review (背靠背评议) from the console, on behalf of a named user, through the same services and checks
as the API; a refusal is a one-line message naming the field or the round's state (a rejected
ratings file: every bad line), never a traceback. ``show`` of an open round prints progress only."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


@click.group("review")
def review_group() -> None:
    """Back-to-back peer review (背靠背评议): rounds, reviewers, ratings, close (验收)."""


def register(village: click.Group) -> None:
    village.add_command(review_group)


def _echo(shown: dict[str, Any]) -> None:
    where = f"village {shown['village']}" if shown["village"] is not None else f"every village of {shown['grid']}"
    click.echo(f"round {shown['id']}  {shown['status']}  {shown['name']}  ({where}, {shown['county_bank']})")
    click.echo(f"  rule        {shown['aggregation']}, at least {shown['min_reviewers']} reviewer(s) per household")
    click.echo(f"  opened      {shown['opened_on']} by {shown['opened_by']}"
               + (f"; closed {shown['closed_on']} by {shown['closed_by']}" if shown["closed_by"] else ""))
    for r in shown.get("reviewers", []):
        click.echo(f"  reviewer    {r['id']:>5} {r['kind']:<14} {r['name']} {r['id_number']}  rated {r['rated']}")
    for h in shown.get("households", []):
        line = f"  household   {h['household']:>5} {h['name']:<10} rated {h['rated']}" + ("" if h["enough"] else " (too few)")
        if "colour" in h:
            line += f"  reviewers {h['review_colour'] or 'none'}  stands {h['colour'] or 'none (not enough reviewers)'}"
            if h["override"]:
                line += f"  override {h['override']}: {h['override_reason']}"
        click.echo(line)


@review_group.command("open")
@click.option("--village", "village_id", type=int, default=None, help="The village (id).")
@click.option("--grid", default=None, help="Or a grid (code): every village of it.")
@click.option("--name", default="", help="What the round is called.")
@click.option("--user", "username", required=True, help="The user acting.")
@click.pass_context
def review_open(ctx: click.Context, village_id: int | None, grid: str | None, name: str, username: str) -> None:
    """Open a peer review round for a village or a grid."""
    from nongxin.core.village import review

    console = console_of(ctx)
    with console.uow() as unit:
        rnd = review.open_round(unit, as_user(unit, username), village_id=village_id, grid=grid, name=name,
                                today=console.runtime.clock.business_date())
        shown = review.summary(unit, rnd)
        unit.commit()
    _echo(shown)


@review_group.command("reviewer")
@click.argument("round_id", type=int)
@click.option("--kind", required=True, type=click.Choice(["official", "representative", "manager"]))
@click.option("--name", required=True)
@click.option("--id-number", required=True, help="The reviewer's resident ID.")
@click.option("--manager", "manager", default=None, help="Kind manager: the customer manager's username.")
@click.option("--user", "username", required=True, help="The user acting.")
@click.pass_context
def review_reviewer(ctx: click.Context, round_id: int, kind: str, name: str, id_number: str, manager: str | None,
                    username: str) -> None:
    """Add a reviewer to an open round."""
    from nongxin.core.village import review

    console = console_of(ctx)
    with console.uow() as unit:
        reviewer = review.add_reviewer(unit, as_user(unit, username), round_id, kind=kind, name=name,
                                       id_number=id_number, username=manager,
                                       today=console.runtime.clock.business_date())
        rid, household = reviewer.id, reviewer.household_id
        unit.commit()
    click.echo(f"reviewer {rid} added to round {round_id}"
               + (f" (own household {household}, never rated by them)" if household else ""))


@review_group.command("rate")
@click.argument("round_id", type=int)
@click.option("--reviewer", type=int, required=True)
@click.option("--household", type=int, required=True)
@click.option("--scores", required=True, help="integrity,income,assets,business,health, each 1-4 (e.g. 4,3,3,4,4)")
@click.option("--colour", required=True, type=click.Choice(["black", "grey", "green", "white"]))
@click.option("--reason", default="", help="Required for black.")
@click.option("--user", "username", required=True, help="The user entering it on the reviewer's behalf.")
@click.pass_context
def review_rate(ctx: click.Context, round_id: int, reviewer: int, household: int, scores: str, colour: str,
                reason: str, username: str) -> None:
    """Enter one reviewer's rating of one household (again: replaces it)."""
    from nongxin.core.errors import invalid
    from nongxin.core.village import review

    parts = [p.strip() for p in scores.split(",")]
    if len(parts) != 5 or not all(p.isascii() and p.isdigit() and len(p) == 1 for p in parts):
        raise invalid("scores", "write five scores 1-4: integrity,income,assets,business,health")
    values = dict(zip(("integrity", "income", "assets", "business", "health"), map(int, parts)))
    with console_of(ctx).uow() as unit:
        review.rate(unit, as_user(unit, username), round_id,
                    review.RatingInput(reviewer=reviewer, household=household, colour=colour, reason=reason, **values))
        unit.commit()
    click.echo(f"rating of household {household} by reviewer {reviewer} entered")


@review_group.command("ratings-import")
@click.argument("round_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The user entering them.")
@click.pass_context
def review_import(ctx: click.Context, round_id: int, file: Path, username: str) -> None:
    """Load a CSV (UTF-8 or GBK) or .xlsx of ratings, all or nothing.

    Columns (any order): reviewer, household, integrity, income, assets, business, health, colour, reason.
    """
    from nongxin.core.importing import read_file
    from nongxin.core.village import review

    table = read_file(file, columns=review.COLUMNS)
    with console_of(ctx).uow() as unit:
        try:
            count = review.import_ratings(unit, as_user(unit, username), round_id, table, source=file.name)
        except review.RatingsRejected as exc:
            for err in exc.errors:
                click.secho(f"  {err}", fg="red", err=True)
            click.secho(f"error: {len(exc.errors)} bad row(s); nothing was loaded", fg="red", err=True)
            sys.exit(2)
        unit.commit()
    click.echo(f"{count} rating(s) entered in round {round_id}")


@review_group.command("show")
@click.argument("round_id", type=int)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def review_show(ctx: click.Context, round_id: int, username: str) -> None:
    """Show a round: progress while open, the results once closed."""
    from nongxin.core.permissions import Action
    from nongxin.core.village import review

    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        _echo(review.show(unit, who, review.visible_round(unit, who, round_id, Action.VILLAGE_READ)))


@review_group.command("close")
@click.argument("round_id", type=int)
@click.option("--user", "username", required=True, help="The user closing (验收).")
@click.pass_context
def review_close(ctx: click.Context, round_id: int, username: str) -> None:
    """Close a round: aggregate, apply the overrides, set each household's colour."""
    from nongxin.core.permissions import Action
    from nongxin.core.village import review

    console = console_of(ctx)
    rt = console.runtime
    with console.uow() as unit:
        who = as_user(unit, username)
        review.close_round(unit, who, rt, round_id, today=rt.clock.business_date())
        unit.commit()
        _echo(review.show(unit, who, review.visible_round(unit, who, round_id, Action.VILLAGE_READ)))


@review_group.command("list")
@click.option("--village", "village_id", type=int, default=None)
@click.option("--status", type=click.Choice(["open", "closed", "cancelled"]), default=None)
@click.option("--user", "username", required=True, help="The user reading.")
@click.pass_context
def review_list(ctx: click.Context, village_id: int | None, status: str | None, username: str) -> None:
    """List the rounds of the user's subtree, newest first."""
    from nongxin.core.village import review
    from nongxin.core.village.models import RoundStatus

    with console_of(ctx).uow(write=False) as unit:
        who = as_user(unit, username)
        filters = review.RoundFilters(village_id=village_id, status=RoundStatus(status) if status else None)
        for rnd in review.list_rounds(unit, who, filters):
            shown = review.summary(unit, rnd)
            click.echo(f"{shown['id']:>6}  {shown['status']:<9} {shown['grid']:<14} "
                       f"village {shown['village'] or '-':<6} {shown['opened_on']}  {shown['name']}")

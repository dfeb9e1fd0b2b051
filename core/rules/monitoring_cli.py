"""``nongxin rules models list|show|create|deactivate|activate`` and ``nongxin rules suspicious``:
monitoring models and their suspicious records from the console, on behalf of a named user
(``--user``), through the same services and scope as the API (``core.rules.monitoring``); a refusal
is a one-line message naming the field, never a traceback. ``--json`` prints the API's bodies."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of

_USER = click.option("--user", "username", required=True, help="The user acting (their institution and subtree).")
_LIMIT = click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
_OFFSET = click.option("--offset", type=click.IntRange(0), default=0)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")


def _dump(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, indent=2, default=str)


def _show(row: dict[str, Any], *, conditions: bool) -> None:
    counts = ", ".join(f"{n} {status}" for status, n in row["status_counts"].items() if n) or "no conditions"
    state = "active" if row["active"] else "inactive"
    click.echo(f"{row['id']:>6}  {row['owner']}/{row['code']}  {row['stage']:<10} {state:<8} {row['name']}  ({counts})")
    if conditions:
        for c in row["conditions"]:
            dates = f"{c['effective_from'] or '-'}..{c['effective_to'] or '-'}"
            click.echo(f"        #{c['id']} {c['code']} v{c['version']} {c['status']:<16} {c['colour']:<6} {dates}  "
                       f"{c['expression']}")


@click.group("models")
def models_group() -> None:
    """Off-site monitoring models (非现场监测模型): list, show, create, deactivate, activate."""


@models_group.command("list")
@click.option("--stage", default=None, help="post_loan or collateral.")
@click.option("--active/--inactive", "active", default=None, help="Only active (or inactive) models.")
@click.option("--conditions", is_flag=True, help="Print each model's conditions too.")
@_LIMIT
@_OFFSET
@_JSON
@_USER
@click.pass_context
def list_cmd(ctx: click.Context, stage: str | None, active: bool | None, conditions: bool, limit: int, offset: int,
             as_json: bool, username: str) -> None:
    """The models the user sees: owned along its ancestry or in its subtree."""
    from nongxin.core.rules.monitoring import models

    with console_of(ctx).uow(write=False) as unit:
        rows = models(unit, as_user(unit, username), stage=stage, active=active, limit=limit, offset=offset)
    if as_json:
        click.echo(_dump(rows))
        return
    if not rows:
        click.echo("no monitoring models")
    for row in rows:
        _show(row, conditions=conditions)


@models_group.command("show")
@click.argument("model_id", type=click.IntRange(1, 2**31 - 1))
@_JSON
@_USER
@click.pass_context
def show_cmd(ctx: click.Context, model_id: int, as_json: bool, username: str) -> None:
    """One model with every version of its conditions."""
    from nongxin.core.rules.monitoring import model_detail

    with console_of(ctx).uow(write=False) as unit:
        row = model_detail(unit, as_user(unit, username), model_id)
    if as_json:
        click.echo(_dump(row))
    else:
        _show(row, conditions=True)


@models_group.command("create")
@click.option("--code", required=True, help="Unique at the user's institution.")
@click.option("--name", required=True)
@click.option("--stage", required=True, help="post_loan or collateral.")
@click.option("--description", default="")
@_JSON
@_USER
@click.pass_context
def create_cmd(ctx: click.Context, code: str, name: str, stage: str, description: str, as_json: bool,
               username: str) -> None:
    """Create an active model owned by the user's institution (province, city or county)."""
    from nongxin.core.rules.monitoring import create_model, model_detail

    with console_of(ctx).uow() as unit:
        me = as_user(unit, username)
        model = create_model(unit, me, code=code, name=name, stage=stage, description=description)
        row = model_detail(unit, me, model.id)
        unit.commit()
    click.echo(_dump(row) if as_json else f"created monitoring model {row['id']}: {row['owner']}/{row['code']} "
                                          f"({row['stage']})")


def _switch(active: bool) -> click.Command:
    verb = "activate" if active else "deactivate"

    @click.command(verb)
    @click.argument("model_id", type=click.IntRange(1, 2**31 - 1))
    @click.option("--note", default="", help="Why, for the audit trail.")
    @_USER
    @click.pass_context
    def cmd(ctx: click.Context, model_id: int, note: str, username: str) -> None:
        from nongxin.core.rules.monitoring import set_active

        with console_of(ctx).uow() as unit:
            model = set_active(unit, as_user(unit, username), model_id, active, note)
            unit.commit()
            click.echo(f"monitoring model {model.id} ({model.code}) is {'active' if model.active else 'inactive'}")

    cmd.help = (f"{verb.capitalize()} a model of the user's own institution: "
                f"{'run it again' if active else 'stop running it'} from the next scan on.")
    return cmd


models_group.add_command(_switch(False))
models_group.add_command(_switch(True))


@click.command("suspicious")
@click.option("--institution", default=None, help="Only records at or under this institution.")
@click.option("--model", type=click.IntRange(1, 2**31 - 1), default=None, help="Only this model (its id).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Only this business date.")
@click.option("--colour", default=None, help="red, orange or yellow.")
@_LIMIT
@_OFFSET
@_JSON
@_USER
@click.pass_context
def suspicious_cmd(ctx: click.Context, institution: str | None, model: int | None, as_of: datetime | None,
                   colour: str | None, limit: int, offset: int, as_json: bool, username: str) -> None:
    """Suspicious records of monitoring models in the user's subtree, newest business date first."""
    from nongxin.core.rules.monitoring import records

    with console_of(ctx).uow(write=False) as unit:
        body = records(unit, as_user(unit, username), institution=institution, model=model,
                       as_of=as_of.date() if as_of else None, colour=colour, limit=limit, offset=offset)
    if as_json:
        click.echo(_dump(body))
        return
    for r in body["records"]:
        click.echo(f"{r['business_date']}  {r['colour']:<6} {r['model_owner']}/{r['model']} {r['condition']} "
                   f"v{r['condition_version']}  {r['subject_kind']} {r['subject_ref']}  {r['institution']}  "
                   f"{json.dumps(r['facts'], ensure_ascii=False, default=str)}")
    for t in body["totals"]:
        click.echo(f"total {t['model']} (#{t['model_id']}) {t['colour']}: {t['count']}")
    click.echo(f"{body['total']} suspicious record(s)")


def register(rules: click.Group) -> None:
    """Add ``models`` and ``suspicious`` to the ``rules`` group."""
    rules.add_command(models_group)
    rules.add_command(suspicious_cmd)

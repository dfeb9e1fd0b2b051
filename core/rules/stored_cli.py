"""``nongxin rules draft|submit|withdraw|approve|reject|retire|list|show --user NAME``: stored rules
from the console, on behalf of a named user, through the same services and checks as the API
(``core.rules.services``); a refusal is one clear message (the expression's caret too) and exit
status 2, never a traceback. ``--json`` prints the API's rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of
from nongxin.sdk.facts import SCHEMAS

DAY = click.DateTime(["%Y-%m-%d"])


def _dump(rows: Any) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2, default=str)


def _line(r: dict[str, Any]) -> str:
    window = f"{r['effective_from'] or '-'} to {r['effective_to'] or '-'}"
    extra = (" shadow" if r["shadow"] else "") + (f" model {r['model']}" if r["model"] else "")
    return (f"{r['id']:>6}  {r['code']} v{r['version']}  {r['status']:<16} {r['stage']:<10} {r['outcome']:<13} "
            f"{r['owner']} ({r['level']}){extra}  {window}  by {r['author']}  {r['name']}")


def _at(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if isinstance(moment, datetime) else str(moment)


def _show(r: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(_dump(r))
        return
    click.echo(_line(r))
    click.echo(f"        {r['expression']}")
    if r["reason"]:
        click.echo(f"        reason: {r['reason']}")
    if r["decided_by"]:
        click.echo(f"        decided by {r['decided_by']} at {_at(r['decided_at'])}"
                   + (f": {r['decision_note']}" if r["decision_note"] else ""))
    if r["retired_by"]:
        click.echo(f"        retired by {r['retired_by']} at {_at(r['retired_at'])}")


def _day(value: datetime | None) -> Any:
    return value.date() if value is not None else None


@click.command("draft")
@click.option("--code", required=True, help="The rule's code (a new code, or a new version of your own).")
@click.option("--name", required=True, help="A short name.")
@click.option("--stage", required=True, type=click.Choice(list(SCHEMAS)))
@click.option("--outcome", required=True, help="admission: tag, manual_review, reject; else yellow, orange, red.")
@click.option("--expression", required=True, help="The condition, in the rule language.")
@click.option("--reason", default="", help="What the rule means, shown with its hits.")
@click.option("--category", default="", help="Admission reject rules: the refusal category.")
@click.option("--level", default=None, help="province, city or county (default: your institution's).")
@click.option("--from", "from_day", type=DAY, default=None, help="First day in force (default: the day approved).")
@click.option("--to", "to_day", type=DAY, default=None, help="Last day in force.")
@click.option("--shadow", is_flag=True, help="A shadow rule: runs beside the live ones, never changes an outcome.")
@click.option("--model", type=click.IntRange(1), default=None, help="A monitoring model of yours this joins.")
@click.option("--json", "as_json", is_flag=True, help="Print the rule as JSON.")
@click.option("--user", "username", required=True, help="The author.")
@click.pass_context
def draft_cmd(ctx: click.Context, code: str, name: str, stage: str, outcome: str, expression: str, reason: str,
              category: str, level: str | None, from_day: datetime | None, to_day: datetime | None, shadow: bool,
              model: int | None, as_json: bool, username: str) -> None:
    """Draft a rule at the user's institution; the expression is checked at once."""
    from nongxin.core.institutions.models import Institution
    from nongxin.core.rules import services

    console = console_of(ctx)
    with console.uow() as unit:
        who = as_user(unit, username)
        if level is None:
            place = unit.session.get(Institution, who.institution_id)
            level = place.level.value if place is not None else ""
        spec = services.RuleSpec(code=code, name=name, stage=stage, outcome=outcome, level=level,
                                 expression=expression, reason=reason, category=category,
                                 effective_from=_day(from_day), effective_to=_day(to_day), shadow=shadow, model=model)
        row = services.draft(unit, who, console.plugins, spec, console.runtime.clock.business_date())
        out = services.row_json(unit, row)
        unit.commit()
    _show(out, as_json)


def _step_command(action: str, help_text: str) -> click.Command:
    @click.command(action, help=help_text)
    @click.argument("rule_id", type=click.IntRange(1))
    @click.option("--note", default="", help="Why (kept with the step in the audit trail).")
    @click.option("--json", "as_json", is_flag=True, help="Print the rule as JSON.")
    @click.option("--user", "username", required=True, help="Who takes the step.")
    @click.pass_context
    def command(ctx: click.Context, rule_id: int, note: str, as_json: bool, username: str) -> None:
        from nongxin.core.rules import services

        console = console_of(ctx)
        with console.uow() as unit:
            row = services.step(unit, as_user(unit, username), console.plugins, rule_id, action,
                                console.runtime.clock.business_date(), note)
            out = services.row_json(unit, row)
            unit.commit()
        _show(out, as_json)

    return command


@click.command("list")
@click.option("--status", default=None, help="draft, pending_approval, published, rejected or retired.")
@click.option("--stage", default=None, help="admission, post_loan or collateral.")
@click.option("--institution", default=None, help="Only the rules this institution owns.")
@click.option("--code", default=None, help="Only this rule code.")
@click.option("--shadow/--live", default=None, help="Only shadow (or only live) rules.")
@click.option("--model", type=click.IntRange(1), default=None, help="Only the conditions of this monitoring model.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--offset", type=click.IntRange(0), default=0)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--user", "username", required=True, help="The user looking (their ancestry and subtree only).")
@click.pass_context
def list_cmd(ctx: click.Context, status: str | None, stage: str | None, institution: str | None, code: str | None,
             shadow: bool | None, model: int | None, limit: int, offset: int, as_json: bool, username: str) -> None:
    """List stored rules owned along the user's ancestry or in their subtree."""
    from nongxin.core.rules import services

    with console_of(ctx).uow(write=False) as unit:
        rows = services.list_rules(unit, as_user(unit, username), services.RuleFilters(
            status=status, stage=stage, institution=institution, code=code, shadow=shadow, model=model,
            limit=limit, offset=offset))
    if as_json:
        click.echo(_dump(rows))
        return
    if not rows:
        click.echo("no stored rules")
    for r in rows:
        click.echo(_line(r))


@click.command("show")
@click.argument("rule_id", type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True, help="Print the rule as JSON.")
@click.option("--user", "username", required=True, help="The user looking.")
@click.pass_context
def show_cmd(ctx: click.Context, rule_id: int, as_json: bool, username: str) -> None:
    """One stored rule with its expression and who decided it."""
    from nongxin.core.rules import services

    with console_of(ctx).uow(write=False) as unit:
        out = services.show(unit, as_user(unit, username), rule_id)
    _show(out, as_json)


def register(group: click.Group) -> None:
    """Add draft, submit, withdraw, approve, reject, retire, list and show to the ``rules`` group."""
    group.add_command(draft_cmd)
    from nongxin.core.rules.services import STEP_DOCS

    for action, text in STEP_DOCS.items():
        group.add_command(_step_command(action, text))
    group.add_command(list_cmd)
    group.add_command(show_cmd)

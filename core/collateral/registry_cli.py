"""``nongxin collateral register|list|show|value|kinds --user NAME``: the collateral registry from the
console, on behalf of a named user, through the same services and checks as the API; a refusal is
a one-line message naming the field, never a traceback."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import click

from nongxin.core.clikit import as_user, console_of


def _amount(field: str, text: str | None) -> Decimal | None:
    from nongxin.core.errors import invalid

    if text is None:
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise invalid(field, "must be an amount of yuan, e.g. 500000.00") from None


def _fields(pairs: tuple[str, ...]) -> dict[str, str]:
    from nongxin.core.errors import invalid

    found: dict[str, str] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise invalid("field", f"{pair!r}: write name=value")
        found[name.strip()] = text
    return found


def _valuation(value: str | None, method: str | None, valuer: str | None, valuer_kind: str,
               valued_on: datetime | None, today: Any, note: str) -> Any:
    from nongxin.core.collateral.registry import ValuationRequest
    from nongxin.core.errors import invalid

    if value is None:
        return None
    if method is None:
        raise invalid("method", "required with --value")
    return ValuationRequest(value=_amount("value", value), method=method, valuer=valuer or "", valuer_kind=valuer_kind,
                            valued_on=valued_on.date() if valued_on else today, note=note)


def _echo(item: dict[str, Any]) -> None:
    owner = item["owner"]
    click.echo(f"{item['number']}  {item['kind']} ({item['kind_label']})  at {item['institution']} "
               f"({item['county_bank']})")
    click.echo(f"  owner       {owner['id']} {owner['name']} {owner['id_number']}")
    click.echo(f"  value       {item['value']}  valued {item['valued_on']} until {item['valid_until']}"
               f"{'  EXPIRED' if item['expired'] else ''}  declared {item['declared_value']}")
    for name, text in item.get("fields", {}).items():
        click.echo(f"  {name:<11} {text}")
    for v in item.get("valuations", []):
        click.echo(f"  valuation   {v['valued_on']} {v['value']:>14} {v['method']:<10} {v['valuer_kind']:<8} "
                   f"{v['valuer']} until {v['valid_until']}")
    for p in item.get("pledges", []):
        click.echo(f"  pledge      {p['line']} rank {p['rank']} {p['status']} {p['registration']}")


def register(group: click.Group) -> None:
    """Add the registry's commands to the ``collateral`` group."""

    @group.command("register")
    @click.option("--user", "username", required=True, help="The user registering.")
    @click.option("--kind", required=True, help="The kind (see `nongxin collateral kinds`).")
    @click.option("--owner", "owner_id", type=int, required=True, help="The owner's customer id.")
    @click.option("--field", "pairs", multiple=True, help="A field of the kind, name=value (repeat).")
    @click.option("--declared-value", default=None, help="Yuan (default: --value).")
    @click.option("--institution", default=None, help="Where it is registered (default: the user's).")
    @click.option("--description", default="", help="A short description.")
    @click.option("--value", default=None, help="A first valuation: yuan.")
    @click.option("--method", default=None, help="Its method (market, income, cost, index, face_value).")
    @click.option("--valuer", default=None, help="Who valued it.")
    @click.option("--valuer-kind", type=click.Choice(["internal", "external"]), default="internal", show_default=True)
    @click.option("--valued-on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Default: the business date.")
    @click.pass_context
    def collateral_register(ctx: click.Context, username: str, kind: str, owner_id: int, pairs: tuple[str, ...],
                            declared_value: str | None, institution: str | None, description: str,
                            value: str | None, method: str | None, valuer: str | None, valuer_kind: str,
                            valued_on: datetime | None) -> None:
        """Register a collateral item (and its first valuation)."""
        from nongxin.core.collateral import registry

        console = console_of(ctx)
        today = console.runtime.clock.business_date()
        with console.uow() as unit:
            who = as_user(unit, username)
            request = registry.RegisterRequest(
                kind=kind, owner=owner_id, fields=_fields(pairs),
                declared_value=_amount("declared_value", declared_value), institution=institution,
                description=description,
                valuation=_valuation(value, method, valuer or username, valuer_kind, valued_on, today, ""))
            item = registry.register(unit, who, request, today)
            unit.commit()
            _echo(registry.details(unit, who, item, today))

    @group.command("list")
    @click.option("--user", "username", required=True, help="The user reading.")
    @click.option("--institution", default=None, help="Only items registered under this institution.")
    @click.option("--customer", "customer_id", type=int, default=None, help="Only this owner's.")
    @click.option("--line", "line_id", type=int, default=None, help="Only items pledged to this credit line.")
    @click.option("--kind", default=None, help="Only this kind.")
    @click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
    @click.option("--offset", type=click.IntRange(0), default=0, show_default=True)
    @click.pass_context
    def collateral_list(ctx: click.Context, username: str, institution: str | None, customer_id: int | None,
                        line_id: int | None, kind: str | None, limit: int, offset: int) -> None:
        """List collateral items of the user's subtree, newest first."""
        from nongxin.core.collateral import registry

        console = console_of(ctx)
        today = console.runtime.clock.business_date()
        filters = registry.ItemFilters(institution=institution, customer_id=customer_id, line_id=line_id, kind=kind,
                                       limit=limit, offset=offset)
        with console.uow(write=False) as unit:
            who = as_user(unit, username)
            for item in registry.list_items(unit, who, filters):
                shown = registry.summary(unit, who, item, today)
                click.echo(f"{item.id:>6}  {item.number:<22} {item.kind:<18} {shown['value']:>14} "
                           f"{'expired ' if shown['expired'] else ''}pledges {shown['active_pledges']}  "
                           f"{shown['owner']['name']}")

    @group.command("show")
    @click.argument("item_id", type=int)
    @click.option("--user", "username", required=True, help="The user reading.")
    @click.pass_context
    def collateral_show(ctx: click.Context, item_id: int, username: str) -> None:
        """Show one item: fields, owner, valuations, pledges."""
        from nongxin.core.collateral import registry
        from nongxin.core.collateral.services import visible_item
        from nongxin.core.permissions import Action

        console = console_of(ctx)
        today = console.runtime.clock.business_date()
        with console.uow(write=False) as unit:
            who = as_user(unit, username)
            _echo(registry.details(unit, who, visible_item(unit, who, item_id, Action.COLLATERAL_READ), today))

    @group.command("value")
    @click.argument("item_id", type=int)
    @click.option("--user", "username", required=True, help="The user valuing.")
    @click.option("--value", required=True, help="Yuan.")
    @click.option("--method", required=True, help="market, income, cost, index or face_value (the kind's).")
    @click.option("--valuer", default=None, help="Who valued it (default: the user).")
    @click.option("--valuer-kind", type=click.Choice(["internal", "external"]), default="internal", show_default=True)
    @click.option("--valued-on", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Default: the business date.")
    @click.option("--note", default="", help="A short note.")
    @click.pass_context
    def collateral_value(ctx: click.Context, item_id: int, username: str, value: str, method: str,
                         valuer: str | None, valuer_kind: str, valued_on: datetime | None, note: str) -> None:
        """Record a manual valuation of an item."""
        from nongxin.core.collateral import registry

        console = console_of(ctx)
        today = console.runtime.clock.business_date()
        with console.uow() as unit:
            who = as_user(unit, username)
            request = _valuation(value, method, valuer or username, valuer_kind, valued_on, today, note)
            row = registry.value_item(unit, who, item_id, request, today)
            unit.commit()
            click.echo(f"valued {row.value} by {row.method} ({row.valuer_kind} {row.valuer}) on {row.valued_on}, "
                       f"valid until {row.valid_until}")

    @group.command("kinds")
    @click.option("--user", "username", required=True, help="The user reading.")
    @click.option("--institution", default=None, help="Whose terms (default: the user's county bank).")
    @click.pass_context
    def collateral_kinds(ctx: click.Context, username: str, institution: str | None) -> None:
        """The kinds, their fields, and the terms in force (haircut, maximum LTV, revaluation days)."""
        from nongxin.core.collateral import registry

        console = console_of(ctx)
        today = console.runtime.clock.business_date()
        with console.uow(write=False) as unit:
            who = as_user(unit, username)
            shown = registry.kinds(unit, who, institution, today)
            click.echo(f"terms at {shown['county_bank']} on {shown['on']}")
            for kind in shown["kinds"]:
                names = ", ".join(f["name"] + ("" if f["required"] else "?") for f in kind["fields"])
                click.echo(f"{kind['kind']:<18} {kind['label']:<8} haircut {kind['haircut']:<6} "
                           f"ltv_max {kind['ltv_max']:<6} revalue {kind['revalue_days']:>4}d  "
                           f"{'registrable ' if kind['registrable'] else ''}fields: {names}")

"""`nongxin parameters`: the dated parameters (LPR, review time limits, exposure caps) at the console.

The console operator acts as the province admin; each change is audited under the operator's name,
with the same checks as through the API (``nongxin.core.parameters.services``).
"""

from __future__ import annotations

from datetime import datetime

import click

from nongxin.core.clikit import as_of_option

DAY = click.DateTime(["%Y-%m-%d"])


@click.group("parameters")
def parameters() -> None:
    """Dated parameters: the province's LPR, review time limits, exposure caps."""


@parameters.command("list")
@click.option("--institution", default=None, help="Institution code (default: the province).")
@as_of_option
@click.pass_context
def parameters_list(ctx: click.Context, institution: str | None) -> None:
    """Every parameter in force at the institution on the business date (or --as-of)."""
    from nongxin.core.clikit import console_of, province_operator
    from nongxin.core.parameters import services

    console = console_of(ctx)
    with console.uow(write=False) as unit:
        on = console.runtime.clock.business_date()
        found = services.listing(unit, province_operator(unit), institution, on)
    click.echo(f"parameters at {found.institution.code} on {on.isoformat()}:")
    for f in found.parameters:
        since = f" from {f.effective_from.isoformat()}" if f.effective_from else ""
        click.echo(f"  {f.parameter.name:<32} {f.text:<12} {f.source}{since}  {f.parameter.label}")


@parameters.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--institution", required=True, help="Institution code the value is set at.")
@click.option("--from", "effective_from", type=DAY, default=None,
              help="First day it applies (YYYY-MM-DD; default: the business date; never earlier).")
@click.option("--note", default="", help="Why (e.g. 人民银行公告 2025-05-20).")
@click.pass_context
def parameters_set(ctx: click.Context, name: str, value: str, institution: str, effective_from: datetime | None,
                   note: str) -> None:
    """Set parameter NAME to VALUE at an institution from a day on.

    Rates may be written as a fraction or in percent: 0.0345 and 3.45% are the same rate.
    """
    from marshmallow import ValidationError

    from nongxin.core.clikit import console_of, province_operator
    from nongxin.core.errors import invalid
    from nongxin.core.parameters import services
    from nongxin.core.parameters.schemas import ParameterSet

    try:  # the same checks as the API's body (lengths, control characters)
        ParameterSet(only=("value", "note")).load({"value": value, "note": note})
    except ValidationError as exc:
        field, reasons = next(iter(exc.messages_dict.items()))
        raise invalid(field, " ".join(map(str, reasons))) from None
    console = console_of(ctx)
    with console.uow() as unit:
        row = services.set_value(unit, province_operator(unit), name, institution, value,
                                 today=console.runtime.clock.business_date(),
                                 effective_from=effective_from.date() if effective_from else None, note=note)
        unit.commit()
    click.echo(f"{row.name} = {row.value} at {row.institution} from {row.effective_from.isoformat()}")

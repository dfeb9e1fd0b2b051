"""Reading a plugin's inputs the same way in every plugin: facts, money and settings.

Each product plugin needs the same three things from a hook's arguments, and each copy of them was a
chance to get one subtly different (a float let into a limit, a form value winning over a verified
one, defaults forgotten in a unit test). These functions are that one shared reading.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

import marshmallow

from nongxin.sdk.errors import InvalidValue, WrongValueType
from nongxin.sdk.types import ApplicationData, HookContext

__all__ = ["fact", "money", "round_down", "settings_with_defaults"]


def fact(application: ApplicationData, facts: Mapping[str, Any], key: str) -> Any:
    """The value of ``key``: the core's verified fact if it has one, else the application form's.

    The core fills ``facts`` from sources it checked (the bureau, connectors, its own records), while
    ``application.data`` is what the customer or the loan officer typed at the counter. A verified
    figure must win, so a typed-in income can never outweigh the one the tax office reported. A fact
    that is present but ``None`` counts as absent (the source had nothing), so the form still
    answers. ``None`` when neither has the key.
    """
    value = facts.get(key)
    return application.data.get(key) if value is None else value


def money(value: Any) -> Decimal:
    """``value`` as a ``Decimal`` amount of yuan; missing (``None`` or ``""``) is zero.

    Money is never float in Nongxin: a float has already lost the fen (0.1 + 0.2 != 0.3), and a
    limit or a price computed from it is wrong by an amount nobody can audit. So a float is refused
    with ``WrongValueType`` (a ``TypeError``) rather than silently converted: the bug is wherever the float was made, and it
    must be fixed there. ``bool`` is refused too (``True`` is an ``int`` to Python but never an
    amount). ``int``, ``str`` and ``Decimal`` are accepted; a string that is not a finite number
    raises ``InvalidValue`` (a ``ValueError``) naming it, so the message points at the bad input.
    """
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, (bool, float)):
        raise WrongValueType(f"money must be Decimal, int or str, never {type(value).__name__}: {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int, str)):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise InvalidValue(f"not an amount of money: {value!r}") from None
    else:
        raise WrongValueType(f"money must be Decimal, int or str, not {type(value).__name__}: {value!r}")
    if not amount.is_finite():
        raise InvalidValue(f"not an amount of money: {value!r}")
    return amount


@lru_cache(maxsize=None)
def round_down(amount: Decimal, unit: Decimal = Decimal("1000")) -> Decimal:
    """``amount`` down to a whole number of ``unit`` (limits are granted in thousands), never below 0.

    A limit must never be rounded up past what its formula allows; ``Decimal.quantize`` cannot do
    this (it sets decimal places, not multiples, and rounds half-even).
    """
    if amount <= 0:
        return Decimal("0")
    return (amount / unit).to_integral_value(rounding=ROUND_FLOOR) * unit


def _defaults(schema: type[marshmallow.Schema]) -> Mapping[str, Any]:
    # Read from the fields rather than Schema().load({}): a schema with a required field would
    # refuse the empty load, yet its other fields' defaults are still the right fallback. Keyed by
    # ``attribute`` when set, as load() would key them. Read-only because the result is shared; a
    # callable default (``load_default=list``) is kept uncalled so each caller gets its own value.
    defaults: dict[str, Any] = {}
    for name, field in schema().fields.items():
        if field.load_default is not marshmallow.missing:
            defaults[field.attribute or name] = field.load_default
    return MappingProxyType(defaults)


def settings_with_defaults(ctx: HookContext, schema: type[marshmallow.Schema]) -> dict[str, Any]:
    """The plugin's settings at ``ctx``'s institution, each missing one filled from ``schema``.

    The core hands every hook its plugin's settings already validated against ``schema`` with the
    defaults applied, so in production this is just those settings. A ``HookContext`` built by hand
    in a unit test carries none (or only the ones the test is about), so without this every plugin
    would need its own fallback to the ``load_default`` values. ``ctx.settings`` always wins; the
    defaults are computed once per schema class, so calling this in every hook is cheap. A fresh
    ``dict`` is returned each time: the caller may change it without touching the cached defaults.
    """
    settings = {key: default() if callable(default) else default
                for key, default in _defaults(schema).items() if key not in ctx.settings}
    settings.update(ctx.settings)
    return settings

"""JSON-safe dicts from the SDK's frozen dataclasses, and back, without losing a fen.

Private to the SDK: the bureau report cache uses it today; collateral valuations and decision
records will store their SDK values the same way. The promise: ``decode(T, json.loads(json.dumps(
encode(value)))) == value`` for every frozen dataclass built from the supported types below, and a
corrupt or hand-edited dict is an ``InvalidValue`` (a ``ValueError``) naming the path of the bad value
(``report.loans[2].balance``), never a half-built object.

Supported field types: ``str``, ``int``, ``bool``, ``Decimal`` (as a string: a JSON number is read
back as a float), ``date`` and ``datetime`` (ISO 8601), ``enum.Enum`` (by value), nested frozen
dataclasses, ``tuple[X, ...]``, ``Mapping[str, X]`` and ``X | None``. A float anywhere is refused on
the way in (``WrongValueType``, a ``TypeError``): money must be Decimal.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping as AbcMapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, TypeVar

from nongxin.sdk.errors import InvalidValue, WrongValueType

T = TypeVar("T")


def encode(value: Any) -> Any:
    """A JSON-safe copy of ``value``: dicts, lists, strings, ints, bools and None only."""
    if value is None or isinstance(value, (bool, str, int)) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, AbcMapping):
        return {str(k): encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        raise WrongValueType("float found in an SDK value; money must be Decimal")
    raise WrongValueType(f"{type(value).__name__} cannot be encoded")


def decode(cls: type[T], raw: Any, where: str = "value") -> T:
    """Rebuild a ``cls`` dataclass from :func:`encode`'s output; ``where`` names the root in errors.

    Absent fields take their defaults; unknown keys are ignored (an older core reading a newer
    record). Every value is checked against the field's type before the constructor runs, so the
    constructor's own checks (``__post_init__``) see only well-typed values.
    """
    return typing.cast(T, _dataclass(cls, raw, where))


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _dataclass(cls: Any, raw: Any, where: str) -> Any:
    if not isinstance(raw, AbcMapping):
        raise InvalidValue(f"{where}: expected an object, got {type(raw).__name__}")
    hints = _hints(cls)
    kwargs = {f.name: _value(hints[f.name], raw[f.name], f"{where}.{f.name}")
              for f in dataclasses.fields(cls) if f.name in raw}
    try:
        return cls(**kwargs)
    except ValueError as exc:  # the constructor's own check (an identity number, a negative amount)
        exc.add_note(f"while decoding {where}")
        raise


def _value(hint: Any, raw: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        if raw is None:
            if len(options) < len(typing.get_args(hint)):
                return None
            raise InvalidValue(f"{where}: must not be null")
        if len(options) != 1:
            raise TypeError(f"{where}: only `X | None` unions can be decoded")
        return _value(options[0], raw, where)
    if raw is None:
        raise InvalidValue(f"{where}: must not be null")
    if origin is tuple:
        if not isinstance(raw, (list, tuple)):
            raise InvalidValue(f"{where}: expected a list, got {type(raw).__name__}")
        item = typing.get_args(hint)[0]
        return tuple(_value(item, v, f"{where}[{i}]") for i, v in enumerate(raw))
    if origin in (AbcMapping, dict) or hint in (Mapping, dict):
        if not isinstance(raw, AbcMapping):
            raise InvalidValue(f"{where}: expected an object, got {type(raw).__name__}")
        args = typing.get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return {str(k): _value(item, v, f"{where}.{k}") for k, v in raw.items()}
    if dataclasses.is_dataclass(hint):
        return _dataclass(hint, raw, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(raw)
        except ValueError:
            raise InvalidValue(f"{where}: {raw!r} is not a {hint.__name__}") from None
    if hint is Decimal:
        if not isinstance(raw, str):  # a JSON number here has been through a float already
            raise InvalidValue(f"{where}: money must be a string, got {type(raw).__name__}")
        try:
            return Decimal(raw)
        except InvalidOperation:
            raise InvalidValue(f"{where}: {raw!r} is not a decimal number") from None
    if hint in (datetime, date):
        if not isinstance(raw, str):
            raise InvalidValue(f"{where}: expected an ISO 8601 string, got {type(raw).__name__}")
        try:
            return hint.fromisoformat(raw)
        except ValueError:
            raise InvalidValue(f"{where}: {raw!r} is not an ISO 8601 {hint.__name__}") from None
    if hint is bool and not isinstance(raw, bool):
        raise InvalidValue(f"{where}: expected true or false, got {type(raw).__name__}")
    if hint in (int, str) and (not isinstance(raw, hint) or isinstance(raw, bool)):
        raise InvalidValue(f"{where}: expected {hint.__name__}, got {type(raw).__name__}")
    if isinstance(raw, float):
        raise InvalidValue(f"{where}: a float is not allowed; money must be a decimal string")
    return raw

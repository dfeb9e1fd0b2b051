"""Shared marshmallow bits for the API edge.

Every string that comes in goes through here: :class:`StrictSchema` refuses lone surrogates and NUL
anywhere in a body or query (they cannot be encoded or stored), :class:`Text` bounds a string's
length and keeps control, escape and bidi-override characters out of names and references, and
:func:`column_text` takes that bound from the model column so the two cannot drift apart.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any, Iterator

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from sqlalchemy.orm import InstrumentedAttribute

#: Lone surrogates cannot be encoded as UTF-8; NUL cannot be stored in a PostgreSQL text column.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: C0/C1 controls (NUL, ESC of ANSI escapes, ...), DEL, line separators, and the bidi marks and
#: overrides that make text display differently from what it is (U+202A-202E, U+2066-2069).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
#: The same, but tab and line breaks are fine (a rule expression spans lines).
CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                               "\u202a-\u202e\u2066-\u2069]")

#: Dates outside these bounds are typos or probes; the bounds leave room for date arithmetic
#: (an expiry 90 days on, a day after ``until``) without overflowing Python's or the database's range.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def _unstorable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Walk a raw body without recursion (it may be deep) and name each unstorable string."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            bad = UNSTORABLE.search(item)
            if bad:
                yield where or "body", f"contains {_describe(bad.group())}, which cannot be stored"
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and UNSTORABLE.search(key):
                    yield (where or "body"), f"a key contains {_describe(UNSTORABLE.search(key).group())}"  # type: ignore[union-attr]
                    continue
                stack.append((sub, name))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}.{i}" if where else str(i)) for i, sub in enumerate(item))


def _describe(ch: str) -> str:
    if "\ud800" <= ch <= "\udfff":
        return f"a lone surrogate (U+{ord(ch):04X})"
    return f"the character U+{ord(ch):04X}"


class StrictSchema(Schema):
    """Unknown fields are an error naming them, never silently dropped; strings that cannot be
    stored (lone surrogates, NUL) are an error naming the field, wherever they are."""

    class Meta:
        unknown = RAISE
        ordered = True

    @pre_load
    def _refuse_unstorable(self, data: Any, **_kw: Any) -> Any:
        problems: dict[str, list[str]] = {}
        for where, reason in _unstorable(data, ""):
            problems.setdefault(where, []).append(reason)
        if problems:
            raise ValidationError(problems)
        return data


class Text(fields.String):
    """A string from outside: at most ``max_length`` characters, and free of control characters,
    ANSI escapes and bidi overrides (``multiline`` allows tab and line breaks)."""

    def __init__(self, *, max_length: int, min_length: int | None = None, multiline: bool = False,
                 **kwargs: Any) -> None:
        extra = kwargs.pop("validate", None)
        validators = list(extra) if isinstance(extra, (list, tuple)) else [extra] if extra else []
        validators.insert(0, validate.Length(min=min_length, max=max_length))
        super().__init__(validate=validators, **kwargs)
        self.max_length = max_length
        self.multiline = multiline
        self.column: str | None = None  # set by column_text

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        bad = (CONTROL_MULTILINE if self.multiline else CONTROL).search(text)
        if bad:
            raise ValidationError(f"must not contain control, escape or bidi characters "
                                  f"(found U+{ord(bad.group()):04X})")
        return text


def column_text(column: InstrumentedAttribute[Any], **kwargs: Any) -> Text:
    """A :class:`Text` as long as the model column it is stored in, and remembering that column."""
    length = getattr(column.property.columns[0].type, "length", None)
    if not length:
        raise TypeError(f"{column} has no declared length")
    field = Text(max_length=length, **kwargs)
    field.column = str(column)
    return field


def _bounded(value: date | datetime) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValidationError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")


class Day(fields.Date):
    """A calendar date between 1900 and 2999."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_bounded, **kwargs)


class Moment(fields.AwareDateTime):
    """A timestamp with a time zone, between 1900 and 2999 (in UTC)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=_moment_bounded, **kwargs)


def _moment_bounded(value: datetime) -> None:
    # Compare the date part first: converting year 9999 or year 1 to UTC can itself overflow.
    _bounded(value)
    _bounded(value.astimezone(timezone.utc))


class Timestamp(fields.DateTime):
    """A timestamp going out: always with its time zone. SQLite hands datetimes back naive; they
    are stored in UTC, so a naive one is UTC (:func:`nongxin.core.db.as_utc`). Every response
    schema's timestamps are this field (a test refuses a plain ``fields.DateTime`` in the core)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class OutSchema(Schema):
    """Base of response schemas: fields in declaration order; timestamps are :class:`Timestamp`.
    Not strict: a response may gain a field without breaking a client."""

    class Meta:
        ordered = True


class ErrorSchema(OutSchema):
    """The body of every error answer, from every endpoint."""

    error = fields.String(required=True, metadata={"description": "stable machine-readable code, e.g. "
                                                   "validation_failed (see nongxin.core.errors.TABLE)"})
    message = fields.String(required=True, metadata={"description": "what is wrong, for a person"})
    fields_ = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True,
                          data_key="fields", attribute="fields",
                          metadata={"description": "the input fields at fault and why"})

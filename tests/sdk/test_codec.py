"""The SDK's private dataclass codec: exact round trips, and corrupt dicts named by path."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Mapping

import pytest
from hypothesis import given, strategies as st

from nongxin.sdk._codec import decode, encode


class Kind(str, enum.Enum):
    LAND = "land"
    CAR = "car"


@dataclass(frozen=True)
class Part:
    amount: Decimal
    on: date | None = None


@dataclass(frozen=True)
class Record:
    name: str
    kind: Kind
    count: int
    flag: bool
    at: datetime
    parts: tuple[Part, ...] = ()
    extra: Mapping[str, Decimal] = field(default_factory=dict)
    note: str | None = None


def _json(value: object) -> object:
    return json.loads(json.dumps(encode(value), ensure_ascii=False))


money = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2, allow_nan=False)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1))


@given(name=st.text(max_size=20), kind=st.sampled_from(Kind), count=st.integers(-2**63, 2**63 - 1),
       flag=st.booleans(), parts=st.lists(st.builds(Part, money, st.none() | days), max_size=4),
       extra=st.dictionaries(st.text(max_size=5), money, max_size=3), note=st.none() | st.text(max_size=5))
def test_round_trip_through_json_is_exact(name, kind, count, flag, parts, extra, note):
    value = Record(name, kind, count, flag, datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc),
                   tuple(parts), extra, note)
    assert decode(Record, _json(value)) == value


def test_money_is_a_string_and_a_float_is_refused_both_ways():
    encoded = encode(Part(Decimal("0.10")))
    assert encoded == {"amount": "0.10", "on": None}
    with pytest.raises(TypeError, match="money must be Decimal"):
        encode(Part(0.1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"part\.amount: money must be a string"):
        decode(Part, {"amount": 0.1}, "part")


@pytest.mark.parametrize("raw, message", [
    ({"amount": "1", "on": "2026-13-01"}, r"p\.on: '2026-13-01' is not an ISO 8601 date"),
    ({"amount": "abc"}, r"p\.amount: 'abc' is not a decimal number"),
    ({"amount": None}, r"p\.amount: must not be null"),
    (["1"], r"p: expected an object, got list"),
])
def test_corrupt_values_are_named_by_path(raw, message):
    with pytest.raises(ValueError, match=message):
        decode(Part, raw, "p")


def test_nested_errors_name_the_index():
    raw = _json(Record("x", Kind.CAR, 1, True, datetime(2026, 1, 1), (Part(Decimal(1)), Part(Decimal(2)))))
    raw["parts"][1]["amount"] = 2  # type: ignore[index]
    with pytest.raises(ValueError, match=r"r\.parts\[1\]\.amount: money must be a string"):
        decode(Record, raw, "r")
    raw["parts"][1]["amount"] = "2"  # type: ignore[index]
    raw["kind"] = "boat"  # type: ignore[index]
    with pytest.raises(ValueError, match=r"r\.kind: 'boat' is not a Kind"):
        decode(Record, raw, "r")
    raw["kind"], raw["flag"] = "car", 1  # type: ignore[index]
    with pytest.raises(ValueError, match=r"r\.flag: expected true or false"):
        decode(Record, raw, "r")


def test_codec_errors_are_sdk_errors_the_core_maps():
    from nongxin.sdk.errors import InvalidValue, NongxinSdkError, WrongValueType

    with pytest.raises(InvalidValue) as bad:
        decode(Part, {"amount": 1}, "p")
    with pytest.raises(WrongValueType) as wrong:
        encode(Part(0.5))  # type: ignore[arg-type]
    assert isinstance(bad.value, NongxinSdkError) and isinstance(wrong.value, NongxinSdkError)

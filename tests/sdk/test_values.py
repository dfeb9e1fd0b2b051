"""The SDK's shared readings of facts, money and settings that every product plugin relies on."""

from decimal import Decimal

import pytest
from marshmallow import Schema, fields, validate

import nongxin.sdk
from nongxin.sdk import Applicant, ApplicationData, HookContext, fact, money, settings_with_defaults


def application(**data):
    return ApplicationData("A-1", "TEST", "JNRCB", Applicant("resident_id", "11010519491231002X", "张三"),
                           Decimal("10000"), 12, data=data)


class Settings(Schema):
    ceiling = fields.Decimal(load_default=Decimal("300000"), as_string=False,
                             validate=validate.Range(min=Decimal("1000")))
    timeout_seconds = fields.Float(load_default=5.0)
    tags = fields.List(fields.String(), load_default=list)
    source = fields.String(attribute="origin", load_default="bureau")
    note = fields.String()  # no default: absent from a bare context's settings


def test_exported_from_the_sdk():
    assert {"fact", "money", "settings_with_defaults"} <= set(nongxin.sdk.__all__)


# --- fact ---------------------------------------------------------------------------------------

def test_verified_fact_wins_over_the_form():
    assert fact(application(annual_income="50000"), {"annual_income": Decimal("80000")},
                "annual_income") == Decimal("80000")


def test_form_answers_when_the_core_has_no_fact():
    app = application(annual_income="50000")
    assert fact(app, {}, "annual_income") == "50000"
    assert fact(app, {"annual_income": None}, "annual_income") == "50000"  # None is "no fact"


def test_falsy_fact_still_wins():
    assert fact(application(age=40), {"age": 0}, "age") == 0


def test_missing_everywhere_is_none():
    assert fact(application(), {}, "age") is None


# --- money --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, Decimal("0")), ("", Decimal("0")), (0, Decimal("0")), (1500, Decimal("1500")),
    ("1234.56", Decimal("1234.56")), (" 99.9 ", Decimal("99.9")), (Decimal("0.01"), Decimal("0.01")),
    ("-20", Decimal("-20")),
])
def test_money_accepts_decimal_int_and_str(value, expected):
    result = money(value)
    assert isinstance(result, Decimal) and result == expected


@pytest.mark.parametrize("value", [0.1, 1500.0, float("nan")])
def test_float_is_refused_naming_the_value(value):
    with pytest.raises(TypeError, match="float") as info:
        money(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [True, False])
def test_bool_is_refused(value):
    with pytest.raises(TypeError, match=repr(value)):
        money(value)


@pytest.mark.parametrize("value", [[1], object()])
def test_other_types_are_refused(value):
    with pytest.raises(TypeError):
        money(value)


@pytest.mark.parametrize("value", ["abc", "12,000", "1.2.3", "NaN", "Infinity", Decimal("NaN")])
def test_non_numeric_is_a_value_error_naming_it(value):
    with pytest.raises(ValueError) as info:
        money(value)
    assert repr(value) in str(info.value)


# --- settings_with_defaults ----------------------------------------------------------------------

def test_bare_context_gets_the_schema_defaults():
    settings = settings_with_defaults(HookContext("JNRCB"), Settings)
    assert settings == {"ceiling": Decimal("300000"), "timeout_seconds": 5.0, "tags": [], "origin": "bureau"}


def test_defaults_match_what_the_schema_loads():
    loaded = Settings().load({})
    assert settings_with_defaults(HookContext("JNRCB"), Settings) == loaded


def test_validated_settings_are_passed_through():
    validated = Settings().load({"ceiling": "500000", "timeout_seconds": 2.5, "tags": ["a"],
                                 "source": "tax", "note": "n"})
    assert settings_with_defaults(HookContext("JNRCB", settings=validated), Settings) == validated


def test_partial_settings_are_completed_and_win():
    settings = settings_with_defaults(HookContext("JNRCB", settings={"timeout_seconds": 2.5}), Settings)
    assert settings["timeout_seconds"] == 2.5 and settings["ceiling"] == Decimal("300000")


def test_callers_cannot_corrupt_the_cached_defaults():
    first = settings_with_defaults(HookContext("JNRCB"), Settings)
    first["ceiling"] = Decimal("1")
    first["tags"].append("x")
    again = settings_with_defaults(HookContext("JNRCB"), Settings)
    assert again["ceiling"] == Decimal("300000") and again["tags"] == []


def test_a_required_field_does_not_stop_the_other_defaults():
    class WithRequired(Schema):
        key = fields.String(required=True)
        limit = fields.Integer(load_default=7)

    assert settings_with_defaults(HookContext("JNRCB"), WithRequired) == {"limit": 7}


def test_round_down_never_rounds_up_and_never_goes_negative():
    from decimal import Decimal

    from nongxin.sdk import round_down

    assert round_down(Decimal("123999.99")) == Decimal("123000")
    assert round_down(Decimal("1000")) == Decimal("1000")
    assert round_down(Decimal("999.5")) == Decimal("0")
    assert round_down(Decimal("-5000")) == Decimal("0")
    assert round_down(Decimal("1234.56"), Decimal("100")) == Decimal("1200")


def test_hook_context_carries_the_business_date_and_today_is_its_deprecated_alias():
    from datetime import date

    ctx = HookContext("JNRCB", ("SD", "JNRCB"), {}, "p", date(2026, 2, 6))
    assert ctx.business_date == date(2026, 2, 6)
    with pytest.deprecated_call():
        assert ctx.today == date(2026, 2, 6)
    unset = HookContext("JNRCB")  # hand-built contexts stay valid; the date is simply unset
    assert unset.business_date is None
    with pytest.deprecated_call(), pytest.raises(ValueError, match="business_date"):
        unset.today

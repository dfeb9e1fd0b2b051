"""A settings schema becomes a form and a submitted form the changed values, typed for the schema."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from nongxin.core.console import settings_form


class Every(Schema):
    cap = fields.Decimal(load_default=Decimal("300000"), validate=validate.Range(min=Decimal("1000")))
    days = fields.Integer(required=True, metadata={"description": "grace days"})
    strict = fields.Boolean(load_default=True)
    tier = fields.String(validate=validate.OneOf(["a", "b"], labels=["甲", "乙"]))
    regions = fields.List(fields.String())
    api_key = fields.String(metadata={"secret": True})
    start = fields.Date()


CURRENT = {"cap": Decimal("300000"), "days": 3, "strict": True, "tier": "a", "regions": ["JNRCB"],
           "api_key": "s3cret", "start": None}


def _inputs() -> dict[str, settings_form.Input]:
    made = settings_form.inputs(Every, CURRENT, frozenset({"api_key"}))
    return {i.key: i for i in made}


def test_each_field_type_gets_its_input_and_secrets_are_never_shown():
    got = _inputs()
    assert {k: i.kind for k, i in got.items()} == {"cap": "text", "days": "number", "strict": "checkbox",
                                                    "tier": "select", "regions": "json", "api_key": "secret",
                                                    "start": "date"}
    assert got["cap"].value == "300000" and got["days"].required and "grace days" in got["days"].hint
    assert got["tier"].choices == (("a", "甲"), ("b", "乙")) and got["regions"].value == '["JNRCB"]'
    assert got["api_key"].value == "" and got["api_key"].is_set
    assert "取值范围 1000 ~ " in got["cap"].hint


def test_a_form_gives_back_only_what_changed_typed_for_the_schema():
    items = list(_inputs().values())
    form = {"s-cap": "300000", "s-days": "5", "s-tier": "a", "s-regions": '["JNRCB", "LYRCB"]', "s-api_key": "",
            "s-start": ""}  # strict unticked
    values, errors = settings_form.changes(form, items)
    assert errors == {}
    assert values == {"days": 5, "strict": False, "regions": ["JNRCB", "LYRCB"]}
    values, errors = settings_form.changes({"s-strict": "on", "s-api_key": "new", "s-regions": "[oops",
                                            "s-days": "five"}, items)
    assert values == {"api_key": "new", "days": "five"}  # the schema says what is wrong with "five"
    assert list(errors) == ["s-regions"]


def test_service_errors_land_beside_their_inputs_in_chinese():
    beside, others = settings_form.by_input(
        {"cap": ["Must be greater than or equal to 1000."], "_schema": ["cap and days disagree"]},
        list(_inputs().values()))
    assert beside == {"s-cap": ["须不小于 1000。（Must be greater than or equal to 1000.）"]}
    assert others == {"_schema": ["cap and days disagree"]}

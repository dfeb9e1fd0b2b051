"""A plugin's settings as a form, generated from its marshmallow settings schema, and back.

The promise: every field of the schema gets an input of its kind (a number for an integer, text
for a Decimal so no digit is lost, a checkbox for a boolean, a select for ``OneOf`` choices, a
JSON text area for nested values and lists, a password box for a secret, which is never shown and
left as it is when left empty), with the current value; and a submitted form gives back only the
values the user changed, typed as the API's JSON would carry them, for the plugin's own schema to
validate (the service does; this module never decides what is valid, except that a JSON box must
hold JSON). Inputs are named ``s-<key>`` so they never collide with the form's other fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Mapping

from marshmallow import fields, validate

PREFIX = "s-"
JSON_FIELDS = (fields.Nested, fields.List, fields.Dict, fields.Tuple, fields.Mapping)


@dataclass(frozen=True)
class Input:
    key: str  # the settings key
    label: str
    kind: str  # text, number, checkbox, select, json, secret, date
    required: bool
    value: Any  # as shown: text, or a bool for a checkbox; "" for a secret
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    is_set: bool = False  # a secret: whether it has a value

    @property
    def name(self) -> str:
        return PREFIX + self.key


def _kind(fld: "fields.Field[Any]", secret: bool) -> str:
    if secret:
        return "secret"
    if isinstance(fld, fields.Boolean):
        return "checkbox"
    if _choices(fld):
        return "select"
    if isinstance(fld, JSON_FIELDS):
        return "json"
    if isinstance(fld, fields.Integer):
        return "number"
    if isinstance(fld, fields.Date) and not isinstance(fld, fields.DateTime):
        return "date"
    return "text"


def _choices(fld: "fields.Field[Any]") -> tuple[tuple[str, str], ...]:
    for rule in fld.validators:
        if isinstance(rule, validate.OneOf):
            labels = list(rule.labels) if rule.labels else [str(c) for c in rule.choices]
            return tuple((str(c), str(label)) for c, label in zip(rule.choices, labels))
    return ()


def _hint(fld: "fields.Field[Any]") -> str:
    parts = []
    description = (fld.metadata or {}).get("description")
    if description:
        parts.append(str(description))
    for rule in fld.validators:
        if isinstance(rule, validate.Range):
            low = "" if rule.min is None else str(rule.min)
            high = "" if rule.max is None else str(rule.max)
            parts.append(f"取值范围 {low} ~ {high}")
        elif isinstance(rule, validate.Length) and rule.max is not None:
            parts.append(f"最多 {rule.max} 个字符")
    return "；".join(parts)


def shown(value: Any) -> str:
    """A current value as its input shows it."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def inputs(schema_cls: type | None, current: Mapping[str, Any], secrets: frozenset[str]) -> list[Input]:
    """The form's inputs, in the schema's order, holding ``current`` (the effective settings; secret
    values are never put in a page)."""
    if schema_cls is None:
        return []
    out = []
    for name, fld in schema_cls().fields.items():
        if fld.dump_only:
            continue
        key = fld.data_key or name
        secret = key in secrets
        kind = _kind(fld, secret)
        value: Any = bool(current.get(key)) if kind == "checkbox" else "" if secret else shown(current.get(key))
        label = str((fld.metadata or {}).get("label") or key)
        out.append(Input(key, label, kind, bool(fld.required), value, _choices(fld), _hint(fld),
                         is_set=secret and current.get(key) not in (None, "")))
    return out


def changes(form: Mapping[str, str], shown_inputs: list[Input]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(the values the user changed, typed for the schema; errors by input name for boxes that do
    not hold JSON)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for item in shown_inputs:
        raw = form.get(item.name)
        if item.kind == "checkbox":
            ticked = raw is not None
            if ticked != item.value:
                values[item.key] = ticked
            continue
        if raw is None:
            continue
        text = raw.strip()
        if item.kind == "secret":
            if text:
                values[item.key] = text
            continue
        if text == item.value:
            continue
        if item.kind == "json":
            try:
                values[item.key] = json.loads(text) if text else None
            except ValueError as exc:
                errors[item.name] = [f"不是有效的 JSON：{exc}"]
            continue
        if item.kind == "number" and re.fullmatch(r"[+-]?\d+", text):
            values[item.key] = int(text)
            continue
        values[item.key] = text if text else None
    return values, errors


def as_typed(shown_inputs: list[Input], form: Mapping[str, str]) -> list[Input]:
    """The inputs holding what the user typed (a form is shown again as it was sent; never a secret)."""
    return [replace(i, value=(i.name in form) if i.kind == "checkbox" else "" if i.kind == "secret"
                    else form.get(i.name, i.value)) for i in shown_inputs]


_MESSAGES = [
    (re.compile(r"^Missing data for required field\.$"), "必填。"),
    (re.compile(r"^Not a valid integer\.$"), "不是整数。"),
    (re.compile(r"^Not a valid number\.$"), "不是有效的数字。"),
    (re.compile(r"^Not a valid boolean\.$"), "不是“是/否”。"),
    (re.compile(r"^Not a valid (string|date|list|mapping type)\.$"), "格式不对。"),
    (re.compile(r"^Field may not be null\.$"), "不能为空。"),
    (re.compile(r"^Unknown field\.$"), "插件不认识这个设置项。"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"), r"须在 \1 到 \2 之间。"),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"须不小于 \1。"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"须不大于 \1。"),
    (re.compile(r"^Must be one of: (.+)\.$"), r"须为以下之一：\1。"),
]


def in_chinese(reason: str) -> str:
    """marshmallow's usual messages in Chinese, with the original kept after it; others as they are."""
    for pattern, chinese in _MESSAGES:
        if pattern.match(reason):
            return f"{pattern.sub(chinese, reason)}（{reason}）"
    return reason


def by_input(errors: Mapping[str, list[str]], shown_inputs: list[Input]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """A service's field errors keyed by the settings key, as (errors beside inputs, the others)."""
    names = {item.key: item.name for item in shown_inputs}
    beside: dict[str, list[str]] = {}
    rest: dict[str, list[str]] = {}
    for key, reasons in errors.items():
        translated = [in_chinese(r) for r in reasons]
        if key in names:
            beside[names[key]] = translated
        else:
            rest[key] = translated
    return beside, rest

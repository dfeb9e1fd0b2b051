"""Collateral (押品) as the platform knows it: the kinds, the fields each kind declares and how they
are checked, and the dataclasses the lending arithmetic works on.

A county developer's valuer plugin (``nongxin_value_collateral``) receives a ``CollateralData``
whose ``kind`` is one of ``KINDS`` and whose ``data`` holds that kind's fields, already checked by
``check_fields``: the same function the core runs before an item is registered, so a plugin's
tests can build valid items without a running province.

Kinds (``KINDS``), each with the field that identifies the item at a county bank (``key``):

==================  =========  ==============================  ===========================
kind                label      key field                       registration (抵押/质押登记)
==================  =========  ==============================  ===========================
real_estate         不动产     certificate_no (不动产权证号)   yes
vehicle             机动车     vin (车辆识别代号, GB 16735)    yes
deposit             存单质押   account (存款账号)              no (the deposit is frozen)
land_rights         土地经营权 certificate_no                  yes
forest_rights       林权       certificate_no                  yes
warehouse_receipt   仓单       receipt_no                      yes (动产融资统一登记)
guarantee_company   担保公司   contract_no (保证合同号)        no
guarantee_person    自然人保证 contract_no                     no
==================  =========  ==============================  ===========================
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Mapping

from nongxin.sdk.errors import InvalidIdentity
from nongxin.sdk.identity import validate_uscc

__all__ = [
    "MAX_VALUE", "Claim", "FieldSpec", "Holding", "KINDS", "KindSpec", "REGISTRATION_STATES", "VALUATION_METHODS",
    "VALUER_KINDS", "check_account", "check_certificate", "check_fields", "check_uscc", "check_vin", "kind_spec", "make_vin",
]

#: How a value was reached (评估方法).
VALUATION_METHODS = {
    "market": "市场比较法", "income": "收益法", "cost": "成本法", "index": "指数或登记价格",
    "face_value": "面值",
}
#: Who valued (评估人): the bank's own staff, an external appraiser (评估机构), or a valuer plugin.
VALUER_KINDS = {"internal": "内部评估", "external": "外部评估机构", "plugin": "自动估值"}
#: A pledge's registration (抵押登记) states.
REGISTRATION_STATES = {"not_required": "无需登记", "pending": "待登记", "registered": "已登记"}

Check = Callable[[str], str]  # returns the normalized value or raises ValueError with the reason


def _text(limit: int) -> Check:
    def check(value: str) -> str:
        text = unicodedata.normalize("NFKC", value).strip()
        if not text or len(text) > limit or not text.isprintable():
            raise ValueError(f"1-{limit} visible characters")
        return text
    return check


#: 不动产权证号 as issued since 2015: 鲁(2023)济南市不动产权第0012345号; the older 房产证/土地证
#: numbers are accepted as 6-30 letters and digits (banks still hold them).
_CERTIFICATE = re.compile(r"^[\u4e00-\u9fff]{1,2}\(\d{4}\)[\u4e00-\u9fff]{1,12}(?:不动产权|不动产证明)第\d{7}号$")
_OLD_CERTIFICATE = re.compile(r"^[0-9A-Z\u4e00-\u9fff-]{6,30}$")


def check_certificate(value: str) -> str:
    """A property, land or forest certificate number: the 2015 unified form, or an older one."""
    text = unicodedata.normalize("NFKC", value).strip().replace(" ", "").upper()
    if _CERTIFICATE.match(text) or _OLD_CERTIFICATE.match(text):
        return text
    raise ValueError("not a certificate number: write it as printed, e.g. 鲁(2023)济南市不动产权第0012345号")


_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9))), **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10)))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def check_vin(value: str) -> str:
    """A vehicle identification number (车辆识别代号): 17 characters without I, O or Q, whose 9th is
    the check digit GB 16735 requires (the ISO 3779 weights, remainder 10 written X)."""
    vin = unicodedata.normalize("NFKC", value).strip().upper()
    if len(vin) != 17:
        raise ValueError(f"a VIN has 17 characters, not {len(vin)}")
    bad = sorted({c for c in vin if c not in _VIN_VALUES})
    if bad:
        raise ValueError(f"a VIN never contains {', '.join(bad)} (I, O and Q are excluded)")
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS)) % 11
    expected = "X" if remainder == 10 else str(remainder)
    if vin[8] != expected:
        raise ValueError(f"the check digit (9th character) should be {expected}, not {vin[8]}")
    return vin


def make_vin(body: str) -> str:
    """A VIN from its other 16 characters (``body``: positions 1-8 and 10-17), with the check digit
    put in as the 9th: for tests and demos that need many valid VINs."""
    body = body.upper()
    if len(body) != 16 or any(c not in _VIN_VALUES for c in body):
        raise ValueError("16 VIN characters (no I, O or Q) around the check digit")
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(body[:8] + "0" + body[8:], _VIN_WEIGHTS)) % 11
    return body[:8] + ("X" if remainder == 10 else str(remainder)) + body[8:]


def check_account(value: str) -> str:
    """A deposit account or certificate-of-deposit number: 8-32 digits (spaces and hyphens dropped)."""
    digits = re.sub(r"[\s-]", "", unicodedata.normalize("NFKC", value))
    if not digits.isascii() or not digits.isdigit() or not 8 <= len(digits) <= 32:
        raise ValueError("8-32 digits")
    return digits


def check_uscc(value: str) -> str:
    try:
        return validate_uscc(value)
    except InvalidIdentity as exc:
        raise ValueError(str(exc)) from None


def _check_money(value: str) -> str:
    try:
        amount = Decimal(unicodedata.normalize("NFKC", str(value)).strip())
    except InvalidOperation:
        raise ValueError("a decimal amount of yuan") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError("a positive amount of yuan in whole fen")
    if amount > MAX_VALUE:
        raise ValueError(f"at most {MAX_VALUE} yuan")
    return format(amount, "f")


def _check_date(value: str) -> str:
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ValueError("a date, YYYY-MM-DD") from None


def _check_area(value: str) -> str:
    try:
        area = Decimal(unicodedata.normalize("NFKC", str(value)).strip())
    except InvalidOperation:
        raise ValueError("a decimal number") from None
    if not area.is_finite() or area <= 0 or area > Decimal("10000000"):
        raise ValueError("a positive area")
    return format(area, "f")


#: The largest value one item may carry (yuan): ten billion, so that fen x millionths fits int64.
MAX_VALUE = Decimal("10000000000")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    label: str
    check: Check
    required: bool = True


@dataclass(frozen=True, slots=True)
class KindSpec:
    """A kind of collateral: its fields (``key`` identifies an item at a county bank), whether a
    pledge of it is registered (抵押登记), and whether it is a guarantee rather than an asset."""

    code: str
    label: str
    key: str
    fields: tuple[FieldSpec, ...]
    registrable: bool
    guarantee: bool = False
    methods: tuple[str, ...] = ("market", "income", "cost", "index")


_ADDRESS = FieldSpec("address", "坐落", _text(200))
KINDS: Mapping[str, KindSpec] = {k.code: k for k in (
    KindSpec("real_estate", "不动产", "certificate_no", (
        FieldSpec("certificate_no", "不动产权证号", check_certificate), _ADDRESS,
        FieldSpec("area_sqm", "建筑面积(平方米)", _check_area, required=False)), registrable=True),
    KindSpec("vehicle", "机动车", "vin", (
        FieldSpec("vin", "车辆识别代号", check_vin), FieldSpec("plate", "号牌", _text(12), required=False),
        FieldSpec("model", "品牌型号", _text(60), required=False)), registrable=True,
        methods=("market", "index")),
    KindSpec("deposit", "存单质押", "account", (
        FieldSpec("account", "存款账号", check_account), FieldSpec("bank", "开户行", _text(60)),
        FieldSpec("balance", "存款余额", _check_money),
        FieldSpec("matures_on", "到期日", _check_date, required=False)), registrable=False,
        methods=("face_value",)),
    KindSpec("land_rights", "土地经营权", "certificate_no", (
        FieldSpec("certificate_no", "土地经营权证号", check_certificate), _ADDRESS,
        FieldSpec("area_mu", "面积(亩)", _check_area), FieldSpec("term_ends_on", "经营期限至", _check_date,
                                                                  required=False)), registrable=True),
    KindSpec("forest_rights", "林权", "certificate_no", (
        FieldSpec("certificate_no", "林权证号", check_certificate), _ADDRESS,
        FieldSpec("area_mu", "面积(亩)", _check_area)), registrable=True),
    KindSpec("warehouse_receipt", "仓单", "receipt_no", (
        FieldSpec("receipt_no", "仓单号", _text(40)), FieldSpec("warehouse", "仓储机构", _text(100)),
        FieldSpec("goods", "货物", _text(100)), FieldSpec("quantity", "数量", _text(40))), registrable=True,
        methods=("market", "index")),
    KindSpec("guarantee_company", "担保公司保证", "contract_no", (
        FieldSpec("contract_no", "保证合同号", _text(40)), FieldSpec("guarantor", "担保公司", _text(100)),
        FieldSpec("guarantor_uscc", "统一社会信用代码", check_uscc),
        FieldSpec("amount", "保证金额", _check_money)), registrable=False, guarantee=True,
        methods=("face_value",)),
    KindSpec("guarantee_person", "自然人保证", "contract_no", (
        FieldSpec("contract_no", "保证合同号", _text(40)), FieldSpec("amount", "保证金额", _check_money)),
        registrable=False, guarantee=True, methods=("face_value",)),
)}


def kind_spec(kind: str) -> KindSpec:
    """The spec of ``kind``; ValueError naming the known kinds otherwise."""
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"{kind!r} is not a kind of collateral; one of: {', '.join(KINDS)}") from None


def check_fields(kind: str, data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The kind's fields, normalized, and the problems found (field name -> reasons): every missing
    required field, every field that fails its check, every field the kind does not declare. Values
    are read as text (a number is accepted for an amount or an area, never a float)."""
    spec = kind_spec(kind)
    known = {f.name: f for f in spec.fields}
    clean: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    for name in data:
        if name not in known:
            problems[str(name)] = [f"{spec.code} has no field {name!r}; its fields: {', '.join(known)}"]
    for name, fs in known.items():
        raw = data.get(name)
        if raw is None or raw == "":
            if fs.required:
                problems[name] = [f"required for {spec.code} ({fs.label})"]
            continue
        if isinstance(raw, (bool, float)) or not isinstance(raw, (str, int, Decimal)):
            problems[name] = ["must be text (a float loses the fen)" if isinstance(raw, float) else "must be text"]
            continue
        try:
            clean[name] = fs.check(str(raw))
        except ValueError as exc:
            problems[name] = [str(exc)]
    return clean, problems


@dataclass(frozen=True, slots=True)
class Holding:
    """One item as lending sees it on a day: its current value (zero when no valuation is valid
    that day) and its kind's haircut and maximum loan-to-value there (fractions)."""

    item_id: int
    kind: str
    value: Decimal
    haircut: Decimal
    ltv_max: Decimal


@dataclass(frozen=True, slots=True)
class Claim:
    """An item pledged to a credit line: ``rank`` 1 is served first. ``perfected``: registered, or
    of a kind that needs no registration; only a perfected claim lends its line value, but every
    claim ranked above another is served before it."""

    item_id: int
    line_id: int
    rank: int
    perfected: bool = True

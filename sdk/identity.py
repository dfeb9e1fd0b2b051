"""Chinese identity numbers: resident IDs (居民身份证号码) and unified social credit codes (USCC,
统一社会信用代码).

Every applicant, guarantor and bureau subject is keyed by one of these numbers, so a typo caught at
the counter is a wrong person never queried at the credit bureau. Validation is deliberately a
little looser than ``stdnum``'s ``validate()``:

* a resident ID's area code is *not* checked against a list: counties are merged and renamed every
  year and old IDs stay valid for life, so a stale list would turn real farmers away;
* a USCC's first two characters (registration authority and entity type) may be letters, because
  village collective economic organisations registered by agriculture departments start with ``N``.

Input is normalised before checking (full-width characters folded, spaces and hyphens removed,
upper-cased), and the normalised form is what every ``validate_*`` function returns and what the
core stores.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import date

from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc

from nongxin.sdk.errors import InvalidIdentity

__all__ = [
    "IdentityKind",
    "InvalidIdentity",
    "birth_date",
    "is_male",
    "make_resident_id",
    "mask_identity",
    "normalize",
    "validate_identity",
    "validate_resident_id",
    "validate_uscc",
]

_DIGITS = frozenset("0123456789")
#: GB 32100-2015 alphabet: digits and upper-case letters without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_CHARS = frozenset(USCC_ALPHABET)
_LENGTH = 18


class IdentityKind(str, enum.Enum):
    """Which register a number belongs to; a ``str`` enum so it equals the core's stored strings."""

    RESIDENT_ID = "resident_id"  # 居民身份证号码, natural persons
    USCC = "uscc"  # 统一社会信用代码, legal persons and other organisations


def normalize(number: str) -> str:
    """Fold what people really type (full-width digits, spaces, hyphens, ``x``) into canonical form."""
    if not isinstance(number, str):
        raise InvalidIdentity(
            "bad_format", f"an identity number must be text, got {type(number).__name__}"
        )
    folded = unicodedata.normalize("NFKC", number)
    return "".join(folded.split()).replace("-", "").upper()


def _check_length(number: str, what: str) -> None:
    if len(number) != _LENGTH:
        raise InvalidIdentity(
            "bad_length", f"a {what} has {_LENGTH} characters, got {len(number)}"
        )


def validate_resident_id(number: str, *, today: date | None = None) -> str:
    """Return the normalised resident ID or raise :class:`InvalidIdentity` naming the problem.

    Checks length, digits, the GB 11643-1999 check character, that characters 7-14 are a real
    birth date and, when ``today`` is given, that it is not after ``today``. The SDK has no clock:
    the core passes its business date (a hook passes ``ctx.business_date``); without one the
    future-birth check is skipped. The area code is not checked.
    """
    n = normalize(number)
    _check_length(n, "resident ID")
    for position, char in enumerate(n[:-1], start=1):
        if char not in _DIGITS:
            raise InvalidIdentity(
                "bad_format",
                f"characters 1-17 of a resident ID must be digits; character {position} is {char!r}",
            )
    if n[-1] not in _DIGITS and n[-1] != "X":
        raise InvalidIdentity(
            "bad_format", f"the last character of a resident ID must be a digit or X, got {n[-1]!r}"
        )
    expected = _ric.calc_check_digit(n)
    if n[-1] != expected:
        raise InvalidIdentity(
            "bad_check_character",
            f"the check character is wrong: expected {expected}, got {n[-1]}",
        )
    try:
        born = _ric.get_birth_date(n)
    except Exception:  # stdnum raises InvalidComponent; the date itself is the problem
        raise InvalidIdentity(
            "bad_birth_date",
            f"the birth date {n[6:14]} (characters 7-14) is not a real date",
        ) from None
    if today is not None and born > today:
        raise InvalidIdentity(
            "bad_birth_date",
            f"the birth date {born.isoformat()} (characters 7-14) is in the future",
        )
    return n


def validate_uscc(number: str) -> str:
    """Return the normalised unified social credit code or raise :class:`InvalidIdentity`.

    Checks length, the GB 32100-2015 alphabet, that characters 3-8 (the administrative division)
    are digits, and the check character (computed by ``stdnum.cn.uscc``).
    """
    n = normalize(number)
    _check_length(n, "unified social credit code")
    for position, char in enumerate(n, start=1):
        if char not in _USCC_CHARS:
            raise InvalidIdentity(
                "bad_format",
                f"character {position} ({char!r}) is not allowed in a unified social credit code "
                "(only digits and upper-case letters except I, O, S, V, Z)",
            )
    for position in range(3, 9):
        if n[position - 1] not in _DIGITS:
            raise InvalidIdentity(
                "bad_format",
                "characters 3-8 of a unified social credit code are the area code and must be "
                f"digits; character {position} is {n[position - 1]!r}",
            )
    expected = _uscc.calc_check_digit(n)
    if n[-1] != expected:
        raise InvalidIdentity(
            "bad_check_character",
            f"the check character is wrong: expected {expected}, got {n[-1]}",
        )
    return n


def validate_identity(kind: IdentityKind | str, number: str, *, today: date | None = None) -> str:
    """Validate by kind, so callers holding ``Applicant.kind`` strings need no dispatch of their own
    (``today`` as for :func:`validate_resident_id`)."""
    try:
        k = IdentityKind(kind)
    except ValueError:
        raise InvalidIdentity(
            "unknown_kind",
            f"unknown identity kind {kind!r}; expected one of "
            + ", ".join(repr(m.value) for m in IdentityKind),
        ) from None
    if k is IdentityKind.RESIDENT_ID:
        return validate_resident_id(number, today=today)
    return validate_uscc(number)


def birth_date(resident_id: str) -> date:
    """The holder's birth date; validates first, so a typo never yields a plausible wrong age."""
    n = validate_resident_id(resident_id)
    return date(int(n[6:10]), int(n[10:12]), int(n[12:14]))


def is_male(resident_id: str) -> bool:
    """Sex as encoded by the sequence number (odd: male), for products that depend on it."""
    n = validate_resident_id(resident_id)
    return int(n[16]) % 2 == 1


def _looks_like_resident_id(n: str) -> bool:
    return (
        len(n) == _LENGTH
        and all(c in _DIGITS for c in n[:-1])
        and (n[-1] in _DIGITS or n[-1] == "X")
    )


def mask_identity(number: str, kind: IdentityKind | str | None = None) -> str:
    """Hide the personal part of a number for logs, lists and screenshots; never raises.

    * resident ID: first 6 (area) and last 4 (sequence and check) kept -> ``110105********002X``.
      The birth date is the part that identifies a person, so it is the part hidden.
    * USCC: first 8 (authority, entity type, area) and last 4 kept -> ``91350100******0Y43``.
      These codes are public on business licences; masking the organisation code only keeps
      lists tidy and consistent with resident IDs.
    * anything else (wrong length, unknown kind): only the last 4 characters are kept, or nothing
      when the input is shorter than 8, because invalid input is often a mistyped real ID.

    When ``kind`` is None it is inferred from the shape: 17 digits and a digit/X are masked as a
    resident ID (the stricter rule) even if the number happens to be a valid all-digit USCC.
    """
    try:
        n = normalize(number)
    except InvalidIdentity:
        return "****"
    if kind is None:
        if _looks_like_resident_id(n):
            kind = IdentityKind.RESIDENT_ID
        elif len(n) == _LENGTH:
            kind = IdentityKind.USCC
    try:
        k = IdentityKind(kind) if kind is not None else None
    except ValueError:
        k = None
    if k is not None and len(n) == _LENGTH:
        keep_head = 6 if k is IdentityKind.RESIDENT_ID else 8
        return n[:keep_head] + "*" * (_LENGTH - keep_head - 4) + n[-4:]
    if len(n) < 8:
        return "*" * len(n)
    return "*" * (len(n) - 4) + n[-4:]


def make_resident_id(area: str, birth: date, seq: int | str) -> str:
    """Build a resident ID with its correct check character, for demo data and tests.

    ``seq`` is the 3-digit sequence (odd for men). No real person's number should be needed to
    exercise the platform, so fixtures build their own.
    """
    area_s = str(area)
    if len(area_s) != 6 or not all(c in _DIGITS for c in area_s):
        raise ValueError(f"area must be 6 digits, got {area!r}")
    seq_s = f"{seq:03d}" if isinstance(seq, int) else str(seq)
    if len(seq_s) != 3 or not all(c in _DIGITS for c in seq_s):
        raise ValueError(f"seq must be 0-999 or 3 digits, got {seq!r}")
    body = f"{area_s}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq_s}"
    return body + _ric.calc_check_digit(body + "0")

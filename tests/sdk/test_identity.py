from datetime import date

import pytest
from hypothesis import given, strategies as st
from stdnum.cn import ric

from nongxin.sdk.identity import (
    IdentityKind, InvalidIdentity, birth_date, is_male, make_resident_id, mask_identity,
    validate_identity, validate_resident_id, validate_uscc,
)


def reason(fn, *args):
    with pytest.raises(InvalidIdentity) as info:
        fn(*args)
    assert isinstance(info.value, ValueError)
    return info.value.reason_code, str(info.value)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_valid_resident_ids(number):
    assert validate_resident_id(number) == number
    assert validate_identity("resident_id", number) == number
    assert validate_identity(IdentityKind.RESIDENT_ID, number) == number


def test_lower_case_x_spaces_and_full_width_are_normalized():
    assert validate_resident_id("11010519491231002x") == "11010519491231002X"
    assert validate_resident_id(" 110105 19491231 002x ") == "11010519491231002X"
    assert validate_resident_id("１１０１０５１９４９１２３１００２Ｘ") == "11010519491231002X"


def test_wrong_check_character_says_expected_and_got():
    code, message = reason(validate_resident_id, "110105194912310023")
    assert code == "bad_check_character"
    assert message == "the check character is wrong: expected X, got 3"


def test_february_30_is_rejected_even_with_a_correct_check_character():
    body = "11010519490230002"
    number = body + ric.calc_check_digit(body + "0")
    code, message = reason(validate_resident_id, number)
    assert code == "bad_birth_date"
    assert "19490230" in message and "not a real date" in message


def test_future_birth_date_is_rejected():
    number = make_resident_id("110105", date(2030, 1, 1), 1)
    code, message = reason(lambda n: validate_resident_id(n, today=date(2026, 11, 23)), number)
    assert code == "bad_birth_date" and "future" in message
    code, _ = reason(lambda n: validate_identity("resident_id", n, today=date(2029, 12, 31)), number)
    assert code == "bad_birth_date"
    assert validate_resident_id(number, today=date(2031, 1, 1)) == number
    # The SDK has no clock: without a date given, only the date's validity is checked.
    assert validate_resident_id(number) == number


def test_unknown_area_code_is_accepted():
    number = make_resident_id("999999", date(1990, 1, 1), 123)
    assert not ric.is_valid(number)  # stdnum's full validate would reject it
    assert validate_resident_id(number) == number


@pytest.mark.parametrize("number,code,fragment", [
    ("11010519491231002", "bad_length", "got 17"),
    ("11010519491231002XX", "bad_length", "got 19"),
    ("", "bad_length", "got 0"),
    ("1101051949123100AX", "bad_format", "character 17 is 'A'"),
    ("11010519491231002Y", "bad_format", "got 'Y'"),
])
def test_resident_id_format_errors(number, code, fragment):
    got_code, message = reason(validate_resident_id, number)
    assert got_code == code and fragment in message


def test_non_string_input():
    assert reason(validate_resident_id, 11010519491231002)[0] == "bad_format"


def test_birth_date_and_sex():
    assert birth_date("11010519491231002X") == date(1949, 12, 31)
    assert is_male("11010519491231002X") is False  # sequence 002
    assert is_male("440524188001010014") is True  # sequence 001
    with pytest.raises(InvalidIdentity):
        birth_date("110105194912310023")


def test_uscc_valid_and_invalid():
    assert validate_uscc("91350100M000100Y43") == "91350100M000100Y43"
    assert validate_uscc("91350100m000100y43") == "91350100M000100Y43"
    assert validate_identity("uscc", "91350100-M000100Y43") == "91350100M000100Y43"
    assert reason(validate_uscc, "91350100M000100Y44") == (
        "bad_check_character", "the check character is wrong: expected 3, got 4")
    assert reason(validate_uscc, "91350100M000100Y4")[0] == "bad_length"
    code, message = reason(validate_uscc, "91350100I000100Y43")
    assert code == "bad_format" and "character 9" in message
    assert reason(validate_uscc, "913501A0M000100Y43")[0] == "bad_format"


def test_uscc_with_letter_registration_authority_is_accepted():
    body = "N2330521MA2B3C4D5"  # village collective registered by an agriculture department
    from stdnum.cn import uscc
    number = body + uscc.calc_check_digit(body)
    assert validate_uscc(number) == number


def test_unknown_kind():
    assert reason(validate_identity, "passport", "E12345678")[0] == "unknown_kind"


def test_masking():
    assert mask_identity("11010519491231002X") == "110105********002X"
    assert mask_identity("11010519491231002x") == "110105********002X"
    assert mask_identity("91350100M000100Y43") == "91350100******0Y43"
    assert mask_identity("91350100M000100Y43", IdentityKind.USCC) == "91350100******0Y43"
    assert mask_identity("110105194912310023") == "110105********0023"  # invalid still masked
    assert mask_identity("1101051949") == "******1949"
    assert mask_identity("123") == "***"
    assert mask_identity(None) == "****"  # type: ignore[arg-type]


def test_make_resident_id_rejects_bad_parts():
    with pytest.raises(ValueError):
        make_resident_id("11010", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_resident_id("110105", date(1990, 1, 1), 1000)


@given(
    area=st.from_regex(r"\A[0-9]{6}\Z"),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    seq=st.integers(0, 999),
)
def test_made_ids_validate_and_round_trip(area, born, seq):
    number = make_resident_id(area, born, seq)
    assert validate_resident_id(number) == number
    assert birth_date(number) == born
    assert is_male(number) == (seq % 2 == 1)
    assert mask_identity(number) == number[:6] + "*" * 8 + number[-4:]
    wrong = "X" if number[-1] != "X" else "0"
    with pytest.raises(InvalidIdentity) as info:
        validate_resident_id(number[:-1] + wrong)
    assert info.value.reason_code == "bad_check_character"

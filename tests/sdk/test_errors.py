"""The SDK's one error tree: every error it raises on purpose is a NongxinSdkError, and the old
ValueError/TypeError bases callers catch are kept."""

from __future__ import annotations

import pytest

from nongxin.sdk import InvalidIdentity, InvalidValue, NongxinSdkError, RuleError, WrongValueType, money
from nongxin.sdk import errors
from nongxin.sdk.identity import validate_resident_id
from nongxin.sdk.rules import Field, RuleSyntaxError, Schema, check_expression


def test_every_class_in_the_tree_is_under_the_one_base_and_drawn_in_the_docstring() -> None:
    doc = errors.__doc__ or ""
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, NongxinSdkError), name
        assert name in doc, f"{name} is missing from the tree drawn in nongxin.sdk.errors"


def test_identity_errors_are_sdk_errors_and_still_value_errors() -> None:
    with pytest.raises(NongxinSdkError) as info:
        validate_resident_id("11010519491231002Y")
    assert isinstance(info.value, (InvalidIdentity, ValueError))


def test_money_errors_are_sdk_errors_and_keep_their_builtin_bases() -> None:
    with pytest.raises(WrongValueType) as wrong:
        money(0.1)
    assert isinstance(wrong.value, (NongxinSdkError)) and isinstance(wrong.value, TypeError)
    with pytest.raises(InvalidValue) as bad:
        money("12,5")
    assert isinstance(bad.value, NongxinSdkError) and isinstance(bad.value, ValueError)


def test_rule_errors_are_sdk_errors() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        check_expression("score.__class__ ==", Schema([Field("score", "number", "评分")]), code="R1")
    assert isinstance(info.value, RuleError) and isinstance(info.value, NongxinSdkError)

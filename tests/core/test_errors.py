"""The one error table: every error class (core and SDK) maps to one status, code and exit status,
read by both edges; the same bad input gives the same code everywhere; the CLI says it once."""

from __future__ import annotations

import inspect
from decimal import Decimal
from datetime import date
from typing import Any

import click
import pytest
from click.testing import CliRunner

from nongxin.core import errors
from nongxin.core.cli import Console, Group, main
from nongxin.core.credit.services import book_loan
from nongxin.core.errors import TABLE, NongxinError, ValidationFailed, describe, edge_of
from nongxin.sdk import errors as sdk_errors
from nongxin.sdk.errors import InvalidIdentity, NongxinSdkError
from nongxin.sdk.identity import validate_resident_id

BAD_CHECK = "110105194912310021"  # right length and digits, wrong check character


def _classes(module: Any, base: type) -> list[type]:
    return [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, base)]


def test_every_error_class_of_both_trees_has_a_row_and_is_drawn() -> None:
    doc = errors.__doc__ or ""
    for cls in _classes(errors, NongxinError) + [getattr(sdk_errors, n) for n in ("NongxinSdkError", "RuleError",
                                                                                   "InvalidIdentity", "InvalidValue",
                                                                                   "WrongValueType")]:
        assert cls in TABLE, f"{cls.__name__} has no row in nongxin.core.errors.TABLE"
        assert cls.__name__ in doc, f"{cls.__name__} is not drawn in nongxin.core.errors"


def test_the_classes_carry_no_status_the_table_decides() -> None:
    for cls in _classes(errors, NongxinError):
        assert "status" not in vars(cls), cls.__name__
    assert describe(errors.NotFound("no such thing")).status == 404
    assert describe(errors.Unauthorized("who?", code="invalid_token")).body()["error"] == "invalid_token"


def test_rule_subclasses_inherit_their_row() -> None:
    from nongxin.sdk.rules import RuleSyntaxError

    assert edge_of(RuleSyntaxError) == TABLE[sdk_errors.RuleError]


def _identity_error() -> InvalidIdentity:
    with pytest.raises(InvalidIdentity) as info:
        validate_resident_id(BAD_CHECK)
    return info.value


def test_one_bad_identity_number_gets_one_code_in_the_api_and_the_services(nongxin_client: Any, nongxin_demo: Any,
                                                                           nongxin_uow: Any) -> None:
    expected = "invalid_bad_check_character"
    assert describe(_identity_error()).code == expected
    subject = {"kind": "resident_id", "id_number": BAD_CHECK, "name": "张三"}
    resp = nongxin_client.as_user("jinan.cm").post("/api/bureau/queries", json={
        "subject": subject, "purpose": "02", "for": {"kind": "application", "ref": "APP-1"}})
    assert resp.status_code == 422 and resp.get_json()["error"] == expected
    with pytest.raises(ValidationFailed) as info:
        book_loan(nongxin_uow, actor="test", institution_code="JNRCB-LX", loan_no="L-X", borrower_kind="resident_id",
                  borrower_id_number=BAD_CHECK, borrower_name="张三", product_code="XIN_E_DAI",
                  principal=Decimal("50000"), disbursed_on=date(2026, 1, 5), maturity_on=date(2027, 1, 5))
    assert info.value.code == expected and "borrower.id_number" in info.value.fields


def test_an_sdk_error_reaching_the_api_edge_maps_through_the_table(nongxin_app: Any) -> None:
    @nongxin_app.route("/raises-sdk-error")
    def raises() -> Any:
        raise _identity_error()

    resp = nongxin_app.test_client().get("/raises-sdk-error")
    assert resp.status_code == 422 and resp.get_json() == {"error": "invalid_bad_check_character",
                                                           "message": str(_identity_error()), "fields": {}}


def _cli_raising(exc: Exception) -> click.Group:
    @click.group(cls=Group)
    def cli() -> None:
        pass

    @cli.command()
    def boom() -> None:
        raise exc

    return cli


def test_cli_prints_a_one_field_error_once_and_exits_with_the_tables_status() -> None:
    result = CliRunner().invoke(_cli_raising(errors.invalid("anchor", "'x' is not a chain")), ["boom"])
    assert result.exit_code == TABLE[ValidationFailed].exit_status == 2
    assert result.output.count("'x' is not a chain") == 1, result.output


def test_cli_lists_fields_the_message_does_not_already_say() -> None:
    exc = ValidationFailed("invalid input", fields={"name": ["too long"], "level": ["unknown"]})
    result = CliRunner().invoke(_cli_raising(exc), ["boom"])
    assert result.output.splitlines() == ["error: invalid input", "  name: too long", "  level: unknown"]


def test_cli_maps_an_sdk_error_through_the_table_not_a_traceback() -> None:
    result = CliRunner().invoke(_cli_raising(_identity_error()), ["boom"])
    assert result.exit_code == 2 and result.exception is not None and isinstance(result.exception, SystemExit)
    assert result.output.strip() == f"error: {_identity_error()}"


def test_real_cli_command_prints_its_error_once(nongxin_settings: Any, nongxin_demo: Any) -> None:
    result = CliRunner().invoke(main, ["audit", "verify", "--anchor", "nochain=1:abc"], obj=Console(nongxin_settings))
    assert result.exit_code == 2
    assert result.output.count("is not a chain") == 1, result.output


def test_sdk_errors_are_not_core_errors() -> None:
    assert not issubclass(NongxinSdkError, NongxinError)


def test_the_error_body_always_has_the_documented_shape() -> None:
    from nongxin.core.schemas import ErrorSchema

    exc = ValidationFailed("invalid settings", fields={"settings": {"rate": ["too high"]}, "n": "one", "k": [3]})
    body = describe(exc).body()
    assert body["fields"] == {"settings.rate": ["too high"], "n": ["one"], "k": ["3"]}
    assert ErrorSchema().validate(body) == {}

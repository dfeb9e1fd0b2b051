"""The core's error tree, and the one table that maps every error (core and SDK) to the edges.

The core's tree::

    NongxinError                      500 internal_error           exit 2
     ├── ConfigurationError           500 configuration_error      exit 2
     ├── BadRequest                   400 bad_request              exit 2
     ├── Unauthorized                 401 unauthorized             exit 2
     ├── Forbidden                    403 forbidden                exit 2
     ├── NotFound                     404 not_found                exit 2
     ├── Conflict                     409 conflict                 exit 2
     ├── UnsupportedMediaType         415 unsupported_media_type   exit 2
     └── ValidationFailed             422 validation_failed        exit 2

and the SDK's (drawn in ``nongxin.sdk.errors``), as the edges see it::

    NongxinSdkError                   422 invalid_input            exit 2
     ├── RuleError                    422 invalid_rule             exit 2
     ├── InvalidIdentity              422 invalid_<reason_code>    exit 2
     ├── InvalidValue                 422 validation_failed        exit 2
     └── WrongValueType               422 validation_failed        exit 2

Classes carry no HTTP status: :data:`TABLE` decides, and both edges read it through
:func:`describe` (the API's JSON body ``{"error", "message", "fields"}`` and status; the CLI's
``error: message`` lines and exit status). A core error may name a more precise code when raised
(``Unauthorized(..., code="invalid_token")``); the status stays the table's. An SDK error that
belongs to one input field is turned into a core error naming that field with :func:`field_error`,
so the same bad identity number gives the same code wherever it is typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from nongxin.sdk.errors import InvalidIdentity, InvalidValue, NongxinSdkError, RuleError, WrongValueType


class NongxinError(Exception):
    """Base of every error the core raises on purpose.

    ``code`` is stable and machine-readable (the table's code for the class unless given);
    ``message`` is for the person; ``fields`` names the input fields at fault, so a form can point
    at them.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else edge_of(type(self)).code
        self.fields = dict(fields or {})

    def to_json(self) -> dict[str, Any]:
        return describe(self).body()


class ConfigurationError(NongxinError):
    """The installation is not fit to run (settings, schema not current)."""


class BadRequest(NongxinError):
    """The request itself is malformed (not JSON, nested too deep)."""


class Unauthorized(NongxinError):
    """No caller, or a token that is not valid."""


class Forbidden(NongxinError):
    """The caller is known but may not do this."""


class NotFound(NongxinError):
    """No such thing, or one the caller may not see (another county bank's data is never 403)."""


class Conflict(NongxinError):
    """The request clashes with what exists (a duplicate code or name)."""


class UnsupportedMediaType(NongxinError):
    """A body that is not JSON where JSON belongs."""


class ValidationFailed(NongxinError):
    """One or more input fields are wrong; ``fields`` says which and why."""


@dataclass(frozen=True)
class Edge:
    """How one error class looks at the edges.

    ``code`` may name attributes of the error in braces (``invalid_{reason_code}``).
    """

    status: int
    code: str
    exit_status: int = 2


#: THE table. Looked up by the error's class, walking its bases (most specific first).
TABLE: Mapping[type[BaseException], Edge] = {
    NongxinError: Edge(500, "internal_error"),
    ConfigurationError: Edge(500, "configuration_error"),
    BadRequest: Edge(400, "bad_request"),
    Unauthorized: Edge(401, "unauthorized"),
    Forbidden: Edge(403, "forbidden"),
    NotFound: Edge(404, "not_found"),
    Conflict: Edge(409, "conflict"),
    UnsupportedMediaType: Edge(415, "unsupported_media_type"),
    ValidationFailed: Edge(422, "validation_failed"),
    NongxinSdkError: Edge(422, "invalid_input"),
    RuleError: Edge(422, "invalid_rule"),
    InvalidIdentity: Edge(422, "invalid_{reason_code}"),
    InvalidValue: Edge(422, "validation_failed"),
    WrongValueType: Edge(422, "validation_failed"),
}


def edge_of(cls: type[BaseException]) -> Edge:
    for base in cls.__mro__:
        if base in TABLE:
            return TABLE[base]
    raise KeyError(f"{cls.__name__} is not in nongxin.core.errors.TABLE")


@dataclass(frozen=True)
class Described:
    """An error as both edges show it."""

    status: int
    code: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    exit_status: int = 2

    def body(self) -> dict[str, Any]:
        """The API's JSON error body."""
        return {"error": self.code, "message": self.message, "fields": self.fields}

    def lines(self) -> list[str]:
        """The CLI's lines: ``error: message``, then each field's reasons the message does not
        already say (``invalid("x", "bad")`` has the message ``x: bad``: printed once, not twice)."""
        out = [f"error: {self.message}"]
        for name, reasons in self.fields.items():
            text = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
            line = f"{name}: {text}"
            if line not in self.message and text not in self.message:
                out.append(f"  {line}")
        return out


def flat_fields(fields: Mapping[Any, Any], prefix: str = "") -> dict[str, list[str]]:
    """``fields`` as the error body promises them, ``{field: [reasons]}``: nested messages (a
    plugin's settings schema, a nested body) named with dots (``subject.name``), every reason a
    string."""
    flat: dict[str, list[str]] = {}
    for key, value in fields.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flat.update(flat_fields(value, name))
        elif isinstance(value, (list, tuple)):
            flat[name] = [str(v) for v in value]
        else:
            flat[name] = [str(value)]
    return flat


def describe(exc: NongxinError | NongxinSdkError) -> Described:
    """What the API answers and what the CLI prints for ``exc``, from :data:`TABLE`."""
    edge = edge_of(type(exc))
    if isinstance(exc, NongxinError):
        return Described(edge.status, exc.code, exc.message, flat_fields(exc.fields), edge.exit_status)
    message = str(exc)
    return Described(edge.status, edge.code.format_map(vars(exc)), message, {}, edge.exit_status)


def field_error(name: str, exc: NongxinSdkError) -> ValidationFailed:
    """An SDK error about one input field, as a core error naming that field, its code from the
    table (so ``subject.id_number`` and ``borrower.id_number`` get the same code for the same
    number)."""
    seen = describe(exc)
    return ValidationFailed(f"{name}: {seen.message}", code=seen.code, fields={name: [seen.message]})


def invalid(field: str, reason: str, *, code: str | None = None) -> ValidationFailed:
    """The usual case: one field is wrong, and the message says which and why."""
    return ValidationFailed(f"{field}: {reason}", code=code, fields={field: [reason]})

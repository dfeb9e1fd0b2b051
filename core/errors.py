"""One error tree for the core; `nongxin.core.api_errors` maps it to HTTP in one place."""

from __future__ import annotations

from typing import Any, Mapping


class NongxinError(Exception):
    """Base of every error the core raises on purpose.

    ``code`` is stable and machine-readable; ``message`` is for the person; ``fields`` names the
    input fields at fault, so a form can point at them.
    """

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.fields = dict(fields or {})

    def to_json(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "fields": self.fields}


class ConfigurationError(NongxinError):
    code = "configuration_error"


class BadRequest(NongxinError):
    status = 400
    code = "bad_request"


class Unauthorized(NongxinError):
    status = 401
    code = "unauthorized"


class Forbidden(NongxinError):
    status = 403
    code = "forbidden"


class NotFound(NongxinError):
    status = 404
    code = "not_found"


class Conflict(NongxinError):
    status = 409
    code = "conflict"


class UnsupportedMediaType(NongxinError):
    status = 415
    code = "unsupported_media_type"


class ValidationFailed(NongxinError):
    status = 422
    code = "validation_failed"


def invalid(field: str, reason: str, *, code: str = "validation_failed") -> ValidationFailed:
    """The usual case: one field is wrong, and the message says which and why."""
    return ValidationFailed(f"{field}: {reason}", code=code, fields={field: [reason]})

"""Identity numbers never reach a log line: a filter masks resident IDs and USCCs in every record.

Installed by the app factory on the core's loggers (``nongxin`` and its children, SQLAlchemy,
Alembic, waitress) and by ``nongxin serve`` on the handlers it sets up, so a record from any
logger is masked before it is written. Names cannot be recognised reliably in free text; they are
kept out of logs by never logging bound SQL parameters (``hide_parameters``) instead.
"""

from __future__ import annotations

import logging
import re

from nongxin.sdk.identity import mask_identity

# 18-character resident IDs (17 digits and a digit or X), 15-digit first-generation IDs, and
# 18-character unified social credit codes (their alphabet leaves out I, O, Z, S and V).
_USCC_CHAR = "0-9A-HJ-NP-RTUW-Y"
_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])("
    r"\d{17}[\dXx]"
    rf"|[{_USCC_CHAR}]{{2}}\d{{6}}[{_USCC_CHAR}]{{10}}"
    r"|\d{15}"
    r")(?![0-9A-Za-z])"
)

LOGGERS = ("nongxin", "sqlalchemy", "alembic", "waitress", "werkzeug")


def mask_text(text: str) -> str:
    """``text`` with every identity-shaped number masked as :func:`mask_identity` does."""
    return _NUMBER.sub(lambda m: mask_identity(m.group(1)), text)


class IdentityMaskFilter(logging.Filter):
    """Rewrites the record in place (message, arguments, traceback) and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        record.msg, record.args = mask_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


_FILTER = IdentityMaskFilter()


def _add(target: logging.Filterer) -> None:
    if not any(isinstance(f, IdentityMaskFilter) for f in target.filters):
        target.addFilter(_FILTER)


def install_on_loggers() -> None:
    """Mask records logged to the core's loggers and every child logger that exists now.

    A logger's filters see only records logged to that very logger, so children are covered
    one by one; the app factory calls this after importing the modules that create them.
    """
    for name in LOGGERS:
        _add(logging.getLogger(name))
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and name.split(".")[0] in LOGGERS:
            _add(logger)


def install_on_handlers(logger: logging.Logger | None = None) -> None:
    """Mask every record written by ``logger``'s handlers (default: the root's), whatever its source."""
    for handler in (logger or logging.getLogger()).handlers:
        _add(handler)

"""Import of an institution tree (CSV or .xlsx), all-or-nothing unless the operator asks for partial."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, ValidationFailed
from nongxin.core.importing import Table, read_file, read_text
from nongxin.core.institutions import services
from nongxin.core.permissions import Action, require

COLUMNS = ("code", "name", "level", "parent")


@dataclass
class RowError:
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.code or 'no code'}): {self.reason}"


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


class ImportRejected(ValidationFailed):
    """Raised when bad rows stop an all-or-nothing import; carries every row's reason."""

    code = "import_rejected"

    def __init__(self, report: ImportReport) -> None:
        lines = "; ".join(str(e) for e in report.errors)
        super().__init__(f"{len(report.errors)} bad row(s), nothing imported: {lines}",
                         fields={f"line {e.line}": [e.reason] for e in report.errors})
        self.report = report


def import_table(
    uow: UnitOfWork,
    principal: Principal | None,
    table: Table,
    *,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Parents must come before their children in the file or exist already.

    Each row runs in its own savepoint, so a bad row leaves no trace; the whole import commits
    only if every row is good, or if ``partial`` asks for the good rows alone.
    """
    if principal is not None:
        require(principal, Action.INSTITUTION_IMPORT)
    report = ImportReport()
    for row in table.rows:
        code = row.values["code"].strip()
        if row.error:
            report.errors.append(RowError(row.line, code, row.error))
        else:
            try:
                with uow.session.begin_nested():
                    services.create(
                        uow, principal, code=code, name=row.values["name"].strip(),
                        level=services.parse_level(row.values["level"]),
                        parent_code=row.values["parent"].strip() or None,
                    )
                report.imported.append(code)
            except NongxinError as exc:
                report.errors.append(RowError(row.line, code, exc.message))
        if progress:
            progress(1)
    if report.errors and not partial:
        uow.rollback()
        raise ImportRejected(report)
    uow.commit()
    report.written = bool(report.imported)
    return report


def read_tree(path: Path) -> Table:
    """The institutions file: CSV (UTF-8 or GBK/GB18030) or .xlsx with columns code,name,level,parent."""
    return read_file(path, columns=COLUMNS)


def import_csv(uow: UnitOfWork, principal: Principal | None, text: str, *, partial: bool = False,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import from CSV text already decoded (tests, scripts)."""
    return import_table(uow, principal, read_text(text, name="CSV", columns=COLUMNS),
                        partial=partial, progress=progress)

"""CSV import of an institution tree, all-or-nothing unless the operator asks for partial."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Callable, Iterable, TextIO

from nongxin.core.auth import Principal
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, ValidationFailed
from nongxin.core.institutions import services

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


def import_csv(
    uow: UnitOfWork,
    principal: Principal | None,
    source: TextIO | str,
    *,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Parents must come before their children in the file or exist already.

    Each row runs in its own savepoint, so a bad row leaves no trace; the whole import commits
    only if every row is good, or if ``partial`` asks for the good rows alone.
    """
    text = source if isinstance(source, str) else source.read()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(f"the CSV header lacks column(s) {', '.join(missing)}; "
                               f"expected: {','.join(COLUMNS)}", fields={"header": missing})
    report = ImportReport()
    for row in _rows(reader):
        line, code = reader.line_num, (row.get("code") or "").strip()
        try:
            with uow.session.begin_nested():
                services.create(
                    uow, principal, code=code, name=(row.get("name") or "").strip(),
                    level=services.parse_level(row.get("level") or ""),
                    parent_code=(row.get("parent") or "").strip() or None,
                )
            report.imported.append(code)
        except NongxinError as exc:
            report.errors.append(RowError(line, code, exc.message))
        if progress:
            progress(1)
    if report.errors and not partial:
        uow.rollback()
        raise ImportRejected(report)
    uow.commit()
    report.written = bool(report.imported)
    return report


def _rows(reader: csv.DictReader) -> Iterable[dict[str, str]]:
    for row in reader:
        if any((v or "").strip() for v in row.values() if isinstance(v, str)):
            yield row

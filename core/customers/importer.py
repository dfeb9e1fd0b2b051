"""Bulk import of customer files from CSV or .xlsx: all or nothing.

Each row goes through the same service as ``POST /api/customers``, in its own savepoint, so a bad
row leaves no trace; when any row is bad nothing is written and every bad row is reported with its
line number (the header is line 1) and reason. A second row for an identity number already in the
file names the line it repeats; one already on file at the bank names that file. A
``legal_representative`` is a customer id, or the resident ID of an individual already on file or
on an earlier line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from nongxin.core.auth import Principal
from nongxin.core.customers import services
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NongxinError, ValidationFailed
from nongxin.core.importing import Table, read_file, read_text
from nongxin.core.permissions import Action, require
from nongxin.sdk.errors import NongxinSdkError
from nongxin.sdk.identity import InvalidIdentity, normalize

COLUMNS = ("kind", "id_number", "name", "phone", "address", "occupation", "employer", "segment",
           "annual_income", "grid", "manager", "legal_representative", "village", "group", "household_no",
           "relation")
#: The household columns: all empty for a customer outside any household.
HOUSEHOLD = ("village", "group", "household_no", "relation")


@dataclass
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    imported: list[int] = field(default_factory=list)  # the new customers' ids, in file order
    errors: list[RowError] = field(default_factory=list)


class ImportRejected(ValidationFailed):
    """Bad rows stopped the import; nothing was written. Carries every row's reason."""

    code = "import_rejected"

    def __init__(self, report: ImportReport) -> None:
        shown = "; ".join(str(e) for e in report.errors[:50])
        more = f"; and {len(report.errors) - 50} more" if len(report.errors) > 50 else ""
        super().__init__(f"{len(report.errors)} bad row(s), nothing imported: {shown}{more}",
                         fields={f"line {e.line}": [e.reason] for e in report.errors})
        self.report = report


def row_input(values: dict[str, str]) -> services.CustomerInput:
    household = None
    if any(values[c].strip() for c in HOUSEHOLD):
        household = services.HouseholdInput(values["village"], values["group"], values["household_no"],
                                            values["relation"])
    return services.CustomerInput(
        kind=values["kind"], id_number=values["id_number"], name=values["name"], grid=values["grid"].strip(),
        manager=values["manager"], phone=values["phone"], address=values["address"],
        occupation=values["occupation"], employer=values["employer"], segment=values["segment"] or None,
        annual_income=values["annual_income"] or None,
        legal_representative=values["legal_representative"].strip() or None, household=household)


def _key(number: str) -> str:
    try:
        return normalize(number)
    except InvalidIdentity:
        return number.strip()


def import_table(uow: UnitOfWork, principal: Principal, table: Table, *, today: date | None = None,
                 progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import every row or none; commits only when every row is good, else raises
    :class:`ImportRejected` with the database as it was."""
    require(principal, Action.CUSTOMER_IMPORT)
    report = ImportReport()
    seen: dict[str, int] = {}  # normalised identity number -> line
    for row in table.rows:
        if row.error:
            report.errors.append(RowError(row.line, row.error))
        elif (first := seen.get(_key(row.values["id_number"]))) is not None:
            report.errors.append(RowError(row.line, f"id_number: the same identity number as line {first}"))
        else:
            seen[_key(row.values["id_number"])] = row.line
            try:
                with uow.session.begin_nested():
                    customer = services.create_customer(uow, principal, row_input(row.values), today=today,
                                                        action=Action.CUSTOMER_IMPORT)
                report.imported.append(customer.id)
            except NongxinError as exc:
                report.errors.append(RowError(row.line, exc.message))
            except NongxinSdkError as exc:
                report.errors.append(RowError(row.line, str(exc)))
        if progress:
            progress(1)
    if report.errors:
        uow.rollback()
        raise ImportRejected(report)
    uow.commit()
    return report


def read_customers(path: Path) -> Table:
    """The customers file: CSV (UTF-8 or GBK/GB18030) or .xlsx with the columns :data:`COLUMNS`."""
    return read_file(path, columns=COLUMNS)


def import_csv(uow: UnitOfWork, principal: Principal, text: str, *, today: date | None = None) -> ImportReport:
    """Import from CSV text already decoded (tests, scripts)."""
    return import_table(uow, principal, read_text(text, name="CSV", columns=COLUMNS), today=today)

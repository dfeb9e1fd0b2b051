"""Reading tabular import files: CSV in UTF-8 (with or without BOM) or GB18030, and .xlsx.

Every import (institutions today; customers and village rosters next) reads its file here and gets
rows with the line numbers the operator sees in their editor or in Excel. Files exported from
Excel in China are usually GBK, which GB18030 contains; the encoding is detected, not guessed from
the platform. A value beyond the declared columns is an error on its line, never dropped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from nongxin.core.errors import ValidationFailed

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls (and .doc) container
ENCODINGS = ("utf-8-sig", "gb18030")


class UnreadableFile(ValidationFailed):
    code = "unreadable_file"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", fields={"file": [reason]})


@dataclass(frozen=True)
class Row:
    """One data row: ``line`` as the operator sees it (the header is line 1), the values by
    column (missing trailing cells are ""), and ``error`` when the row cannot be used as it is."""

    line: int
    values: dict[str, str]
    error: str | None = None


@dataclass
class Table:
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    encoding: str = ""  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"


def read_file(path: Path, *, columns: Sequence[str]) -> Table:
    """Read ``path`` (CSV or .xlsx, detected from its content) whose header must name exactly
    ``columns``, in any order."""
    return read_bytes(path.read_bytes(), name=path.name, columns=columns)


def read_bytes(data: bytes, *, name: str, columns: Sequence[str]) -> Table:
    if data.startswith(ZIP_MAGIC):
        return _xlsx(data, name, columns)
    if data.startswith(OLE_MAGIC):
        raise UnreadableFile(name, "this is an old binary Excel (.xls) file; save it as .xlsx or as CSV")
    text, encoding = decode(data, name)
    return read_text(text, name=name, columns=columns, encoding=encoding)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (a BOM is dropped) if the bytes are valid UTF-8, else GB18030; refuse binary data."""
    if b"\x00" in data[:8192]:
        raise UnreadableFile(name, "this is not a text file (it contains NUL bytes; UTF-16 or binary?); "
                                   "save it as CSV (UTF-8 or GBK) or .xlsx")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        used = "utf-8" if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else encoding
        return text, used
    raise UnreadableFile(name, "this is not a CSV text file in UTF-8 or GBK/GB18030 (binary data?); "
                               "save it as CSV or .xlsx")


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\r\n") or 0x7F <= ord(ch) < 0xA0)
    return controls > max(2, len(sample) // 100)


def read_text(text: str, *, name: str, columns: Sequence[str], encoding: str = "") -> Table:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise UnreadableFile(name, f"the file is empty; expected a header: {','.join(columns)}")
        table = Table(_header(header, columns, name), encoding=encoding)
        line = reader.line_num + 1
        for cells in reader:
            table.rows.extend(_row(line, cells, table.columns))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UnreadableFile(name, f"line {reader.line_num}: not valid CSV ({exc})") from None
    return table


def _xlsx(data: bytes, name: str, columns: Sequence[str]) -> Table:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(name, f"not a readable .xlsx workbook ({type(exc).__name__}); "
                                   "save it again from Excel, or as CSV") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        rows = iter(sheet.iter_rows(values_only=True)) if sheet is not None else iter(())
        header = next(rows, None)
        if header is None:
            raise UnreadableFile(name, f"the first sheet is empty; expected a header: {','.join(columns)}")
        table = Table(_header([_cell(v) for v in header], columns, name), encoding="xlsx")
        for number, values in enumerate(rows, start=2):
            table.rows.extend(_row(number, [_cell(v) for v in values], table.columns))
    finally:
        book.close()
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _header(cells: Sequence[str], columns: Sequence[str], name: str) -> tuple[str, ...]:
    names = [c.strip().lower() for c in cells]
    while names and not names[-1]:
        names.pop()
    expected = ", ".join(columns)
    missing = [c for c in columns if c not in names]
    unknown = [c or "(blank)" for c in names if c not in columns]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if missing or unknown or duplicated:
        problems = []
        if missing:
            problems.append(f"lacks column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"has unknown column(s) {', '.join(unknown)}")
        if duplicated:
            problems.append(f"repeats column(s) {', '.join(duplicated)}")
        raise ValidationFailed(f"{name}: line 1 (header) {'; '.join(problems)}; expected: {expected}",
                               fields={"header": problems})
    return tuple(names)


def _row(line: int, cells: Sequence[str], columns: tuple[str, ...]) -> Iterable[Row]:
    if not any(c.strip() for c in cells):
        return  # blank lines and empty spreadsheet rows are not rows
    values = {col: (cells[i] if i < len(cells) else "") for i, col in enumerate(columns)}
    extra = [c for c in cells[len(columns):] if c.strip()]
    error = None
    if extra:
        shown = ", ".join(repr(c) for c in extra[:3]) + (", ..." if len(extra) > 3 else "")
        error = (f"{len(extra)} value(s) beyond the {len(columns)} columns ({', '.join(columns)}): {shown}; "
                 "a value with a comma must be quoted")
    yield Row(line, values, error)

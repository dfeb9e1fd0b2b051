"""Reading a scorecard's development data set: a CSV (UTF-8 or GB18030), .xlsx or .parquet file with
one row per historical loan, one column per admission fact and a target column (bad or good).

The promise: every value is read exactly and typed by the fact it names in the admission schema
(``nongxin.sdk.facts.ADMISSION``): a money fact (DECIMAL) as integer fen from its text, never
through a float (a float cell of a parquet or Excel file is taken through its shortest repr, so
``12345.67`` is 1234567 fen), an INTEGER fact as an int, a STRING fact as text, a BOOLEAN fact as
``"true"``/``"false"`` (as ``score`` matches it). An empty cell is a missing value (the card's
"missing"). A column that is not an admission fact is refused by name, all of them at once. A row
that does not parse (or whose target is neither 0/1 nor one of the two labels) is reported with the
line the operator sees (the header is line 1) and the column; the data set is refused, or, when
the caller asks, read without those rows, which are then listed: never silently dropped.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Sequence

from nongxin.core.errors import ValidationFailed
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.rules.fields import FieldType

__all__ = ["BAD_LABELS", "BadRow", "DataProblem", "Dataset", "MAX_SHOWN", "fact_value", "read_dataset", "read_frame",
           "scale_of"]

#: The labels taken as "bad" when ``--bad`` is not given, in this order; and their good twins.
BAD_LABELS = ("1", "bad", "坏")
GOOD_LABELS = ("0", "good", "好")
#: Bad rows listed in a message (the rest are counted).
MAX_SHOWN = 50
#: Scale of a DECIMAL fact in the data set's frame: integer fen (the rule language's frame form)
#: for money and areas (mu to the hundredth) ...
SCALE = 2
#: ... and millionths for the rates and ratios among the admission facts (the bureau's card
#: utilization has 4 places): ``scale_of`` says which.
FINE_SCALE = 6
FINE_FACTS = frozenset({"bureau_card_utilization", "lpr_1y", "lpr_5y"})


def scale_of(name: str) -> int:
    """The decimal places a DECIMAL fact ``name`` is read to (its frame column's integer scale)."""
    return FINE_SCALE if name in FINE_FACTS else SCALE

_Row = tuple[int, dict[str, str], str | None]  # (line, cells by column, the row's own error)
KINDS = (FieldType.DECIMAL, FieldType.INTEGER, FieldType.STRING, FieldType.BOOLEAN)
TRUE = frozenset({"true", "1", "yes", "y", "是", "t"})
FALSE = frozenset({"false", "0", "no", "n", "否", "f"})


class DataProblem(ValidationFailed):
    """The data set cannot be fitted as it is; the message says what to change."""

    code = "bad_data_set"


@dataclass(frozen=True)
class BadRow:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass
class Dataset:
    """The rows that can be fitted: ``frame`` holds one column per variable (DECIMAL: nullable
    Int64 fen; INTEGER: nullable Int64; STRING/BOOLEAN: object, None when missing), ``target`` is
    1 for bad and 0 for good, ``lines`` each row's line in the file."""

    frame: Any
    target: Any
    lines: Any
    kinds: dict[str, FieldType]
    bad_label: str
    good_label: str
    dropped: list[BadRow] = field(default_factory=list)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def dropped_lines(self) -> list[int]:
        return sorted({b.line for b in self.dropped})


def fact_value(kind: FieldType, cell: Any, scale: int = SCALE) -> Any:
    """A frame cell as the fact ``score`` reads: fen (``scale``: ``scale_of`` the fact) back to
    Decimal yuan, NA to None."""
    import pandas as pd

    if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)):
        return None
    if kind is FieldType.DECIMAL:
        return Decimal(int(cell)).scaleb(-scale)
    if kind is FieldType.INTEGER:
        return int(cell)
    return str(cell)


# -- reading the file into text cells ------------------------------------------------------------

def _text(value: Any) -> str:
    """A typed cell (parquet, pandas) as the text the operator would see; floats by shortest repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _text(value.item())  # numpy scalars
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def _csv_header(data: bytes, name: str) -> list[str]:
    from nongxin.core.importing import UnreadableFile, decode

    text, _ = decode(data, name)
    try:
        first = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), None)
    except csv.Error as exc:
        raise UnreadableFile(name, f"line 1: not valid CSV ({exc})") from None
    if not first:
        raise UnreadableFile(name, "the file is empty; expected a header naming the columns")
    return first


def _xlsx_header(data: bytes, name: str) -> list[str]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    from nongxin.core.importing import UnreadableFile

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(name, f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        first = next(iter(sheet.iter_rows(values_only=True, max_row=1)), None) if sheet is not None else None
    finally:
        book.close()
    if not first:
        raise UnreadableFile(name, "the first sheet is empty; expected a header naming the columns")
    return [_text(v) for v in first]


def _cells_of_file(path: Path) -> tuple[list[str], list[_Row]]:
    """(columns, rows as (line, cells, row error)) of a CSV, .xlsx or .parquet file."""
    from nongxin.core.importing import OLE_MAGIC, ZIP_MAGIC, UnreadableFile, read_bytes

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataProblem(f"{path}: cannot read the file ({exc.strerror or exc})", fields={"data": ["unreadable"]}) from None
    if path.suffix.lower() == ".parquet" or data.startswith(b"PAR1"):
        return _parquet_cells(data, path.name)
    if data.startswith(OLE_MAGIC):
        raise UnreadableFile(path.name, "this is an old binary Excel (.xls) file; save it as .xlsx or as CSV")
    header = _xlsx_header(data, path.name) if data.startswith(ZIP_MAGIC) else _csv_header(data, path.name)
    columns = [c.strip().lower() for c in header]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise UnreadableFile(path.name, "line 1 (header) names no column")
    table = read_bytes(data, name=path.name, columns=columns)
    return list(table.columns), [(r.line, r.values, r.error) for r in table.rows]


def _parquet_cells(data: bytes, name: str) -> tuple[list[str], list[_Row]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from nongxin.core.importing import UnreadableFile

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise UnreadableFile(name, f"not a readable parquet file ({type(exc).__name__})") from None
    return _frame_cells(table.to_pandas(), name)


def _frame_cells(frame: Any, name: str) -> tuple[list[str], list[_Row]]:
    columns = [str(c).strip().lower() for c in frame.columns]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise DataProblem(f"{name}: line 1 (header) repeats column(s) {', '.join(repeated)}",
                          fields={"header": [f"repeats {', '.join(repeated)}"]})
    texts = {c: [_text(v) for v in frame.iloc[:, i].tolist()] for i, c in enumerate(columns)}
    rows: list[_Row] = [(i + 2, {c: texts[c][i] for c in columns}, None) for i in range(len(frame))]
    return columns, rows


# -- typing the cells ----------------------------------------------------------------------------

def _parse(kind: FieldType, text: str, scale: int = SCALE) -> tuple[Any, str | None]:
    """(value, None) or (None, reason): DECIMAL as an int of ``scale`` places (fen for money),
    INTEGER as int, text otherwise."""
    if kind is FieldType.STRING:
        return text, None
    if kind is FieldType.BOOLEAN:
        low = text.lower()
        if low in TRUE:
            return "true", None
        if low in FALSE:
            return "false", None
        return None, f"{text!r} is not true/false"
    try:
        number = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        return None, f"{text!r} is not a number"
    if not number.is_finite():
        return None, f"{text!r} is not a finite number"
    if kind is FieldType.INTEGER:
        if number != number.to_integral_value():
            return None, f"{text!r} is not a whole number"
        return int(number), None
    fen = number.scaleb(scale)
    if fen != fen.to_integral_value():
        why = " (an amount is in yuan and fen)" if scale == SCALE else ""
        return None, f"{text!r} has more than {scale} decimal places{why}"
    return int(fen), None


def _label(cell: str) -> str:
    """A target cell as a label: ``1.0``/``0.0`` (a float export) are ``1``/``0``."""
    text = cell.strip()
    if text in ("1.0", "0.0", "1.00", "0.00"):
        return text[0]
    return text


def _pick_labels(values: Iterable[str], bad: str | None) -> tuple[str, str]:
    seen = sorted({v for v in values if v})
    folded = {v.casefold(): v for v in seen}
    if bad is not None:
        if bad.casefold() not in folded:
            raise DataProblem(f"--bad {bad!r} does not appear in the target column (its values: {', '.join(seen[:10])})",
                              fields={"bad": ["not in the target column"]})
        bad_label = folded[bad.casefold()]
    else:
        found = next((folded[b] for b in BAD_LABELS if b in folded), None)
        if found is None:
            raise DataProblem(f"the target column has no bad label ({' / '.join(BAD_LABELS)}); its values: "
                              f"{', '.join(seen[:10])}; name the bad one with --bad LABEL",
                              fields={"bad": ["no bad label"]})
        bad_label = found
    others = [v for v in seen if v != bad_label]
    if len(others) == 1:
        return bad_label, others[0]
    good = next((folded[g] for g in GOOD_LABELS if g in folded and folded[g] != bad_label), None)
    if good is None:
        raise DataProblem(f"the target column must hold two labels (bad and good); it holds {len(seen)}: "
                          f"{', '.join(seen[:10])}", fields={"target": ["not two labels"]})
    return bad_label, good


def _check_columns(columns: Sequence[str], target: str, exclude: Sequence[str]) -> dict[str, FieldType]:
    target = target.strip().lower()
    excluded = {e.strip().lower() for e in exclude}
    unnamed = [str(i + 1) for i, c in enumerate(columns) if not c]
    if unnamed:
        raise DataProblem(f"line 1 (header): column(s) {', '.join(unnamed)} have no name; name them or delete them",
                          fields={"header": ["unnamed column"]})
    if target not in columns:
        raise DataProblem(f"there is no target column {target!r}; the columns are: {', '.join(columns)}",
                          fields={"target": ["no such column"]})
    absent = sorted(excluded - set(columns))
    if absent:
        raise DataProblem(f"--exclude names no column: {', '.join(absent)}", fields={"exclude": ["no such column"]})
    variables = [c for c in columns if c != target and c not in excluded]
    if not variables:
        raise DataProblem("no variable left: every column is the target or excluded", fields={"data": ["no variables"]})
    facts = dict(ADMISSION.items())
    unknown = [c for c in variables if c not in facts]
    if unknown:
        raise DataProblem(
            f"{len(unknown)} column(s) are not admission facts: {', '.join(unknown)}. A scorecard reads only the "
            "facts the admission stage declares (nongxin.sdk.facts.ADMISSION). Leave a column out with --exclude "
            "COLUMN, or rename it to the fact it holds; a new fact needs the core's ADMISSION schema and "
            "customer_facts (core/customers/services.py; README: \"Writing a county plugin\"). Known facts: " + ", ".join(facts),
            fields={"data": [f"not a fact: {c}" for c in unknown]})
    kinds = {c: facts[c].type for c in variables}
    odd = [f"{c} ({k.value})" for c, k in kinds.items() if k not in KINDS]
    if odd:
        raise DataProblem(f"these facts cannot be scorecard variables: {', '.join(odd)}; leave them out with --exclude",
                          fields={"data": odd})
    return kinds


def _build(columns: list[str], rows: list[_Row], *, name: str, target: str,
           exclude: Sequence[str], bad: str | None, drop_bad_rows: bool) -> Dataset:
    import numpy as np
    import pandas as pd

    kinds = _check_columns(columns, target, exclude)
    target = target.strip().lower()
    targets = [_label(r[1][target]) for r in rows]
    bad_label, good_label = _pick_labels(targets, bad)
    problems: list[BadRow] = []
    broken: set[int] = set()
    for index, (line, _, error) in enumerate(rows):
        if error:
            problems.append(BadRow(line, "(row)", error))
            broken.add(index)
    for index, label in enumerate(targets):
        if label not in (bad_label, good_label):
            why = "empty target" if not label else f"target {label!r} is neither {bad_label!r} (bad) nor {good_label!r} (good)"
            problems.append(BadRow(rows[index][0], target, why))
            broken.add(index)
    values: dict[str, list[Any]] = {}
    for column, kind in kinds.items():
        parsed: dict[str, tuple[Any, str | None]] = {}
        out: list[Any] = []
        for index, (line, cells, _) in enumerate(rows):
            text = cells[column].strip()
            if not text:
                out.append(None)
                continue
            if text not in parsed:
                parsed[text] = _parse(kind, text, scale_of(column))
            value, reason = parsed[text]
            if reason is not None:
                problems.append(BadRow(line, column, reason))
                broken.add(index)
            out.append(value)
        values[column] = out
    problems.sort(key=lambda b: (b.line, b.column))
    if problems and not drop_bad_rows:
        shown = "\n".join(f"  {p}" for p in problems[:MAX_SHOWN])
        more = f"\n  ... and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        raise DataProblem(f"{name}: {len(problems)} bad value(s) in {len(broken)} row(s); nothing was fitted. Mend them, "
                          f"or fit without those rows with --drop-bad-rows:\n{shown}{more}",
                          fields={"data": [str(p) for p in problems[:MAX_SHOWN]]})
    keep = [i for i in range(len(rows)) if i not in broken]
    frame = pd.DataFrame({c: pd.array([values[c][i] for i in keep],
                                      dtype="Int64" if kinds[c] in (FieldType.DECIMAL, FieldType.INTEGER) else object)
                          for c in kinds})
    return Dataset(frame=frame, target=np.array([1 if targets[i] == bad_label else 0 for i in keep], dtype=np.int64),
                   lines=np.array([rows[i][0] for i in keep], dtype=np.int64), kinds=kinds, bad_label=bad_label,
                   good_label=good_label, dropped=problems)


def read_dataset(path: Path, *, target: str, exclude: Sequence[str] = (), bad: str | None = None,
                 drop_bad_rows: bool = False) -> Dataset:
    """Read and check ``path`` (CSV, .xlsx or .parquet); ``DataProblem`` says what is wrong."""
    columns, rows = _cells_of_file(path)
    return _build(columns, rows, name=path.name, target=target, exclude=exclude, bad=bad, drop_bad_rows=drop_bad_rows)


def read_frame(frame: Any, *, target: str, exclude: Sequence[str] = (), bad: str | None = None,
               drop_bad_rows: bool = False, name: str = "data") -> Dataset:
    """``read_dataset`` for a pandas frame already in memory (row ``i`` is line ``i + 2``)."""
    columns, rows = _frame_cells(frame, name)
    return _build(columns, rows, name=name, target=target, exclude=exclude, bad=bad, drop_bad_rows=drop_bad_rows)

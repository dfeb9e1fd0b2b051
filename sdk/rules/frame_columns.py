"""Reading one block of one column into the evaluator's array representation.

Columns are sliced per block (views where pandas allows) so the evaluator never holds a converted
copy of a whole column: that is what keeps extra memory at a few percent of the frame.

Representations: number -> float64 with NaN for missing; integer, date (days since 1970-01-01) and
decimal (integer fen, scale 2) -> (int64 array, mask or None); string -> (object array, mask or
None); boolean -> (known-true, known-false) bool arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .fields import FieldType

__all__ = ["ColumnSource", "DECIMAL_SCALE"]

DECIMAL_SCALE = 2  # decimal columns in frames hold integer fen


def _mask(m: np.ndarray) -> np.ndarray | None:
    return m if m.any() else None


class ColumnSource:
    """One frame column, sliced block by block into the representation of its field type."""

    def __init__(self, series: pd.Series, ftype: FieldType, name: str) -> None:
        self.ftype = ftype
        self.name = name
        self.series = series
        self.categorical = isinstance(series.dtype, pd.CategoricalDtype)
        self._lookup: dict[str, int] | None = None
        self.np = series.to_numpy(copy=False) if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biufM" else None

    def factorized(self, a: int, b: int) -> tuple[np.ndarray, dict[str, int]]:
        """String block as integer codes (-1 = missing) plus value -> code; free for categoricals."""
        if self.categorical:
            if self._lookup is None:
                self._lookup = {c: i for i, c in enumerate(self.series.cat.categories)}
            return self.series.cat.codes.to_numpy()[a:b], self._lookup
        codes, uniques = pd.factorize(self.series.iloc[a:b].to_numpy(dtype=object), use_na_sentinel=True)
        return codes, {u: i for i, u in enumerate(uniques)}

    def block(self, a: int, b: int) -> Any:
        """Rows ``a:b``; the representation depends on the type.

        number: float64 array, NaN = missing; boolean: ``(is_true, is_false)``; otherwise
        ``(values, missing mask or None)``.
        """
        t = self.ftype
        raw = self.np[a:b] if self.np is not None else None
        if t is FieldType.NUMBER:
            if raw is not None:
                return raw if raw.dtype == np.float64 else raw.astype(np.float64)
            return pd.to_numeric(self.series.iloc[a:b]).to_numpy(dtype=np.float64, na_value=np.nan)
        if t in (FieldType.INTEGER, FieldType.DECIMAL):
            if raw is not None and raw.dtype.kind in "iub":
                return (raw if raw.dtype == np.int64 else raw.astype(np.int64)), None
            if raw is not None and raw.dtype.kind == "f":
                m = np.isnan(raw)
                if m.any():
                    return np.where(m, 0, raw).astype(np.int64), m
                return raw.astype(np.int64), None
            s = pd.to_numeric(self.series.iloc[a:b])
            m = s.isna().to_numpy()
            return s.to_numpy(dtype=np.int64, na_value=0), _mask(m)
        if t is FieldType.DATE:
            if raw is None or raw.dtype.kind != "M":
                raw = pd.to_datetime(self.series.iloc[a:b]).to_numpy()
            m = np.isnat(raw)
            days = raw.astype("datetime64[D]").astype(np.int64)
            return days, _mask(m)
        if t is FieldType.STRING:
            s = self.series.iloc[a:b]
            return s.to_numpy(dtype=object), _mask(s.isna().to_numpy())
        # boolean
        if raw is not None and raw.dtype == np.bool_:
            return raw, ~raw
        s = self.series.iloc[a:b]
        m = s.isna().to_numpy()
        v = np.where(m, False, s.to_numpy(dtype=object)).astype(bool)
        known = ~m
        return v & known, ~v & known

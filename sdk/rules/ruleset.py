"""Compiling a rule set once into its two evaluators.

``evaluate(record)`` serves admission at the phone; ``hits_frame``/``summary_frame`` are plain
``frame -> frame`` functions for the nightly ledger run, usable per partition with Dask's
``map_partitions``. Both come from the same checked trees, so they agree by construction (and the
property tests check it).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from . import nodes as n
from .compile_frame import Block, compile_frame_tree
from .compile_record import compile_record
from .effective import check_unique_codes
from .errors import RuleDefinitionError, RuleError
from .fields import Schema
from .frame_columns import ColumnSource
from .parser import parse
from .rule import OUTCOMES, SEVERITY, Rule
from .typecheck import check

__all__ = ["Hit", "FrameResult", "CompiledRuleSet", "compile_rule_set", "check_expression"]

BLOCK_ROWS = 65536


class Hit(NamedTuple):
    code: str
    outcome: str
    reason: str


class FrameResult(NamedTuple):
    hits: pd.DataFrame  # columns: <key>, rule_code, outcome
    summary: pd.DataFrame  # index like the input; columns: hit_count, worst


def check_expression(expression: str, schema: Schema, code: str | None = None) -> n.Node:
    """Parse and type-check one expression; the admin UI calls this to validate as they type."""
    try:
        return check(parse(expression), schema, expression)
    except RuleError as e:
        raise e.with_code(code, expression) if code else e


class CompiledRuleSet:
    """A rule set compiled once; cheap to call, safe to share between threads (no mutable state)."""

    def __init__(self, rules: Sequence[Rule], schema: Schema, trees: Sequence[n.Node],
                 key: str | None, block_rows: int) -> None:
        self.rules = tuple(rules)
        self.schema = schema
        self.key = key
        self.block_rows = block_rows
        self.stage = rules[0].stage if rules else "admission"
        self._record_fn, self.source = compile_record(trees, schema)
        self._hits = tuple(Hit(r.code, r.outcome, r.reason) for r in rules)
        self._frame_fns = [compile_frame_tree(t) for t in trees]
        #: The facts each rule reads, by rule code (sorted): what a hit's evidence is made of.
        self.reads: dict[str, tuple[str, ...]] = {
            r.code: tuple(sorted({f.name for f in _field_refs(t)})) for r, t in zip(rules, trees)}
        self._fields = sorted({name for names in self.reads.values() for name in names})
        self._severity = np.array([SEVERITY[r.stage][r.outcome] for r in rules], dtype=np.int8)
        self._codes = pd.Categorical([r.code for r in rules])
        self._outcomes = list(OUTCOMES[self.stage])

    @property
    def fields(self) -> tuple[str, ...]:
        """Every fact some rule of the set reads, sorted: the columns a frame must carry."""
        return tuple(self._fields)

    # -- one record ----------------------------------------------------------------------------
    def evaluate(self, record: Mapping[str, Any] | Any) -> list[Hit]:
        """Hits for one record (a mapping, or a dataclass/object with attributes), in rule order."""
        get: Callable[[str], Any]
        try:
            get = record.get
        except AttributeError:
            if dataclasses.is_dataclass(record) or hasattr(record, "__dict__"):
                get = lambda k: getattr(record, k, None)  # noqa: E731
            else:
                raise TypeError("a record must be a mapping or an object with attributes") from None
        idx = self._record_fn(get)
        if not idx:
            return []
        hits = self._hits
        if len(idx) == 1:
            return [hits[idx[0]]]
        idx.sort()
        return [hits[i] for i in idx]

    # -- frames --------------------------------------------------------------------------------
    def _positions(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        missing = [f for f in self._fields if f not in frame.columns]
        if missing:
            raise KeyError(f"frame lacks columns needed by the rules: {', '.join(missing)}")
        sources = {f: ColumnSource(frame[f], self.schema[f].type, f) for f in self._fields}
        total = len(frame)
        row_t = np.int32 if total < 2**31 else np.int64
        rule_t = np.int16 if len(self._frame_fns) < 2**15 else np.int32
        rows_out: list[np.ndarray] = []
        rules_out: list[np.ndarray] = []
        for a in range(0, total, self.block_rows):
            blk = Block(sources, a, min(a + self.block_rows, total))
            rows_parts: list[np.ndarray] = []
            rule_parts: list[np.ndarray] = []
            for i, fn in enumerate(self._frame_fns):
                hit = np.flatnonzero(fn(blk))
                if hit.size:
                    rows_parts.append(hit.astype(row_t) + a)
                    rule_parts.append(np.full(hit.size, i, dtype=rule_t))
            if rows_parts:  # order by row, then rule, block by block: sorting stays small
                rows, rules = np.concatenate(rows_parts), np.concatenate(rule_parts)
                order = np.lexsort((rules, rows))
                rows_out.append(rows[order])
                rules_out.append(rules[order])
        if not rows_out:
            return np.empty(0, row_t), np.empty(0, rule_t)
        return np.concatenate(rows_out), np.concatenate(rules_out)

    def _tables(self, frame: pd.DataFrame, rows: np.ndarray, rules: np.ndarray) -> FrameResult:
        index = frame.index
        if self.key:
            keys = frame[self.key].to_numpy()[rows]
        elif isinstance(index, pd.RangeIndex):  # avoid materialising the whole index
            keys = index.start + rows.astype(np.int64) * index.step
        else:
            keys = index.to_numpy()[rows]
        key_name = self.key or (frame.index.name or "row")
        hits = pd.DataFrame(copy=False, data={
            key_name: keys,
            "rule_code": pd.Categorical.from_codes(self._codes.codes[rules], self._codes.categories),
            "outcome": pd.Categorical.from_codes(self._severity[rules].astype(np.int8) - 1,
                                                 self._outcomes, ordered=True),
        })
        worst = np.zeros(len(frame), dtype=np.int8)
        np.maximum.at(worst, rows, self._severity[rules])
        counts = np.zeros(len(frame), dtype=np.int32)
        hit_rows, per_row = np.unique(rows, return_counts=True)  # rows are few; keep memory small
        counts[hit_rows] = per_row
        summary = pd.DataFrame(copy=False, data={
            "hit_count": counts,
            "worst": pd.Categorical.from_codes(np.subtract(worst, 1, out=worst), self._outcomes, ordered=True),
        }, index=frame.index)
        return FrameResult(hits, summary)

    def evaluate_frame(self, frame: pd.DataFrame) -> FrameResult:
        """Hits table and per-row summary of one frame (or one Dask partition)."""
        rows, rules = self._positions(frame)
        return self._tables(frame, rows, rules)

    def hits_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame -> frame`` for ``ddf.map_partitions``: one row per (row key, rule) hit."""
        return self.evaluate_frame(frame).hits

    def summary_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame -> frame`` for ``ddf.map_partitions``: hit_count and worst outcome per row."""
        return self.evaluate_frame(frame).summary


def _field_refs(node: n.Node) -> list[n.FieldRef]:
    out: list[n.FieldRef] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, n.FieldRef):
            out.append(x)
        for f in dataclasses.fields(x):
            v = getattr(x, f.name)
            if isinstance(v, n.Node):
                stack.append(v)
            elif isinstance(v, list):
                stack.extend(i for i in v if isinstance(i, n.Node))
    return out


def compile_rule_set(rules: Sequence[Rule], schema: Schema, *, key: str | None = None,
                     block_rows: int = BLOCK_ROWS) -> CompiledRuleSet:
    """Check every rule (all errors name the rule code) and build both evaluators once."""
    rules = list(rules)
    check_unique_codes(rules)
    stages = {r.stage for r in rules}
    if len(stages) > 1:
        raise RuleDefinitionError(f"one rule set must hold one stage, got {', '.join(sorted(stages))}")
    trees = [check_expression(r.expression, schema, r.code) for r in rules]
    return CompiledRuleSet(rules, schema, trees, key, block_rows)

"""Judging one county bank's facts frame by its rule book: the one function the single-process
scan and the Dask cluster both run.

The promise: ``evaluate(frame, job)`` is a pure function of a facts frame (one row per loan, or
per pledged position; decimal columns in integer fen) and a :class:`BankRules` (the bank's rules
of one stage, plain picklable data): the hits as a frame of ``key`` (``loan_id`` or
``pledge_id``), ``rule_code``, ``rule_version`` and ``colour``, sorted by key then rule code. It
touches no database and no plugin, so a worker process on another machine computes exactly what
the scan's own process does (``tests/core/early_warning`` checks both give identical warnings).
The compiled rule set is cached per process by the rules' identity.

A :class:`Runner` takes the (job, frame) pairs of a scan and yields each bank's hits; the scan
uses :class:`LocalRunner` unless given another (``cluster.DaskRunner``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Protocol

import numpy as np
import pandas as pd

from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import CompiledRuleSet, Rule, compile_rule_set

__all__ = ["BankRules", "HIT_COLUMNS", "LocalRunner", "Runner", "compiled", "evaluate"]

#: The columns of a hits frame after the key column.
HIT_COLUMNS = ("rule_code", "rule_version", "colour")


@dataclass(frozen=True)
class BankRules:
    """What a worker needs to judge one county bank: its code, the stage, the rules in force
    there on the scan's date, and the key column of the stage's frames."""

    county_bank: str
    stage: str  # post_loan | collateral
    rules: tuple[Rule, ...]
    key: str = "loan_id"


@lru_cache(maxsize=256)
def compiled(stage: str, rules: tuple[Rule, ...]) -> CompiledRuleSet:
    """The compiled rule set of ``rules`` (cached per process: the rules are frozen dataclasses)."""
    return compile_rule_set(list(rules), SCHEMAS[stage])


def evaluate(frame: pd.DataFrame, job: BankRules) -> pd.DataFrame:
    """The hits of ``job.rules`` on ``frame`` (module docstring)."""
    columns = [job.key, *HIT_COLUMNS]
    if not len(frame) or not job.rules:
        return pd.DataFrame({job.key: np.empty(0, np.int64), "rule_code": np.empty(0, object),
                             "rule_version": np.empty(0, np.int64), "colour": np.empty(0, object)})[columns]
    rule_set = compiled(job.stage, job.rules)
    hits = rule_set.evaluate_frame(frame.reset_index(drop=True)).hits
    rows = hits.iloc[:, 0].to_numpy()
    keys = frame[job.key].to_numpy()[rows].astype(np.int64)
    versions = {r.code: r.version for r in job.rules}
    codes = hits["rule_code"].astype(str).to_numpy(dtype=object)
    out = pd.DataFrame({job.key: keys, "rule_code": codes,
                        "rule_version": np.fromiter((versions[c] for c in codes), np.int64, len(codes)),
                        "colour": hits["outcome"].astype(str).to_numpy(dtype=object)})
    return out.sort_values([job.key, "rule_code"], kind="stable", ignore_index=True)


class Runner(Protocol):
    def run(self, jobs: Iterable[tuple[BankRules, pd.DataFrame]]) -> Iterator[tuple[BankRules, pd.DataFrame]]:
        """Each job with its hits frame, in any order."""
        ...  # pragma: no cover


class LocalRunner:
    """Evaluate in this process, one bank after another."""

    def run(self, jobs: Iterable[tuple[BankRules, pd.DataFrame]]) -> Iterator[tuple[BankRules, pd.DataFrame]]:
        for job, frame in jobs:
            yield job, evaluate(frame, job)

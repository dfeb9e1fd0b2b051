"""Benchmark of the rule language: one record at the phone, the whole ledger at night, compile time.

Run ``python benchmarks/rules.py`` (full size) or ``--rows 20000`` for a smoke run. Reproducible
from ``--seed``. Writes benchmarks/results/rules.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nongxin.sdk.rules import Field, Rule, Schema, compile_rule_set

N_NUM, N_INT, N_DEC, N_STR = 12, 10, 6, 2  # 30 columns


def make_schema() -> Schema:
    fields = [Field(f"n{i}", "number", f"数值{i}") for i in range(N_NUM)]
    fields += [Field(f"i{i}", "integer", f"整数{i}") for i in range(N_INT)]
    fields += [Field(f"d{i}", "decimal", f"金额{i}") for i in range(N_DEC)]
    fields += [Field(f"s{i}", "string", f"文本{i}") for i in range(N_STR)]
    return Schema(fields)


def make_rules(count: int, stage: str, rng: random.Random) -> list[Rule]:
    """Threshold rules at the tails of each column's distribution so few rows hit (as in practice)."""
    outcomes = {"admission": ["reject", "manual_review", "tag"], "post_loan": ["red", "orange", "yellow"]}[stage]
    rules = []
    for k in range(count):
        kind = rng.random()
        if kind < 0.4:
            expr = f"n{rng.randrange(N_NUM)} > {rng.uniform(3.0, 4.5):.3f}"
        elif kind < 0.65:
            expr = f"i{rng.randrange(N_INT)} >= {rng.randrange(998, 1000)}"
        elif kind < 0.85:
            expr = f"d{rng.randrange(N_DEC)} > {rng.randrange(998000, 1000000)}.{rng.randrange(100):02d}"
        elif kind < 0.95:
            a, b = rng.sample(range(N_NUM), 2)
            expr = f"n{a} > {rng.uniform(2.5, 3.5):.2f} and i{rng.randrange(N_INT)} < {rng.randrange(5, 50)} or n{b} < -4.2"
        else:
            expr = f's{rng.randrange(N_STR)} in ["X{rng.randrange(1000)}", "X{rng.randrange(1000)}"]'
        rules.append(Rule(f"R{k:04d}", f"规则{k}", expr, stage, rng.choice(outcomes), "province", "P00",
                          reason=f"触发规则{k}"))
    return rules


def make_record(rng: random.Random) -> dict[str, Any]:
    rec: dict[str, Any] = {f"n{i}": rng.gauss(0, 1) for i in range(N_NUM)}
    rec.update({f"i{i}": rng.randrange(1000) for i in range(N_INT)})
    rec.update({f"d{i}": Decimal(rng.randrange(100_000_000)) / 100 for i in range(N_DEC)})
    rec.update({f"s{i}": f"X{rng.randrange(1000)}" for i in range(N_STR)})
    return rec


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for i in range(N_NUM):
        c = g.standard_normal(rows)
        c[g.random(rows) < 0.01] = np.nan  # 1% missing
        cols[f"n{i}"] = c
    for i in range(N_INT):
        cols[f"i{i}"] = g.integers(0, 1000, rows, dtype=np.int64)
    for i in range(N_DEC):
        cols[f"d{i}"] = g.integers(0, 100_000_000, rows, dtype=np.int64)  # fen
    for i in range(N_STR):
        # low-cardinality codes (industry, product, region) held as categoricals, as loaded from parquet
        cats = [f"X{j}" for j in range(1000)]
        cols[f"s{i}"] = pd.Categorical.from_codes(g.integers(0, 1000, rows), cats)
    return pd.DataFrame(cols)


def rule_engine_baseline(rules: list[Rule], records: list[dict]) -> tuple[str, list[float]]:
    """Time the `rule-engine` package on the same rules; fall back to per-rule closures."""
    try:
        import rule_engine  # optional "bench" extra

        ctx = rule_engine.Context(default_value=None)
        compiled = [rule_engine.Rule(r.expression, context=ctx) for r in rules]
        name = f"rule-engine {getattr(rule_engine, '__version__', '?')}"

        def run(rec: dict) -> list[str]:
            return [r.code for r, c in zip(rules, compiled) if c.matches(rec)]
    except ImportError:
        import operator as op

        ops = {">": op.gt, ">=": op.ge, "<": op.lt}
        simple = []
        for r in rules:
            parts = r.expression.split()
            if len(parts) == 3 and parts[1] in ops:
                simple.append((r.code, parts[0], ops[parts[1]], float(parts[2])))
        name = "per-rule closures (rule-engine not installed; threshold rules only)"

        def run(rec: dict) -> list[str]:
            return [c for c, f, fn, v in simple if rec.get(f) is not None and fn(rec[f], v)]
    times = []
    for rec in records:
        t0 = time.perf_counter()
        run(rec)
        times.append((time.perf_counter() - t0) * 1e6)
    return name, times


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--record-rules", type=int, default=1000)
    ap.add_argument("--batch-rules", type=int, default=500)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--baseline-records", type=int, default=30)
    ap.add_argument("--seed", type=int, default=20240131)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rules.json")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    schema = make_schema()

    # compile
    record_rules = make_rules(args.record_rules, "admission", rng)
    t0 = time.perf_counter()
    rs = compile_rule_set(record_rules, schema)
    compile_seconds = time.perf_counter() - t0

    # one record
    records = [make_record(rng) for _ in range(args.records)]
    for rec in records[:200]:
        rs.evaluate(rec)
    times = []
    gc.disable()
    for rec in records:
        t0 = time.perf_counter()
        rs.evaluate(rec)
        times.append((time.perf_counter() - t0) * 1e6)
    gc.enable()
    q = statistics.quantiles(times, n=100)
    p50, p99 = statistics.median(times), q[98]
    base_name, base_times = rule_engine_baseline(record_rules, records[: args.baseline_records])
    base_p50 = statistics.median(base_times)

    # batch
    batch_rules = make_rules(args.batch_rules, "post_loan", rng)
    brs = compile_rule_set(batch_rules, schema)
    frame = make_frame(args.rows, args.seed)
    frame_bytes = int(frame.memory_usage(deep=True, index=True).sum())
    numeric_bytes = int(frame.select_dtypes("number").memory_usage(index=False).sum())
    brs.evaluate_frame(frame.head(1000))  # warm up
    gc.collect()
    t0 = time.perf_counter()
    result = brs.evaluate_frame(frame)
    batch_seconds = time.perf_counter() - t0
    n_hits = len(result.hits)
    del result
    gc.collect()
    tracemalloc.start()
    base_mem = tracemalloc.get_traced_memory()[0]
    result = brs.evaluate_frame(frame)
    peak = tracemalloc.get_traced_memory()[1] - base_mem
    tracemalloc.stop()
    out_bytes = int(result.hits.memory_usage(deep=True).sum() + result.summary.memory_usage(deep=True).sum())

    report = {
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "seed": args.seed,
        "record_rules": args.record_rules,
        "single_record_p50_us": round(p50, 2),
        "single_record_p99_us": round(q[98], 2),
        "baseline_name": base_name,
        "baseline_p50_us": round(base_p50, 1),
        "speedup_vs_baseline": round(base_p50 / p50, 1),
        "compile_seconds": round(compile_seconds, 4),
        "batch_rules": args.batch_rules,
        "batch_rows": args.rows,
        "batch_columns": frame.shape[1],
        "batch_seconds": round(batch_seconds, 3),
        "batch_rows_per_second": round(args.rows / batch_seconds),
        "batch_hits": n_hits,
        "batch_extra_peak_bytes": int(peak),
        "batch_output_bytes": out_bytes,
        "frame_bytes": frame_bytes,
        "frame_numeric_bytes": numeric_bytes,
        "batch_extra_peak_fraction": round(peak / frame_bytes, 4),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for k, v in report.items():
        print(f"{k:28} {v}")
    return report


if __name__ == "__main__":
    main()

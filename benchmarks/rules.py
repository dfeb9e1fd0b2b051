"""Benchmark of the rule language: one record at the phone, the whole ledger at night, compile time.

Run ``python benchmarks/rules.py`` (full size) or ``--rows 20000`` for a smoke run. Reproducible
from ``--seed``. Writes benchmarks/results/rules.json.

``backtest_seconds_per_million``: one post-loan rule backtested over ``--backtest-loans`` loans
(default 1,000,000) end to end through ``core.rules.backtest.backtest`` (reading the kept facts,
evaluating, grouping by branch, the sample, the audit entry), scaled to a million, median of
``--backtest-repeats`` runs. The kept facts are synthetic (``"store": "synthetic"``): a frame with the
columns and dtypes the nightly scan keeps (``core.rules.facts_store``), written by the store's own
writer for the demo province's JNRCB, instead of a million loans loaded and closed (minutes on the
shared machine). ``--backtest-only`` measures just this figure and keeps the file's other keys.
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


def post_loan_facts(loans: int, branches: list[int], as_of: Any, seed: int) -> pd.DataFrame:
    """A bank's post-loan facts frame as the nightly scan keeps it (``facts_store.KEPT_COLUMNS`` and
    every POST_LOAN fact; money int64 fen, dates datetime64, bureau facts nullable), synthetic."""
    g = np.random.default_rng(seed)
    n = loans
    as_of_ts = pd.Timestamp(as_of)
    principal = g.integers(500_000, 50_000_000, n, dtype=np.int64)
    outstanding = (principal * g.uniform(0.05, 1.0, n)).astype(np.int64)
    overdue_days = np.where(g.random(n) < 0.06, g.integers(1, 400, n), 0).astype(np.int64)
    overdue_principal = np.where(overdue_days > 0, outstanding // 10, 0).astype(np.int64)
    overdue_interest = np.where(overdue_days > 0, overdue_principal // 50, 0).astype(np.int64)
    maturity = as_of_ts.to_datetime64() + g.integers(-30, 1500, n).astype("timedelta64[D]")
    branch_ids = np.asarray(branches, dtype=np.int64)[g.integers(0, len(branches), n)]
    codes = {i: c for i, c in zip(branches, ("JNRCB-LX", "JNRCB-ZQ", "JNRCB-X3", "JNRCB-X4"))}

    def nullable(values: np.ndarray, missing: float) -> pd.Series:
        return pd.Series(pd.array(np.where(g.random(n) < missing, None, values), dtype="Int64"))

    def choice(options: list[str]) -> np.ndarray:
        return np.asarray(options, dtype=object)[g.integers(0, len(options), n)]

    frame = pd.DataFrame({
        "loan_id": np.arange(1, n + 1, dtype=np.int64),
        "loan_no": pd.Series(np.arange(1, n + 1)).map("JNRCB-2026-{:07d}".format).to_numpy(dtype=object),
        "institution_id": branch_ids,
        "manager_id": pd.array(g.integers(1, 200, n), dtype="Int64"),
        "overdue_days": overdue_days,
        "overdue_amount": overdue_principal + overdue_interest,
        "outstanding": outstanding, "principal": principal,
        "five_tier": choice(["normal"] * 8 + ["special_mention", "substandard"]),
        "maturity_on": maturity.astype("datetime64[ns]"),
        "as_of": np.full(n, as_of_ts.to_datetime64(), dtype="datetime64[ns]"),
        "product_code": choice(["XIN_E_DAI", "NONG_KUAI_DAI", "FEI_NONG_DAI"]),
        "collateral_value": np.where(g.random(n) < 0.3, principal * 2, 0).astype(np.int64),
        "overdue_principal": overdue_principal, "overdue_interest": overdue_interest,
        "days_to_maturity": pd.array((maturity - as_of_ts.to_datetime64()).astype(np.int64), dtype="Int64"),
        "repayment_method": choice(["equal_installment", "equal_principal", "bullet"]),
        "customer_kind": choice(["individual"] * 9 + ["enterprise"]),
        "branch": pd.Series(branch_ids).map(codes).to_numpy(dtype=object),
        "restructured": g.random(n) < 0.01,
        "court_enforcement": g.random(n) < 0.002, "court_consumption_restriction": g.random(n) < 0.002,
        "court_dishonest_debtor": g.random(n) < 0.001,
    })
    for name, high in (("bureau_loan_approval_queries_1m", 5), ("bureau_loan_approval_queries_3m", 10),
                       ("bureau_queries_6m", 20), ("bureau_queries_12m", 30),
                       ("bureau_worst_overdue_days_24m", 200), ("bureau_non_performing_accounts", 3)):
        frame[name] = nullable(g.integers(0, high, n), 0.4)
    for name in ("bureau_current_overdue_amount", "bureau_outstanding_debt", "bureau_guarantees_given",
                 "bureau_card_utilization"):
        frame[name] = nullable(g.integers(0, 10_000_000, n), 0.4)
    for name in ("bureau_open_enforcement", "bureau_consumption_restriction", "bureau_dishonest_debtor"):
        frame[name] = pd.array(np.where(g.random(n) < 0.4, None, g.random(n) < 0.01), dtype="boolean")
    return frame


def backtest_figures(loans: int, repeats: int, seed: int) -> dict[str, Any]:
    """``backtest_seconds_per_million`` (module docstring): a demo province in a temporary SQLite
    database, the synthetic facts kept for JNRCB, the service timed ``repeats`` times."""
    import tempfile

    import sqlalchemy as sa

    from nongxin.core import demo
    from nongxin.core.app import create_app
    from nongxin.core.config import Settings
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.models import Institution
    from nongxin.core.institutions.users import principal_named
    from nongxin.core.migrate import recreate
    from nongxin.core.rules import facts_store
    from nongxin.core.rules.backtest import backtest
    from nongxin.core.rules.nightly import BankNight

    with tempfile.TemporaryDirectory(prefix="nongxin-backtest-") as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        recreate(url)
        settings = Settings(database_url=url, environment="testing", secret_key="bench-secret",
                            audit_key="nongxin-bench-audit-key-0123456789abcdef", data_dir=f"{tmp}/data")
        app = create_app(settings)
        runtime = app.extensions["nongxin"]
        with UnitOfWork(runtime.sessions) as unit:
            demo.seed(unit)
        as_of = runtime.clock.business_date()
        with UnitOfWork(runtime.sessions, write=False) as unit:
            bank = unit.session.execute(sa.select(Institution).where(Institution.code == "JNRCB")).scalar_one()
            branches = list(unit.session.execute(sa.select(Institution.id).where(
                Institution.code.in_(["JNRCB-LX", "JNRCB-ZQ"])).order_by(Institution.code)).scalars())
            unit.session.expunge(bank)
        t0 = time.perf_counter()
        frame = post_loan_facts(loans, branches, as_of, seed)
        build_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        facts_store.keep(settings, BankNight(bank, as_of, frame, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()))
        write_seconds = time.perf_counter() - t0
        store_bytes = facts_store.path_of(settings, "post_loan", as_of, "JNRCB").stat().st_size
        del frame
        gc.collect()
        times, answer = [], {}
        for _ in range(repeats):
            t0 = time.perf_counter()
            with UnitOfWork(runtime.sessions) as unit:
                answer = backtest(unit, principal_named(unit.session, "jinan.admin"), runtime, stage="post_loan",
                                  expression="overdue_days > 90 and outstanding > 100000", institution="JNRCB",
                                  as_of=as_of)
                unit.commit()
            times.append(time.perf_counter() - t0)
        runtime.engine.dispose()
    seconds = statistics.median(times)
    return {
        "backtest_seconds_per_million": round(seconds * 1_000_000 / loans, 3),
        "backtest": {"loans": loans, "store": "synthetic", "source": answer["source"], "hits": answer["hits"],
                     "population": answer["population"], "rule": "overdue_days > 90 and outstanding > 100000",
                     "runs_seconds": [round(t, 3) for t in times], "median_seconds": round(seconds, 3),
                     "facts_build_seconds": round(build_seconds, 2), "store_write_seconds": round(write_seconds, 2),
                     "store_bytes": store_bytes, "goal_seconds_per_million": 1.0},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--record-rules", type=int, default=1000)
    ap.add_argument("--batch-rules", type=int, default=500)
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--baseline-records", type=int, default=30)
    ap.add_argument("--seed", type=int, default=20240131)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "rules.json")
    ap.add_argument("--backtest-loans", type=int, default=1_000_000)
    ap.add_argument("--backtest-repeats", type=int, default=5)
    ap.add_argument("--backtest-only", action="store_true",
                    help="Measure only backtest_seconds_per_million; keep the file's other figures.")
    args = ap.parse_args(argv)
    if args.backtest_only:
        kept = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
        report = {**kept, **backtest_figures(args.backtest_loans, args.backtest_repeats, args.seed)}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{'backtest_seconds_per_million':28} {report['backtest_seconds_per_million']}")
        return report
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
    del frame, result
    gc.collect()
    report.update(backtest_figures(args.backtest_loans, args.backtest_repeats, args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for k, v in report.items():
        print(f"{k:28} {v}")
    return report


if __name__ == "__main__":
    main()

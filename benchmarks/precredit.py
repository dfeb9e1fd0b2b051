"""What whole-village batch pre-credit (预授信) costs: ``village.engine.evaluate_batch`` over a
million synthetic households, next to the one-record path (``evaluate_one_by_one``, the decision's
own ``evaluate`` per household) on 10,000 of them, in the same run, on one core.

The context is built in memory, as a worker receives it (no database): 沂蒙云贷 (YMYD) of the
``yimeng_cloud_loan`` plugin with its default settings, which answers ``nongxin_batch_terms``; 300
admission rules (comparisons, ranges, ``in`` lists, and/or, arithmetic, over the roster facts, the
extra columns and the application's terms; a few read the LPR, which the frame form cannot hold in
fen, so they go the record evaluator's way once per distinct value); a 20-variable farmer scorecard
with several bins per variable. The frame holds the roster facts of ``engine.FRAME_FACTS`` and, to
give the scorecard 20 real columns, 12 more admission facts as extra columns (``existing_debt``,
``filed_revenue``, ``tax_grade`` and nine stored bureau figures), synthetic values with missing
ones. Before timing, the two paths are checked equal on the first 2,000 households.

    python benchmarks/precredit.py [--households 1000000] [--one-record 10000] [--repeat 3]

Writes ``benchmarks/results/precredit.json``. Goals: <= 10 s per million households, >= 500x the
one-record path.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "precredit.json"
BUSINESSES = ["粮食种植", "花生种植", "生猪养殖", "蔬菜大棚", "果园", "外出务工", "个体经营", "水产养殖"]
COLOURS = ["green", "white", "grey", "black"]
EXTRA_DECIMALS = ("existing_debt", "filed_revenue", "bureau_current_overdue_amount", "bureau_outstanding_debt",
                  "bureau_guarantees_given", "bureau_card_utilization")
EXTRA_INTEGERS = ("bureau_loan_approval_queries_1m", "bureau_loan_approval_queries_3m", "bureau_queries_6m",
                  "bureau_queries_12m", "bureau_worst_overdue_days_24m", "bureau_non_performing_accounts")


def households(n: int, seed: int = 15) -> pd.DataFrame:
    """A synthetic households frame in the engine's frame form (a few percent of facts missing)."""
    rng = np.random.default_rng(seed)

    def gaps(values: np.ndarray, share: float) -> Any:
        return pd.arrays.IntegerArray(values.astype(np.int64), rng.random(n) < share)

    def text(values: list[Any], picks: np.ndarray) -> pd.Series:  # object with None, as facts_frame builds
        return pd.Series(np.array(values, dtype=object)[picks], dtype=object)

    colour = text(COLOURS + [None], rng.choice(5, n, p=[0.45, 0.35, 0.1, 0.04, 0.06]))
    frame = pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype=np.int64),
        "household_id": np.arange(1, n + 1, dtype=np.int64),
        "age": gaps(rng.integers(18, 80, n), 0.01),
        "annual_income": gaps(rng.integers(500_000, 30_000_000, n), 0.03),
        "customer_kind": text(["individual"], np.zeros(n, dtype=np.int64)),
        "customer_segment": text(["farmer"], np.zeros(n, dtype=np.int64)),
        "peer_review": colour,
        "land_mu": gaps(rng.integers(0, 6_000, n), 0.05),  # hundredths of a mu
        "household_assets": gaps(rng.integers(0, 80_000_000, n), 0.04),
        "main_business": text(BUSINESSES + [None], rng.integers(0, 9, n)),
        "exposure_room_fen": gaps(rng.integers(0, 50_000_000, n), 0.7),
        "tax_grade": text(["A", "B", "C", "D", None], rng.integers(0, 5, n)),
    })
    for name in EXTRA_DECIMALS:
        frame[name] = gaps(rng.integers(0, 20_000_000, n) * (rng.random(n) < 0.3), 0.2)
    for name in EXTRA_INTEGERS:
        frame[name] = gaps(rng.poisson(1.0, n), 0.2)
    return frame


def rules(count: int) -> list[Any]:
    """``count`` varied admission rules: mostly tags, some referrals, a few rejections."""
    from nongxin.sdk.rules import Rule

    templates = [
        ("age < {a}", "reject", "other"),
        ("age > {b} and annual_income < {m}", "manual_review", ""),
        ("annual_income between {m} and {m2}", "tag", ""),
        ("land_mu between {l} and {l2} and main_business in ['粮食种植', '花生种植']", "tag", ""),
        ("household_assets >= {m3} and peer_review == 'grey'", "manual_review", ""),
        ("main_business in ['生猪养殖', '水产养殖'] and household_assets < {m}", "tag", ""),
        ("peer_review in ['black', 'grey'] and land_mu < {l}", "tag", ""),
        ("amount > annual_income * {k}", "tag", ""),
        ("bureau_queries_6m > {q} or bureau_loan_approval_queries_1m >= {q2}", "manual_review", ""),
        ("bureau_non_performing_accounts > {q}", "reject", "bureau_hard_reject"),
        ("existing_debt + bureau_outstanding_debt > {m3}", "manual_review", ""),
        ("tax_grade == 'D' and filed_revenue < {m} and annual_income < {m2}", "tag", ""),
        ("term_months > 24 and age >= {b} and land_mu < {l2}", "tag", ""),
        ("not (customer_segment in ['farmer', 'merchant'])", "manual_review", ""),
        ("lpr_1y > 0.0{q}5 and peer_review == 'white'", "tag", ""),
        ("bureau_worst_overdue_days_24m >= {d} and household_assets < {m3}", "reject", "other"),
    ]
    out = []
    for i in range(count):
        text, outcome, category = templates[i % len(templates)]
        k = i // len(templates)
        expression = text.format(a=16 + k % 4, b=70 + k % 8, m=8000 + 500 * k, m2=9000 + 700 * k, l=0.5 + k % 3,
                                 l2=3 + k % 5, m3=300000 + 10000 * k, k=8 + k % 5, q=3 + k % 5, q2=4 + k % 3,
                                 d=60 + 15 * (k % 4))
        out.append(Rule(code=f"BM-ADM-{i:03d}", name=f"bench {i}", expression=expression, stage="admission",
                        outcome=outcome, level="county", owner="LYRCB", reason=f"bench rule {i}" if i % 3 else "",
                        category=category, version=1 + k % 2))
    return out


def scorecard() -> Any:
    """A 20-variable farmer scorecard, several bins per variable (numeric ranges and text sets)."""
    from nongxin.sdk.types import ScorecardBin, ScorecardGrade, ScorecardSpec

    def ranges(field: str, edges: list[str], points: list[int]) -> list[ScorecardBin]:
        bounds = [None, *[Decimal(e) for e in edges], None]
        return [ScorecardBin(field, lo, hi, p) for lo, hi, p in zip(bounds, bounds[1:], points)]

    bins = [
        *ranges("age", ["25", "35", "50", "60"], [10, 30, 40, 25, 5]),
        *ranges("annual_income", ["20000", "50000", "100000", "200000"], [0, 15, 30, 45, 55]),
        *ranges("land_mu", ["2", "5", "10", "30"], [0, 10, 20, 30, 25]),
        *ranges("household_assets", ["50000", "150000", "400000"], [0, 15, 30, 40]),
        *[ScorecardBin("main_business", None, None, p, v) for v, p in
          ((("粮食种植", "花生种植"), 25), (("生猪养殖", "水产养殖"), 15), (("蔬菜大棚", "果园"), 30))],
        *[ScorecardBin("peer_review", None, None, p, v) for v, p in
          ((("green",), 60), (("white",), 30), (("grey",), 0))],
        ScorecardBin("customer_segment", None, None, 5, ("farmer",)),
        *[ScorecardBin("tax_grade", None, None, p, v) for v, p in ((("A",), 20), (("B",), 10), (("C", "D"), 0))],
        *ranges("existing_debt", ["10000", "100000"], [20, 10, 0]),
        *ranges("filed_revenue", ["50000", "200000"], [0, 10, 20]),
    ]
    for name in EXTRA_DECIMALS[2:]:
        bins += ranges(name, ["1", "50000", "150000"], [20, 10, 5, 0])
    for name in EXTRA_INTEGERS:
        bins += ranges(name, ["1", "3", "6"], [15, 10, 0, -10])
    grades = (ScorecardGrade("A", 460, Decimal("1.2")), ScorecardGrade("B", 400, Decimal("1.0")),
              ScorecardGrade("C", 340, Decimal("0.8")), ScorecardGrade("D", 280, Decimal("0.5")))
    return ScorecardSpec("BM-SC-FARMER", "farmer", 100, tuple(bins), missing_points=-5, grades=grades)


def context(rule_count: int) -> Any:
    """A ``BatchContext`` at LYRCB built in memory: 沂蒙云贷 enabled with its defaults."""
    import yimeng_cloud_loan.plugin as yimeng

    from nongxin.core.parameters.services import Lpr
    from nongxin.core.plugins.breaker import Breakers
    from nongxin.core.plugins.dispatch import HookResult, InstitutionView
    from nongxin.core.plugins.host import PluginHost
    from nongxin.core.plugins.provenance import Provenance
    from nongxin.core.rules.books import RuleBook
    from nongxin.core.village.engine import BatchContext
    from nongxin.sdk.facts import ADMISSION
    from nongxin.sdk.rules import compile_rule_set
    from nongxin.sdk.types import HookContext

    today = date(2026, 11, 23)
    host = PluginHost(Breakers(5, 60.0))
    host.register(yimeng)
    ancestry = ("SD", "LYRCB")
    own = HookContext("LYRCB", ancestry, yimeng.Settings().load({}), "yimeng_cloud_loan", today)
    view = InstitutionView(host, HookContext("LYRCB", ancestry, {}, "", today), {"yimeng_cloud_loan": own})
    product = yimeng.nongxin_products(own)[0]
    book_rules = rules(rule_count)
    book = RuleBook("LYRCB", "admission", today, book_rules, compile_rule_set(book_rules, ADMISSION))
    cards: HookResult[Any] = HookResult("nongxin_scorecards", "fail_closed")
    cards.values.append(scorecard())
    cards.owners.append(Provenance("bench_scorecards", "1.0.0", "-"))
    return BatchContext(view, "LYRCB", product, "yimeng_cloud_loan", book, cards,
                        Lpr(Decimal("0.0310"), Decimal("0.0360")), today)


def timed(fn: Any, *args: Any) -> tuple[float, float, Any]:
    """(CPU seconds of this process, wall seconds, answer). The CPU time is the headline: the
    machine is shared, and one single-threaded process's CPU time is its cost on one core."""
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn(*args)
    return time.process_time() - cpu, time.perf_counter() - wall, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--one-record", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rules", type=int, default=300)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from nongxin.core.village.engine import evaluate_batch, evaluate_one_by_one
    from nongxin.sdk.scorecards import variables

    ctx = context(args.rules)
    frame = households(args.households)
    check = frame.iloc[:2000]
    pd.testing.assert_frame_equal(evaluate_batch(check, ctx), evaluate_one_by_one(check, ctx))
    one_seconds, one_wall, _ = timed(evaluate_one_by_one, frame.iloc[:args.one_record], ctx)
    runs, walls = [], []
    result = None
    for _ in range(args.repeat):
        seconds, wall, result = timed(evaluate_batch, frame, ctx)
        runs.append(seconds)
        walls.append(wall)
    batch_seconds = statistics.median(runs)
    per_million = batch_seconds * 1_000_000 / args.households
    one_per_million = one_seconds * 1_000_000 / args.one_record
    assert result is not None
    outcomes = result["outcome"].value_counts().to_dict()
    report = {
        "benchmark": "precredit",
        "households": args.households,
        "rules": args.rules,
        "scorecard_variables": len(variables(scorecard())),
        "limit_formula": "yimeng_cloud_loan 1.1.0 nongxin_batch_terms (defaults)",
        "seconds_per_million": round(per_million, 3),
        "batch_runs_seconds": [round(s, 3) for s in runs],
        "batch_runs_wall_seconds": [round(s, 3) for s in walls],
        "one_record_households": args.one_record,
        "one_record_seconds_per_10k": round(one_seconds * 10_000 / args.one_record, 3),
        "one_record_wall_seconds_per_10k": round(one_wall * 10_000 / args.one_record, 3),
        "ratio_vs_one_record": round(one_per_million / per_million, 1),
        "goals": {"seconds_per_million": 10, "ratio_vs_one_record": 500},
        "outcomes": {str(k): int(v) for k, v in outcomes.items()},
        "households_with_rule_hits": int((result["rule_hits"] != "").sum()),
        "rule_hits_per_household": round(float((result["rule_hits"].str.count(",") + (result["rule_hits"] != ""))
                                               .mean()), 3),
        "agreement_checked_on": len(check),
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                    "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "cores_used": 1, "load_average_1m": round(os.getloadavg()[0], 2),
                    "note": "seconds are CPU seconds of one single-threaded process (time.process_time); the "
                            "wall-clock figures are next to them: the 2-core machine was shared with other jobs"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

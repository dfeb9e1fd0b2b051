"""The nightly post-loan scan on a province-sized book: reading the ledger, building the facts
frame, evaluating 500 post-loan rules bank by bank, against the per-loan way, and on Dask.

* A synthetic ledger of ``--loans`` (1,000,000) loans across 10 county banks under 3 cities, loaded
  untimed and set-wise (Core executemany) with one closed business date of snapshots: most loans
  current, about 4% overdue (1 to 400 days). SQLite by default; PostgreSQL when
  ``NONGXIN_BENCH_DATABASE_URL`` names a database (it is emptied).
* 500 post-loan rules: 200 province, 50 per city, 15 per county bank; each bank judges its own book
  (province + its city + its own county rules: 265 rules), thresholds in the tails so hits are a few
  percent of loans.
* Timed phases (medians of ``--repeats``): ``read`` (``core.jobs.ledger.ledger_frame``), ``facts``
  (the POST_LOAN facts frame per bank, ~33 columns, with synthetic bureau and court columns derived
  from the loan id), ``evaluate`` (``evaluate.LocalRunner``, the scan's own path): where the time
  goes. Then the nightly job itself, end to end through the services with the same 500 rules from
  a rules plugin: ``scan.scan`` (its own ledger read and facts frame, the post-loan and collateral
  rule books, warnings and tasks written set-wise, escalation) and ``classification.classify``, on
  the first night (every warning new: the worst case) and on a second run of the date (every hit an
  open warning: the steady state). ``total_seconds_per_million`` is the first night's scan plus
  classification per million loans; ``steady_state_seconds_per_million`` the second run's.
* ``per_loan_ratio``: ``--per-loan`` (10,000) loans done the way a per-loan system does it (each
  loan and its snapshot loaded by id through the ORM, a record built, ``CompiledRuleSet.evaluate``),
  scaled to a million, over the measured phases' seconds per million, in the same run.
* ``dask_speedup_2_vs_1``: ``--dask-loans`` (4,000,000) facts rows written to Parquet untimed
  (``cluster.write_bank``), then read + evaluated timed on a LocalCluster of 1 and of 2 worker
  processes (``cluster.DaskRunner.run_parts``); the same read + evaluate in this process too.

Goals: <= 10 s per million loans end to end on one core, >= 1,000x the per-loan path, 2 workers
>= 1.5x one worker. Writes ``benchmarks/results/nightly_scan.json``. A benchmark, not a test.

    python benchmarks/nightly_scan.py [--loans 1000000] [--per-loan 10000] [--dask-loans 4000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from nongxin.core.credit.models import Loan, LoanSnapshot
from nongxin.core.early_warning import cluster
from nongxin.core.early_warning.evaluate import BankRules, LocalRunner, compiled
from nongxin.core.jobs.ledger import ledger_frame
from nongxin.core.migrate import recreate
from nongxin.core.models import *  # noqa: F401,F403  (every table in the metadata)
from nongxin.sdk.rules import Rule

HERE = Path(__file__).resolve().parent
RESULT = HERE / "results" / "nightly_scan.json"
AS_OF = date(2026, 6, 30)
BATCH = 50_000
CITIES = ("BC1", "BC2", "BC3")
BANKS = tuple(f"BK{i:02d}" for i in range(10))
CITY_OF = {bank: CITIES[i % len(CITIES)] for i, bank in enumerate(BANKS)}
PRODUCTS = ("XIN_E_DAI", "NONG_HU_DAI", "GE_TI_DAI", "CHUANG_YE_DAI", "FANG_DAI")
METHODS = ("equal_installment", "equal_principal", "bullet", "interest_only")


def median_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


# -- the ledger (untimed) -------------------------------------------------------------------------
def load(url: str, loans: int, seed: int) -> sa.Engine:
    """An empty database with 10 county banks (one branch each) and ``loans`` loans closed on AS_OF."""
    recreate(url)
    engine = sa.create_engine(url)
    now = datetime(2026, 6, 30, tzinfo=timezone.utc)
    inst = sa.table("institutions", *map(sa.column, ("id", "code", "name", "level", "parent_id", "path",
                                                     "created_at")))
    rows = [{"id": 1, "code": "BP", "name": "基准省联社", "level": "province", "parent_id": None, "path": "/1/"}]
    ids = {"BP": 1}
    for code in CITIES:
        ids[code] = len(rows) + 1
        rows.append({"id": ids[code], "code": code, "name": code, "level": "city", "parent_id": 1,
                     "path": f"/1/{ids[code]}/"})
    branch_of: dict[int, int] = {}
    for code in BANKS:
        city = ids[CITY_OF[code]]
        ids[code] = len(rows) + 1
        rows.append({"id": ids[code], "code": code, "name": code, "level": "county", "parent_id": city,
                     "path": f"/1/{city}/{ids[code]}/"})
        branch = len(rows) + 1
        rows.append({"id": branch, "code": f"{code}-B1", "name": f"{code}-B1", "level": "branch",
                     "parent_id": ids[code], "path": f"/1/{city}/{ids[code]}/{branch}/"})
        branch_of[ids[code]] = branch
    for row in rows:
        row["created_at"] = now
    g = np.random.default_rng(seed)
    bank_ids = np.array([ids[b] for b in BANKS])
    bank = bank_ids[g.integers(0, len(BANKS), loans)]
    principal = g.integers(1_000_000, 100_000_000, loans)  # fen
    outstanding = principal - g.integers(0, 1, loans) * 0 - (principal * g.random(loans) * 0.6).astype(np.int64)
    overdue = g.random(loans) < 0.04
    overdue_days = np.where(overdue, np.minimum(g.geometric(1 / 40, loans), 400), 0)
    overdue_principal = np.where(overdue, g.integers(1, 2_000_000, loans), 0)
    overdue_interest = np.where(overdue, g.integers(1, 100_000, loans), 0)
    product = g.integers(0, len(PRODUCTS), loans)
    method = g.integers(0, len(METHODS), loans)
    term = g.choice([6, 12, 24, 36], loans)
    disbursed = 720 - (g.random(loans) * 30 * term).astype(np.int64)  # not yet matured on AS_OF
    rate = g.integers(30_000, 90_000, loans)
    loan_t = sa.table("loans", *map(sa.column, (
        "id", "loan_no", "institution_id", "county_bank_id", "borrower_kind", "borrower_id_number", "borrower_name",
        "product_code", "principal", "outstanding", "status", "disbursed_on", "maturity_on", "created_at",
        "term_months", "repayment_method", "annual_rate", "overdue_principal", "overdue_interest", "overdue_days")))
    snap_t = sa.table("loan_snapshots", *map(sa.column, (
        "business_date", "loan_id", "county_bank_id", "status", "outstanding", "overdue_principal",
        "overdue_interest", "penalty_due", "compound_due", "overdue_days")))
    epoch = AS_OF.toordinal() - 720
    with engine.begin() as conn:
        conn.execute(sa.insert(inst), rows)
        for start in range(0, loans, BATCH):
            loan_rows, snap_rows = [], []
            for k in range(start, min(loans, start + BATCH)):
                b = int(bank[k])
                on = date.fromordinal(epoch + int(disbursed[k]))
                loan_rows.append({
                    "id": k + 1, "loan_no": f"L{k:09d}", "institution_id": branch_of[b], "county_bank_id": b,
                    "borrower_kind": "resident_id", "borrower_id_number": f"B{k:017d}", "borrower_name": "借款人",
                    "product_code": PRODUCTS[product[k]], "principal": int(principal[k]),
                    "outstanding": int(outstanding[k]), "status": "active", "disbursed_on": on,
                    "maturity_on": date.fromordinal(on.toordinal() + 30 * int(term[k])), "created_at": now,
                    "term_months": int(term[k]), "repayment_method": METHODS[method[k]],
                    "annual_rate": int(rate[k]), "overdue_principal": int(overdue_principal[k]),
                    "overdue_interest": int(overdue_interest[k]), "overdue_days": int(overdue_days[k])})
                snap_rows.append({
                    "business_date": AS_OF, "loan_id": k + 1, "county_bank_id": b, "status": "active",
                    "outstanding": int(outstanding[k]), "overdue_principal": int(overdue_principal[k]),
                    "overdue_interest": int(overdue_interest[k]), "penalty_due": 0, "compound_due": 0,
                    "overdue_days": int(overdue_days[k])})
            conn.execute(sa.insert(loan_t), loan_rows)
            conn.execute(sa.insert(snap_t), snap_rows)
        conn.execute(sa.insert(sa.table("day_closes", *map(sa.column, (
            "county_bank_id", "business_date", "loans", "counts", "seconds", "finished_at")))),
            [{"county_bank_id": int(b), "business_date": AS_OF, "loans": 0, "counts": "{}", "seconds": 0.0,
              "finished_at": now} for b in bank_ids])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    return engine


# -- the facts frame (timed) ----------------------------------------------------------------------
def _hash(ids: np.ndarray, salt: int) -> np.ndarray:
    """A deterministic pseudo-random uint64 per loan id (the synthetic bureau and court facts)."""
    x = ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt * 0xBF58476D1CE4E5B9 % 2**64)
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(29))


def synthetic_external(ids: np.ndarray) -> dict[str, np.ndarray]:
    """Bureau summary and court-list facts per loan id (stand-ins for part A's and part E's joins)."""
    u = [(_hash(ids, s) % np.uint64(1_000_000)).astype(np.int64) for s in range(1, 9)]
    return {
        "bureau_loan_approval_queries_1m": u[0] % 4, "bureau_loan_approval_queries_3m": u[0] % 7,
        "bureau_queries_6m": u[1] % 13, "bureau_queries_12m": u[1] % 21,
        "bureau_worst_overdue_days_24m": np.where(u[2] < 20_000, u[2] % 200, 0),
        "bureau_current_overdue_amount": np.where(u[3] < 20_000, u[3] * 10, 0),
        "bureau_non_performing_accounts": (u[4] < 5_000).astype(np.int64),
        "bureau_outstanding_debt": u[5] * 100, "bureau_guarantees_given": np.where(u[6] < 100_000, u[6] * 50, 0),
        "bureau_card_utilization": u[7] % 10_001 // 100,  # decimal 0.00..1.00 as hundredths
        "court_enforcement": u[2] % 1000 < 2, "court_consumption_restriction": u[3] % 1000 < 2,
        "court_dishonest_debtor": u[4] % 1000 < 1,
        "bureau_open_enforcement": u[5] % 1000 < 3, "bureau_consumption_restriction": u[6] % 1000 < 3,
        "bureau_dishonest_debtor": u[7] % 1000 < 1,
    }


TIERS = np.array(["normal", "special_mention", "substandard", "doubtful", "loss"], dtype=object)


def facts_frame(ledger: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The POST_LOAN facts of every loan, one frame per county bank (int64 fen, categorical text)."""
    def ints(name: str) -> np.ndarray:
        return ledger[name].to_numpy(np.int64, na_value=0)

    def cat(name: str) -> pd.Categorical:  # dictionary-encoded in Arrow: no Python string per row
        encoded = pa.chunked_array(ledger[name].array._pa_array).combine_chunks().dictionary_encode()
        return pd.Categorical.from_codes(encoded.indices.to_numpy(zero_copy_only=False),
                                         encoded.dictionary.to_pylist())

    ids = ints("loan_id")
    days = ints("overdue_days")
    as_of = (AS_OF - date(1970, 1, 1)).days
    maturity = ledger["maturity_on"].astype("datetime64[s]").to_numpy().astype("datetime64[D]")
    tier = np.select([days > 360, days > 270, days > 90, days > 0], [4, 3, 2, 1], 0)
    columns: dict[str, Any] = {
        "loan_id": ids, "overdue_days": days,
        "overdue_amount": ints("overdue_principal_fen") + ints("overdue_interest_fen"),
        "outstanding": ints("outstanding_fen"), "principal": ints("principal_fen"),
        "five_tier": pd.Categorical.from_codes(tier, list(TIERS)),
        "maturity_on": maturity, "as_of": np.full(len(ids), np.datetime64(AS_OF, "D")),
        "product_code": cat("product"), "collateral_value": np.zeros(len(ids), np.int64),
        "overdue_principal": ints("overdue_principal_fen"), "overdue_interest": ints("overdue_interest_fen"),
        "days_to_maturity": maturity.astype(np.int64) - as_of,
        "repayment_method": cat("repayment_method"),
        "customer_kind": pd.Categorical.from_codes((ids % 10 == 0).astype(np.int8), ["individual", "enterprise"]),
        "branch": cat("branch"), "restructured": ids % 500 == 0,
        **synthetic_external(ids),
    }
    frame = pd.DataFrame(columns)
    banks = cat("county_bank")
    order = np.argsort(banks.codes, kind="stable")  # one gather, then slices per bank
    frame = frame.take(order)
    bounds = np.searchsorted(banks.codes[order], np.arange(len(banks.categories) + 1))
    by_code = {code: frame.iloc[bounds[i]:bounds[i + 1]].reset_index(drop=True)
               for i, code in enumerate(banks.categories)}
    return {bank: by_code.get(bank, frame.iloc[:0]) for bank in BANKS}


# -- the rules ------------------------------------------------------------------------------------
def make_rule(code: str, level: str, owner: str, rng: random.Random) -> Rule:
    """One tail rule of the kinds a post-loan rule book holds (rarely true)."""
    kind = rng.randrange(12)
    r = rng.randrange
    expression = [
        f"overdue_days > {r(90, 400)}",
        f"overdue_days > {r(60, 120)} and outstanding > {r(400_000, 600_000)}.00",
        f"overdue_amount > {r(18_000, 20_000)}.00",
        f"overdue_days > 0 and days_to_maturity < {r(3, 20)}",
        f"bureau_queries_6m >= {r(12, 13)} and bureau_loan_approval_queries_1m >= {r(2, 4)}",
        f"bureau_worst_overdue_days_24m > {r(150, 200)}",
        f"bureau_current_overdue_amount > {r(100_000, 200_000)}.00",
        f'five_tier in ["doubtful", "loss"] and product_code == "{rng.choice(PRODUCTS)}"',
        f"court_enforcement and outstanding > {r(100_000, 900_000)}.00",
        f"bureau_card_utilization > 0.{r(97, 100):02d} and bureau_queries_12m > {r(17, 20)}",
        f'overdue_days > {r(10, 60)} and repayment_method == "{rng.choice(METHODS)}" and customer_kind == "enterprise"',
        f"bureau_non_performing_accounts > 0 and overdue_days > {r(0, 30)}",
    ][kind]
    if rng.random() < 0.8:  # most rules are scoped to one product and repayment method
        expression = (f'product_code == "{rng.choice(PRODUCTS)}" and repayment_method == "{rng.choice(METHODS)}" '
                      f"and ({expression})")
    colour = rng.choices(["red", "orange", "yellow"], [2, 3, 5])[0]
    return Rule(code, code, expression, "post_loan", colour, level, owner, version=rng.randrange(1, 4))


def make_books(seed: int) -> dict[str, tuple[Rule, ...]]:
    """500 rules: 200 province, 50 per city, 15 per county bank; each bank's book."""
    rng = random.Random(seed)
    province = [make_rule(f"P{k:03d}", "province", "BP", rng) for k in range(200)]
    city = {c: [make_rule(f"{c}-{k:02d}", "city", c, rng) for k in range(50)] for c in CITIES}
    county = {b: [make_rule(f"{b}-{k:02d}", "county", b, rng) for k in range(15)] for b in BANKS}
    return {b: tuple(province + city[CITY_OF[b]] + county[b]) for b in BANKS}


# -- the nightly job end to end, through the services ----------------------------------------------
def _rules_plugin(books: dict[str, tuple[Rule, ...]]) -> ModuleType:
    """A rules plugin offering all 500 rules; each bank's rule book keeps those its ancestry owns
    (province, its city, itself), exactly as with the province's and counties' real packs."""
    from nongxin.sdk import PluginInfo, PluginKind, hookimpl

    every = sorted({r for book in books.values() for r in book}, key=lambda r: r.code)
    mod = ModuleType("bench_post_loan_rules")
    mod.PLUGIN = PluginInfo(name="bench_post_loan_rules", version="1.0.0", kind=PluginKind.RULES,  # type: ignore[attr-defined]
                            enabled_by_default=True, description="benchmark rules")

    @hookimpl
    def nongxin_rules(ctx: Any) -> list[Rule]:
        return every

    mod.nongxin_rules = nongxin_rules  # type: ignore[attr-defined]
    return mod


def nightly_phases(url: str, books: dict[str, tuple[Rule, ...]]) -> dict[str, Any]:
    """``scan.scan`` (ledger read, facts, the post-loan and collateral rule books, warnings and
    tasks written, escalation) and ``classification.classify`` over every bank, on the first night
    (every warning new) and on the next run of the same date (every hit an open warning: the
    steady state of a nightly scan, where most hits are warnings already being followed up)."""
    from nongxin.core.clock import Clock
    from nongxin.core.config import Settings
    from nongxin.core.early_warning.classification import classify
    from nongxin.core.early_warning.scan import scan
    from nongxin.core.runtime import bootstrap

    settings = Settings(database_url=url, audit_key="nongxin-benchmark-audit-key-0123456789abcdef")
    runtime = bootstrap(settings, plugins=[_rules_plugin(books)], discover=False, clock=Clock(fixed=AS_OF))
    out: dict[str, Any] = {}
    for night in ("first_night", "next_run"):
        started = time.perf_counter()
        report = scan(runtime, AS_OF)
        scanned = time.perf_counter() - started
        assert not report.failed, [b.failures for b in report.banks if b.failures]
        started = time.perf_counter()
        classes = classify(runtime, AS_OF)
        classified = time.perf_counter() - started
        out[night] = {"scan_seconds": round(scanned, 3), "classify_seconds": round(classified, 3),
                      "warnings_new": sum(b.new for b in report.banks),
                      "warnings_updated": sum(b.updated for b in report.banks),
                      "tasks_opened": sum(b.tasks_opened for b in report.banks),
                      "class_changes": sum(b.changes for b in classes.banks)}
        print(night, out[night], flush=True)
    runtime.engine.dispose()
    return out


# -- the per-loan way -----------------------------------------------------------------------------
def per_loan_seconds(engine: sa.Engine, books: dict[str, tuple[Rule, ...]], count: int, total: int,
                     seed: int) -> tuple[float, int]:
    """Seconds for ``count`` loans, each loaded by id through the ORM and judged record by record."""
    rng = random.Random(seed)
    ids = sorted(rng.sample(range(1, total + 1), min(count, total)))
    external = synthetic_external(np.array(ids, np.int64))
    bank_codes = {i: c for i, c in sa.orm.Session(engine).execute(
        sa.text("SELECT id, code FROM institutions WHERE level = 'county'")).all()}
    rule_sets = {b: compiled("post_loan", rules) for b, rules in books.items()}
    cent = Decimal("0.01")
    hits = 0
    started = time.perf_counter()
    with Session(engine) as session:
        for n, loan_id in enumerate(ids):
            loan = session.get(Loan, loan_id)
            snap = session.get(LoanSnapshot, (AS_OF, loan_id))
            assert loan is not None and snap is not None
            days = snap.overdue_days
            record: dict[str, Any] = {
                "overdue_days": days, "overdue_amount": snap.overdue_principal + snap.overdue_interest,
                "outstanding": snap.outstanding, "principal": loan.principal,
                "five_tier": TIERS[4 if days > 360 else 3 if days > 270 else 2 if days > 90 else 1 if days else 0],
                "maturity_on": loan.maturity_on, "as_of": AS_OF, "product_code": loan.product_code,
                "collateral_value": Decimal(0), "overdue_principal": snap.overdue_principal,
                "overdue_interest": snap.overdue_interest,
                "days_to_maturity": (loan.maturity_on - AS_OF).days if loan.maturity_on else None,
                "repayment_method": loan.repayment_method,
                "customer_kind": "enterprise" if loan_id % 10 == 0 else "individual",
                "restructured": loan_id % 500 == 0,
            }
            for name, values in external.items():
                v = values[n]
                record[name] = (bool(v) if values.dtype == bool else
                                Decimal(int(v)) * cent if name in ("bureau_current_overdue_amount",
                                                                   "bureau_outstanding_debt",
                                                                   "bureau_guarantees_given",
                                                                   "bureau_card_utilization") else int(v))
            hits += len(rule_sets[bank_codes[loan.county_bank_id]].evaluate(record))
            if n % 500 == 499:
                session.expunge_all()
    return time.perf_counter() - started, hits


# -- Dask -----------------------------------------------------------------------------------------
def dask_figures(facts: dict[str, pd.DataFrame], books: dict[str, tuple[Rule, ...]], loans: int,
                 repeats: int) -> dict[str, Any]:
    """Parquet of ``loans`` facts rows (the 1M book repeated with new ids) written untimed, then
    read + evaluate timed in this process and on 1 and 2 local worker processes."""
    one = sum(len(f) for f in facts.values())
    copies = max(1, -(-loans // one))
    out: dict[str, Any] = {"loans": 0}
    with tempfile.TemporaryDirectory(prefix="nongxin-bench-parquet-") as folder:
        root = Path(folder)
        written = []
        for bank, frame in facts.items():
            big = pd.concat([frame.assign(loan_id=frame["loan_id"] + c * 10 * one) for c in range(copies)],
                            ignore_index=True)
            job = BankRules(bank, "post_loan", books[bank])
            written.append((job, cluster.write_bank(big, job, root, workers=2)))
            out["loans"] += len(big)
        out["files"] = sum(len(parts) for _, parts in written)
        out["parquet_bytes"] = sum(os.path.getsize(p.path) for _, parts in written for p in parts)

        def in_process() -> int:
            return sum(len(cluster.evaluate_part(p, job)[0]) for job, parts in written for p in parts)

        in_process()  # compile
        seconds, hits = median_seconds(in_process, repeats)
        out["in_process_seconds"] = round(seconds, 3)
        out["hits"] = hits
        for workers in (1, 2):
            with cluster.make_runner(workers=workers, parquet_dir=root) as runner:
                def run() -> int:
                    return sum(len(h) for _, h in runner.run_parts(written))

                assert run() == hits, "the Dask run and the in-process run disagree"  # warm: scatter, compile
                seconds, _ = median_seconds(run, repeats)
                from distributed import get_task_stream

                with get_task_stream(runner.client) as stream:  # one more run: where the time went
                    run()
                busy = sum(b["stop"] - b["start"] for t in stream.data for b in t["startstops"]
                           if b["action"] == "compute")
            out[f"workers_{workers}_seconds"] = round(seconds, 3)
            # summed task compute time: if it grows with the second worker, the cores were not free
            out[f"workers_{workers}_task_compute_seconds"] = round(busy, 3)
            print(f"dask {workers} worker(s): {seconds:.2f} s for {out['loans']} loans", flush=True)
    out["speedup_2_vs_1"] = round(out["workers_1_seconds"] / out["workers_2_seconds"], 2)
    out["speedup_2_vs_in_process"] = round(out["in_process_seconds"] / out["workers_2_seconds"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--per-loan", type=int, default=10_000)
    parser.add_argument("--dask-loans", type=int, default=4_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    url = os.environ.get("NONGXIN_BENCH_DATABASE_URL")
    result: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine(),
                              "pandas": pd.__version__, "cpus": os.cpu_count(), "loans": args.loans,
                              "repeats": args.repeats, "seed": args.seed,
                              "load_average_at_start": os.getloadavg()[0]}
    books = make_books(args.seed)
    result["rules"] = {"total": 200 + 50 * len(CITIES) + 15 * len(BANKS), "province": 200,
                       "per_city": 50, "per_county": 15, "per_bank_book": len(books[BANKS[0]])}
    with tempfile.TemporaryDirectory() as folder:
        url = url or f"sqlite:///{folder}/nightly.db"
        result["database"] = sa.make_url(url).get_backend_name()
        started = time.perf_counter()
        engine = load(url, args.loans, args.seed)
        result["load_seconds_untimed"] = round(time.perf_counter() - started, 1)
        print(f"loaded {args.loans} loans in {result['load_seconds_untimed']} s", flush=True)

        read, ledger = median_seconds(lambda: ledger_frame(engine, AS_OF), args.repeats)
        assert len(ledger) == args.loans
        build, facts = median_seconds(lambda: facts_frame(ledger), args.repeats)
        jobs = [(BankRules(b, "post_loan", books[b]), facts[b]) for b in BANKS]
        for job, _ in jobs:
            compiled(job.stage, job.rules)  # compiled once per process, as in the scan
        evaluate, hits = median_seconds(lambda: {j.county_bank: h for j, h in LocalRunner().run(jobs)},
                                        args.repeats)
        per_million = 1_000_000 / args.loans
        hit_count = sum(len(h) for h in hits.values())
        hit_loans = sum(h["loan_id"].nunique() for h in hits.values())
        nights = nightly_phases(url, books)
        first = nights["first_night"]
        phases = {"read": read, "facts": build, "evaluate": evaluate,
                  "scan_end_to_end": first["scan_seconds"], "classify": first["classify_seconds"]}
        result["columns"] = int(facts[BANKS[0]].shape[1])
        result["phase_seconds"] = {k: round(v, 3) for k, v in phases.items()}
        result["phase_seconds_per_million"] = {k: round(v * per_million, 3) for k, v in phases.items()}
        result["nightly"] = nights
        # the scan's own read, facts and evaluation are inside scan_end_to_end; the isolated phases
        # above show where its time goes, and write = the rest
        result["write_seconds_first_night"] = round(first["scan_seconds"] - read - build - evaluate, 3)
        total = (first["scan_seconds"] + first["classify_seconds"]) * per_million
        steady = (nights["next_run"]["scan_seconds"] + nights["next_run"]["classify_seconds"]) * per_million
        result["total_seconds_per_million"] = round(total, 2)
        result["total_covers"] = "scan.scan (read, facts, rules, warnings and tasks written, escalation) + classify, first night"
        result["steady_state_seconds_per_million"] = round(steady, 2)
        result["hits"] = hit_count
        result["hit_loans"] = hit_loans
        result["hit_loan_fraction"] = round(hit_loans / args.loans, 4)
        print("phases:", result["phase_seconds"], "hits", hit_count, "on", hit_loans, "loans", flush=True)

        per_loan, per_loan_hits = per_loan_seconds(engine, books, args.per_loan, args.loans, args.seed)
        per_loan_per_million = per_loan / min(args.per_loan, args.loans) * 1_000_000
        result["per_loan"] = {"loans": min(args.per_loan, args.loans), "seconds": round(per_loan, 3),
                              "hits": per_loan_hits, "seconds_per_million": round(per_loan_per_million, 1)}
        result["per_loan_ratio"] = round(per_loan_per_million / total, 1)
        print("per loan:", result["per_loan"], "ratio", result["per_loan_ratio"], flush=True)
        engine.dispose()

    result["dask"] = dask_figures(facts, books, args.dask_loans, args.repeats)
    result["dask_speedup_2_vs_1"] = result["dask"]["speedup_2_vs_1"]
    result["goals"] = {
        "total_seconds_per_million<=10": result["total_seconds_per_million"] <= 10,
        "per_loan_ratio>=1000": result["per_loan_ratio"] >= 1000,
        "dask_speedup_2_vs_1>=1.5": result["dask_speedup_2_vs_1"] >= 1.5,
        "note": "total: the first night, every warning new, end to end through scan.scan and classify",
    }
    result["load_average_at_end"] = os.getloadavg()[0]  # the machine is shared: figures are noisy under load
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

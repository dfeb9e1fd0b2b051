"""The Dask runner gives exactly LocalRunner's hits (core/early_warning/cluster.py).

One LocalCluster of two worker processes per module. ``scenario()`` builds (job, frame) pairs; a
test compares both runners on them, so the end-to-end scan test can reuse ``same_hits``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from nongxin.core.early_warning import cluster
from nongxin.core.early_warning.evaluate import BankRules, LocalRunner
from nongxin.sdk.rules import Rule

Jobs = list[tuple[BankRules, pd.DataFrame]]


def rule(code: str, expression: str, outcome: str, version: int = 1) -> Rule:
    return Rule(code, code, expression, "post_loan", outcome, "county", "BANK", version=version)


def facts(rows: int, seed: int, first_id: int = 1) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    overdue = np.where(g.random(rows) < 0.05, g.integers(1, 400, rows), 0)
    return pd.DataFrame({
        "loan_id": np.arange(first_id, first_id + rows, dtype=np.int64),
        "overdue_days": overdue.astype(np.int64),
        "outstanding": g.integers(0, 50_000_000, rows, dtype=np.int64),  # fen
        "overdue_amount": np.where(overdue > 0, g.integers(100, 1_000_000, rows), 0).astype(np.int64),
        "five_tier": pd.Series(g.choice(["normal", "special_mention", "substandard"], rows), dtype=object),
        "product_code": pd.Series(g.choice(["QCEL", "YMCL", "AGRI"], rows), dtype=object),
        "unused_text": pd.Series(["x"] * rows, dtype=object),
    })


BOOK_A = (rule("PL-OD30", "overdue_days > 30", "orange"), rule("PL-OD90", "overdue_days > 90", "red", 3),
          rule("PL-BIG", "outstanding > 450000.00 and overdue_days > 0", "yellow"))
BOOK_B = (rule("PL-OD1", "overdue_days >= 1", "yellow", 2),
          rule("PL-SUB", 'five_tier in ["substandard"] and product_code == "AGRI"', "orange"))


def scenario() -> Jobs:
    """Three banks with different books, an empty bank and a bank without rules."""
    return [
        (BankRules("BANK-A", "post_loan", BOOK_A), facts(5_000, 1)),
        (BankRules("BANK-B", "post_loan", BOOK_B), facts(3_000, 2, first_id=10_000)),
        (BankRules("BANK-C", "post_loan", BOOK_A + BOOK_B), facts(1_000, 3, first_id=20_000)),
        (BankRules("BANK-EMPTY", "post_loan", BOOK_A), facts(0, 4)),
        (BankRules("BANK-NORULES", "post_loan", ()), facts(100, 5, first_id=30_000)),
    ]


def same_hits(runner: cluster.DaskRunner, jobs: Jobs) -> dict[str, pd.DataFrame]:
    """Run both runners on ``jobs``; assert identical hits bank by bank and return them."""
    local = {job.county_bank: hits for job, hits in LocalRunner().run(jobs)}
    remote = {job.county_bank: hits for job, hits in runner.run(jobs)}
    assert remote.keys() == local.keys()
    for bank, hits in local.items():
        pd.testing.assert_frame_equal(remote[bank], hits, check_dtype=True, obj=bank)
    return remote


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.DaskRunner]:
    with cluster.make_runner(workers=2, parquet_dir=tmp_path_factory.mktemp("parquet")) as r:
        yield r


def test_dask_hits_equal_local_hits_for_several_banks(runner: cluster.DaskRunner) -> None:
    hits = same_hits(runner, scenario())
    assert len(hits["BANK-A"]) and len(hits["BANK-B"]) and len(hits["BANK-C"])
    assert hits["BANK-EMPTY"].empty and hits["BANK-NORULES"].empty
    assert set(hits["BANK-A"]["colour"]) == {"red", "orange", "yellow"}
    assert set(hits["BANK-A"].loc[hits["BANK-A"]["rule_code"] == "PL-OD90", "rule_version"]) == {3}


def test_big_bank_is_split_over_files_each_with_only_the_needed_columns(runner: cluster.DaskRunner) -> None:
    job = BankRules("BANK-BIG", "post_loan", BOOK_B)
    frame = facts(60_000, 7)
    old = runner.rows_per_file
    runner.rows_per_file = 25_000
    try:
        same_hits(runner, [(job, frame)])
        (_, parts), = runner.write([(job, frame)])
    finally:
        runner.rows_per_file = old
    assert len(parts) == 3 and sum(p.rows for p in parts) == 60_000
    assert len(list((runner.parquet_dir / "BANK-BIG").glob("*.parquet"))) == 3
    read = cluster.read_part(parts[0])
    assert list(read.columns) == ["loan_id", "five_tier", "overdue_days", "product_code"]  # not outstanding, unused_text
    assert isinstance(read["five_tier"].dtype, pd.CategoricalDtype)


def test_a_bank_is_split_for_two_workers_even_under_the_file_size(runner: cluster.DaskRunner) -> None:
    (_, parts), = runner.write([(BankRules("BANK-TWO", "post_loan", BOOK_A), facts(30_000, 8))])
    assert len(parts) == 2


def test_a_failure_on_a_worker_names_the_bank(runner: cluster.DaskRunner) -> None:
    job = BankRules("BANK-BROKEN", "post_loan", BOOK_A)
    (_, parts), = runner.write([(job, facts(100, 9))])
    Path(parts[0].path).write_bytes(b"not parquet")
    with pytest.raises(cluster.ClusterScanError, match="county bank BANK-BROKEN: evaluating .*part-00000"):
        list(runner.run_parts([(job, parts)]))


def test_make_runner_needs_exactly_one_of_address_and_workers() -> None:
    with pytest.raises(ValueError, match="either a scheduler address"):
        with cluster.make_runner():
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="either a scheduler address"):
        with cluster.make_runner(address="tcp://127.0.0.1:1", workers=1):
            pass  # pragma: no cover


def test_runner_for_the_scan_options() -> None:
    import click

    with cluster.runner_for() as local:
        assert isinstance(local, LocalRunner)
    with pytest.raises(click.UsageError, match="--parquet-dir needs --dask or --workers"):
        with cluster.runner_for(parquet_dir="/tmp/x"):
            pass  # pragma: no cover
    with pytest.raises(click.UsageError, match="not both"):
        with cluster.runner_for(dask="tcp://127.0.0.1:1", workers=1):
            pass  # pragma: no cover
    with pytest.raises(click.BadParameter, match="not a scheduler address"):
        with cluster.runner_for(dask="127.0.0.1:8786"):
            pass  # pragma: no cover


def test_cluster_options_parse_into_runner_for(tmp_path: Path) -> None:
    import click
    from click.testing import CliRunner

    seen: dict[str, object] = {}

    @click.command()
    @cluster.cluster_options
    def scan(dask: str | None, workers: int | None, parquet_dir: str | None) -> None:
        seen.update(dask=dask, workers=workers, parquet_dir=parquet_dir)

    result = CliRunner().invoke(scan, ["--dask", "tcp://h:8786", "--parquet-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen == {"dask": "tcp://h:8786", "workers": None, "parquet_dir": str(tmp_path)}
    assert CliRunner().invoke(scan, ["--workers", "0"]).exit_code == 2


def test_run_is_lazy_and_submits_every_bank_before_awaiting_the_first(runner: cluster.DaskRunner) -> None:
    jobs = scenario()[:3]
    seen: list[str] = []

    def frames() -> Iterator[tuple[BankRules, pd.DataFrame]]:
        for job, frame in jobs:
            seen.append(job.county_bank)
            yield job, frame

    results = runner.run(frames())
    assert seen == []  # lazy, like LocalRunner
    first = next(results)
    assert first[0].county_bank == "BANK-A" and seen == ["BANK-A", "BANK-B", "BANK-C"]
    assert [j.county_bank for j, _ in results] == ["BANK-B", "BANK-C"]


def test_a_scan_on_the_cluster_writes_the_warnings_the_single_process_scan_would(
        runner: cluster.DaskRunner, nongxin_app: object, nongxin_demo: object) -> None:
    """End to end through ``scan.scan``: each bank's real ledger frame goes to the cluster, and the
    same frame is judged here too; the hits must agree bank by bank, and the warnings written are
    exactly the local hits."""
    import sqlalchemy as sa

    from nongxin.core.db import UnitOfWork
    from nongxin.core.early_warning import scan
    from nongxin.core.early_warning.models import Warning
    from nongxin.core.testing import make_overdue, open_test_loan

    app = nongxin_app
    for place, days in (("JNRCB-LX", 45), ("JNRCB-LX", 120), ("JNRCB-LX", 0), ("LYRCB-LS", 400), ("TARCB-TS", 10)):
        loan_no = open_test_loan(app, place=place, manager={"JNRCB-LX": "jinan.cm", "LYRCB-LS": "linyi.cm",
                                                             "TARCB-TS": "taian.cm"}[place])
        if days:
            make_overdue(app, loan_no, days=days)
    local: dict[str, set[tuple[int, str]]] = {}

    class Both:
        def run(self, jobs):  # type: ignore[no-untyped-def]
            jobs = list(jobs)
            here = {job.county_bank: hits for job, hits in LocalRunner().run(jobs)}
            for job, hits in runner.run(jobs):
                pd.testing.assert_frame_equal(hits, here[job.county_bank], obj=job.county_bank)
                local[job.county_bank] = set(zip(here[job.county_bank]["loan_id"], here[job.county_bank]["rule_code"]))
                yield job, hits

    runtime = app.extensions["nongxin"]  # type: ignore[attr-defined]
    report = scan.scan(runtime, runner=Both())
    assert not report.failed and {b.county_bank for b in report.banks} >= {"JNRCB", "LYRCB", "TARCB"}
    with UnitOfWork(runtime.sessions, write=False) as unit:
        written = {(w.subject_id, w.rule_code) for w in unit.session.execute(
            sa.select(Warning).where(Warning.subject_kind == "loan")).scalars()}
    expected = set().union(*local.values())
    assert written == expected and len(expected) >= 4

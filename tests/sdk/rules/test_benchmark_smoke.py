"""The benchmark script runs end to end at tiny size and writes every reported key."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "rules.py"
KEYS = {"single_record_p50_us", "single_record_p99_us", "baseline_name", "baseline_p50_us",
        "speedup_vs_baseline", "batch_rows", "batch_seconds", "batch_extra_peak_bytes", "frame_bytes",
        "compile_seconds", "backtest_seconds_per_million"}


def test_benchmark_main_writes_json(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_rules", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "rules.json"
    mod.main(["--rows", "2000", "--record-rules", "50", "--batch-rules", "20", "--records", "50",
              "--baseline-records", "2", "--backtest-loans", "2000", "--backtest-repeats", "1", "--out", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert KEYS <= data.keys()
    assert data["batch_rows"] == 2000

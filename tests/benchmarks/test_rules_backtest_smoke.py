"""The rules benchmark's backtest figure runs end to end at tiny size, through the facts store and
the backtest service, and keeps the file's other figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "rules.py"


def test_backtest_only_adds_its_key_and_keeps_the_others(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_rules", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "rules.json"
    out.write_text(json.dumps({"batch_seconds": 0.4}), encoding="utf-8")
    mod.main(["--backtest-only", "--backtest-loans", "3000", "--backtest-repeats", "2", "--out", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["batch_seconds"] == 0.4 and data["backtest_seconds_per_million"] > 0
    run = data["backtest"]
    assert run["store"] == "synthetic" and run["source"] == "facts_store" and run["population"] == 3000
    assert 0 < run["hits"] < 3000 and len(run["runs_seconds"]) == 2

"""The dispatch benchmark runs end to end at tiny size and writes every reported key."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "plugin_dispatch.py"
KEYS = {"implementations", "per_institution_ns", "raw_pluggy_ns", "raw_subset_ns", "ratio_vs_raw_pluggy",
        "ratio_vs_raw_subset", "overhead_per_impl_ns"}


def test_benchmark_main_writes_json(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_plugin_dispatch", BENCH)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path / "plugin_dispatch.json"
    mod.main(["--iterations", "50", "--repeats", "3", "--out", str(out)])
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["results"]) == {"1", "5", "20"}
    for count, entry in data["results"].items():
        assert KEYS <= entry.keys() and entry["implementations"] == int(count)
        assert entry["raw_pluggy_ns"] > 0 and entry["per_institution_ns"] > 0
        assert entry["ratio_vs_raw_pluggy"] > 0 and entry["ratio_vs_raw_subset"] > 0

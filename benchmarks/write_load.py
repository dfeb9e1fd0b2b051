"""Concurrent writes through a real server: throughput, latency and errors by number of writers.

Each run seeds a fresh demo database, serves it with waitress on 127.0.0.1 and sends mixed writes
(plugin switches and settings, bureau authorizations and queries, new users; see
``nongxin.core.loadgen``) from 1, 2, 8 and 16 client threads at once. SQLite always; PostgreSQL too
when ``NONGXIN_BENCH_DATABASE_URL`` names a database (it is emptied first). Each configuration runs
``--repeats`` times; the figures are medians over the repeats (requests/s, p50 and p99 latency in
ms), errors are summed.

    python benchmarks/write_load.py [--requests 400] [--repeats 3] [--threads 1,2,8,16]

Writes ``benchmarks/results/write_load.json``:
``{"runs": [{"database": "sqlite", "threads": 8, "requests": N, "errors": N, "rps": X, "p50_ms": X,
"p99_ms": X}, ...]}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from nongxin.core import demo, loadgen
from nongxin.core.app import create_app
from nongxin.core.config import Settings
from nongxin.core.db import UnitOfWork
from nongxin.core.migrate import recreate

RESULTS = Path(__file__).parent / "results" / "write_load.json"


def one_run(url: str, threads: int, requests: int, run_id: str, progress: Progress) -> dict[str, Any]:
    recreate(url)
    settings = Settings(database_url=url, environment="testing", secret_key="bench-secret-" + "x" * 32,
                        audit_key="bench-audit-key-" + "y" * 32)
    app = create_app(settings)
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        tokens = {u.username: u.token for u in demo.seed(unit)}
    per_thread = max(1, requests // threads)
    task = progress.add_task(f"{app.extensions['nongxin'].engine.dialect.name} x{threads}", total=per_thread * threads)
    with loadgen.Server(app, threads=max(8, threads)) as server:
        report = loadgen.run(server.port, tokens, threads=threads, per_thread=per_thread, run_id=run_id,
                             progress=lambda n: progress.advance(task, n))
    progress.remove_task(task)
    app.extensions["nongxin"].engine.dispose()
    return report.figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="writes per run, split over the threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2,8,16")
    args = parser.parse_args(argv)
    counts = [int(t) for t in args.threads.split(",")]
    databases = []
    with tempfile.TemporaryDirectory() as tmp:
        databases.append(("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"))
        if os.environ.get("NONGXIN_BENCH_DATABASE_URL"):
            databases.append(("postgresql", os.environ["NONGXIN_BENCH_DATABASE_URL"]))
        runs = []
        with Progress(transient=True) as progress:
            for name, url in databases:
                for threads in counts:
                    samples = [one_run(url, threads, args.requests, f"{threads}-{r}", progress)
                               for r in range(args.repeats)]
                    runs.append({
                        "database": name, "threads": threads,
                        "requests": sum(s["requests"] for s in samples),
                        "errors": sum(s["errors"] for s in samples),
                        "rps": statistics.median(s["rps"] for s in samples),
                        "p50_ms": statistics.median(s["p50_ms"] for s in samples),
                        "p99_ms": statistics.median(s["p99_ms"] for s in samples),
                        "repeats": args.repeats,
                    })
    table = Table(title="mixed writes through waitress on 127.0.0.1 (medians over repeats)")
    for column in ("database", "threads", "requests", "errors", "rps", "p50_ms", "p99_ms"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(*(str(run[c]) for c in ("database", "threads", "requests", "errors", "rps", "p50_ms", "p99_ms")))
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "runs": runs,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

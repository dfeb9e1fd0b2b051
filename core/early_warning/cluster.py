"""The scan's rule evaluation on a Dask cluster: the same ``evaluate.evaluate`` on worker processes.

The promise: a :class:`DaskRunner` is an ``evaluate.Runner`` whose hits are exactly those of
``LocalRunner`` on the same (job, frame) pairs (``tests/core/early_warning/test_cluster.py``).
The driver writes each county bank's facts frame to Parquet (only the key and the columns the
bank's rules read; text columns as dictionary-encoded categoricals), under
``<parquet_dir>/<bank>/part-NNNNN.parquet``, split so that no file holds more than
``rows_per_file`` rows and a big bank spans at least as many files as there are workers. It then
submits one task per file: the worker reads its file and calls ``evaluate.evaluate(frame, job)``,
and sends back compact hits (int64 keys and int16 rule indexes); the driver maps the indexes back
to rule code, version and colour. Each bank's rules travel to every worker once (``scatter``,
broadcast) and compile once per worker process (``evaluate.compiled`` is cached).

``parquet_dir`` must be readable by every worker under the same path (shared storage on a real
cluster); without one, a temporary directory is used and removed afterwards (only right for a
local cluster). A failure on a worker surfaces as :class:`ClusterScanError` naming the bank and
file. ``make_runner(address=...)`` connects to a running scheduler; ``make_runner(workers=N)``
starts a local cluster of N single-threaded worker processes and closes it on exit.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import click

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .evaluate import BankRules, LocalRunner, Runner, compiled, evaluate

__all__ = ["ClusterScanError", "DaskRunner", "ROWS_PER_FILE", "cluster_options", "columns_needed",
           "make_runner", "read_part", "runner_for", "write_bank"]

#: The largest Parquet file a task reads (rows): big enough that a task's overhead is small.
ROWS_PER_FILE = 250_000
#: A bank smaller than this stays in one file even with several workers.
MIN_SPLIT_ROWS = 20_000


class ClusterScanError(RuntimeError):
    """A bank's evaluation failed on the cluster (the message names the bank and the file)."""


@dataclass(frozen=True)
class Part:
    """One Parquet file of one bank, with the columns a worker reads from it."""

    county_bank: str
    path: str
    columns: tuple[str, ...]
    rows: int


def columns_needed(job: BankRules) -> list[str]:
    """The key and every field the job's rules read, in a stable order."""
    if not job.rules:
        return [job.key]
    fields = compiled(job.stage, job.rules).fields
    return [job.key, *(f for f in fields if f != job.key)]


def _compact(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Only ``columns``; text (object or string) columns as categoricals, so Parquet stores them
    dictionary-encoded and the worker gets codes back, not Python strings."""
    out = frame[columns].reset_index(drop=True)
    for name in columns:
        dtype = out[name].dtype
        if dtype == object or isinstance(dtype, pd.StringDtype) or (
                isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype)):
            out[name] = out[name].astype("category")
    return out


def write_bank(frame: pd.DataFrame, job: BankRules, root: Path, *, workers: int = 1,
               rows_per_file: int = ROWS_PER_FILE, compression: str = "lz4") -> list[Part]:
    """Write ``frame``'s needed columns to ``root/<bank>/part-NNNNN.parquet`` (module docstring)."""
    columns = columns_needed(job)
    directory = root / job.county_bank
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    n = len(frame)
    if not n or not job.rules:
        return []
    files = max(1, math.ceil(n / rows_per_file))
    if files < workers and n >= MIN_SPLIT_ROWS:
        files = workers
    step = math.ceil(n / files)
    data = _compact(frame, columns)
    parts = []
    for i, start in enumerate(range(0, n, step)):
        path = directory / f"part-{i:05d}.parquet"
        chunk = data.iloc[start:start + step]
        pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), path, compression=compression)
        parts.append(Part(job.county_bank, str(path), tuple(columns), len(chunk)))
    return parts


def read_part(part: Part) -> pd.DataFrame:
    """The facts of one Parquet file (dictionary columns come back as categoricals). One thread:
    a worker is one core; Arrow's own thread pool would make workers fight over the same cores."""
    return pq.read_table(part.path, columns=list(part.columns), use_threads=False).to_pandas(use_threads=False)


def evaluate_part(part: Part, job: BankRules) -> tuple[np.ndarray, np.ndarray]:
    """On a worker: read one file, ``evaluate`` it, and return (keys int64, rule indexes int16)."""
    hits = evaluate(read_part(part), job)
    index = pd.Categorical(hits["rule_code"], categories=[r.code for r in job.rules]).codes
    if (index < 0).any():  # pragma: no cover - evaluate only returns the job's own codes
        raise ClusterScanError(f"county bank {job.county_bank}: a hit names a rule not in its book")
    return hits[job.key].to_numpy(np.int64), index.astype(np.int16)


def _hits_frame(job: BankRules, keys: np.ndarray, index: np.ndarray) -> pd.DataFrame:
    """The compact hits of one bank back to ``evaluate``'s frame, in its order."""
    if not len(keys):
        return evaluate(pd.DataFrame(), job)
    codes = np.array([r.code for r in job.rules], dtype=object)
    versions = np.array([r.version for r in job.rules], dtype=np.int64)
    colours = np.array([r.outcome for r in job.rules], dtype=object)
    out = pd.DataFrame({job.key: keys, "rule_code": codes[index], "rule_version": versions[index],
                        "colour": colours[index]})
    return out.sort_values([job.key, "rule_code"], kind="stable", ignore_index=True)


class DaskRunner:
    """An ``evaluate.Runner`` on a ``distributed.Client`` (module docstring)."""

    def __init__(self, client: Any, parquet_dir: Path, *, rows_per_file: int = ROWS_PER_FILE,
                 compression: str = "lz4") -> None:
        self.client = client
        self.parquet_dir = Path(parquet_dir)
        self.rows_per_file = rows_per_file
        self.compression = compression

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def write(self, jobs: Iterable[tuple[BankRules, pd.DataFrame]]) -> list[tuple[BankRules, list[Part]]]:
        """Write every bank's Parquet files (the untimed half of a benchmark)."""
        workers = self.workers()
        return [(job, write_bank(frame, job, self.parquet_dir, workers=workers,
                                 rows_per_file=self.rows_per_file, compression=self.compression))
                for job, frame in jobs]

    def run_parts(self, written: Iterable[tuple[BankRules, list[Part]]]) -> Iterator[tuple[BankRules, pd.DataFrame]]:
        """Evaluate written files on the cluster (``written`` is consumed, and each bank's tasks
        submitted, before the first result is awaited); each bank's hits in submission order."""
        submitted: list[tuple[BankRules, list[Part], list[Any]]] = []
        for job, parts in written:
            if not parts:
                submitted.append((job, parts, []))
                continue
            shared = self.client.scatter(job, broadcast=True, hash=True)
            futures = [self.client.submit(evaluate_part, part, shared, pure=False, retries=0)
                       for part in parts]
            submitted.append((job, parts, futures))
        for job, parts, futures in submitted:
            keys: list[np.ndarray] = []
            index: list[np.ndarray] = []
            for part, future in zip(parts, futures):
                try:
                    k, i = future.result()
                except Exception as e:  # the worker's own exception, re-raised here
                    for rest in futures:
                        rest.cancel()
                    raise ClusterScanError(
                        f"county bank {job.county_bank}: evaluating {part.path} on the cluster failed: "
                        f"{type(e).__name__}: {e}") from e
                keys.append(k)
                index.append(i)
            if keys:
                yield job, _hits_frame(job, np.concatenate(keys), np.concatenate(index))
            else:
                yield job, evaluate(pd.DataFrame(), job)

    def run(self, jobs: Iterable[tuple[BankRules, pd.DataFrame]]) -> Iterator[tuple[BankRules, pd.DataFrame]]:
        """Each job with its hits, as ``LocalRunner.run`` (module docstring). Each bank's tasks are
        submitted as soon as its files are written, so the workers evaluate one bank while the
        driver reads and writes the next; the driver holds one frame at a time."""
        workers = self.workers()
        written = ((job, write_bank(frame, job, self.parquet_dir, workers=workers,
                                    rows_per_file=self.rows_per_file, compression=self.compression))
                   for job, frame in jobs)
        yield from self.run_parts(written)


@contextmanager
def make_runner(address: str | None = None, workers: int | None = None,
                parquet_dir: str | Path | None = None) -> Iterator[DaskRunner]:
    """A :class:`DaskRunner` on the scheduler at ``address`` or on a local cluster of ``workers``
    single-threaded processes (exactly one of the two), closed on exit."""
    from distributed import Client, LocalCluster

    if (address is None) == (workers is None):
        raise ValueError("give either a scheduler address (tcp://HOST:PORT) or a number of local workers")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    temporary = None
    if parquet_dir is None:
        temporary = tempfile.mkdtemp(prefix="nongxin-scan-")
        parquet_dir = temporary
    cluster = None
    try:
        if workers is not None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        else:
            client = Client(address)
        try:
            yield DaskRunner(client, Path(parquet_dir))
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)


@contextmanager
def runner_for(dask: str | None = None, workers: int | None = None,
               parquet_dir: str | Path | None = None) -> Iterator[Runner]:
    """The runner ``nongxin scan`` uses for its options: ``LocalRunner`` without ``--dask`` and
    ``--workers``, else :func:`make_runner` (``--parquet-dir`` alone is refused: it means nothing
    without a cluster)."""
    if dask is None and workers is None:
        if parquet_dir is not None:
            raise click.UsageError("--parquet-dir needs --dask or --workers")
        yield LocalRunner()
        return
    if dask is not None and workers is not None:
        raise click.UsageError("give --dask or --workers, not both")
    if dask is not None and not dask.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise click.BadParameter(f"{dask!r} is not a scheduler address such as tcp://HOST:8786",
                                 param_hint="--dask")
    with make_runner(address=dask, workers=workers, parquet_dir=parquet_dir) as runner:
        yield runner


F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(command: F) -> F:
    """``--dask ADDRESS``, ``--workers N`` and ``--parquet-dir DIR`` for ``nongxin scan``: pass the
    three values to :func:`runner_for`."""
    command = click.option("--parquet-dir", type=click.Path(file_okay=False), default=None,
                           help="Parquet directory every worker can read (shared storage).")(command)
    command = click.option("--workers", type=click.IntRange(min=1), default=None,
                           help="Run the rules on a local Dask cluster of N worker processes.")(command)
    command = click.option("--dask", "dask", metavar="tcp://HOST:PORT", default=None,
                           help="Run the rules on the Dask scheduler at this address.")(command)
    return command

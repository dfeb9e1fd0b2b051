"""Batch pre-credit on a Dask cluster: the same ``engine.evaluate_batch`` on worker processes.

The promise: a :class:`DaskEvaluator` gives exactly the result frames of
``precredit.LocalEvaluator`` for the same groups (``tests/core/village/test_precredit_cluster.py``
runs a county both ways and compares the offers). Each grid's frame is split by village; each
village's rows are one task, evaluated on a worker by ``engine.evaluate_batch``; the results come
back to the caller, which writes the offers.

A ``BatchContext`` holds the plugins as the grid sees them and a compiled rule set, which do not
pickle; it travels as the engine's ``PortableContext`` (``engine.portable``), which a worker turns
back into a context (plugins imported by module name and bound with the same settings, the rules
recompiled, once per process). Every plugin must therefore be importable on the workers (installed,
not defined in a test module).

``evaluator_for(dask, workers)`` connects to the scheduler at ``dask`` or starts a local cluster of
``workers`` single-threaded processes (``dask="local"``: the same) (``nongxin village precredit --dask ADDRESS | --workers N``,
as ``nongxin scan``); with neither, the local evaluator.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import click
import pandas as pd

from nongxin.core.village import engine
from nongxin.core.village.precredit import Evaluator, LocalEvaluator, evaluate

__all__ = ["DaskEvaluator", "evaluate_partition", "evaluator_for"]


def evaluate_partition(frame: pd.DataFrame, p: engine.PortableContext) -> pd.DataFrame:
    """On a worker: one partition's result frame."""
    return evaluate(frame, p.context())


class DaskEvaluator:
    """A ``precredit.Evaluator`` on a ``distributed.Client`` (module docstring)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def evaluate(self, groups: Sequence[tuple[engine.BatchContext, pd.DataFrame, pd.Series]]) -> list[pd.DataFrame]:
        submitted = []
        for ctx, frame, villages in groups:
            shared = self.client.scatter(engine.portable(ctx), broadcast=True, hash=False)
            keys = villages.fillna(-1).to_numpy()
            futures = [self.client.submit(evaluate_partition, frame[keys == v], shared, pure=False, retries=0)
                       for v in pd.unique(keys)]
            submitted.append((frame.index, futures))
        return [pd.concat([f.result() for f in futures]).reindex(index) for index, futures in submitted]


@contextmanager
def evaluator_for(dask: str | None = None, workers: int | None = None) -> Iterator[Evaluator]:
    """The evaluator for ``--dask ADDRESS``, or ``--workers N`` (with or without ``--dask local``:
    a local cluster, 2 workers unless given); neither: this process."""
    if dask == "local":
        dask, workers = None, workers or 2
    if dask is None and workers is None:
        yield LocalEvaluator()
        return
    if dask is not None and workers is not None:
        raise click.UsageError("give --dask ADDRESS or --workers N (or --dask local --workers N), not both")
    if dask is not None and not dask.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise click.BadParameter(f"{dask!r} is not a scheduler address such as tcp://HOST:8786", param_hint="--dask")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40) if workers is not None else None
    client = Client(cluster) if cluster is not None else Client(dask)
    try:
        yield DaskEvaluator(client)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

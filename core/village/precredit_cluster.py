"""Batch pre-credit on a Dask cluster: the same ``engine.evaluate_batch`` on worker processes.

The promise: a :class:`DaskEvaluator` gives exactly the result frames of
``precredit.LocalEvaluator`` for the same groups (``tests/core/village/test_precredit_cluster.py``
runs a county both ways and compares the offers). Each grid's frame is split by village; each
village's rows are one task, evaluated on a worker by ``engine.evaluate_batch``; the results come
back to the caller, which writes the offers.

A ``BatchContext`` holds the plugins as the grid sees them (an ``InstitutionView``: modules, a
plugin manager) and a compiled rule set (functions), which do not pickle. So a context travels as a
:class:`PortableContext`: the context without the view and the compiled rules, plus what rebuilds
them on the worker: each loaded plugin's module name and the per-plugin ``HookContext`` (settings)
at the grid. The worker imports the same modules, binds the same settings and compiles the same
rules (once per process and context); the arithmetic is the one ``evaluate_batch``. Every plugin
must therefore be importable on the workers (installed, not defined in a test module).

``evaluator_for(dask, workers)`` connects to the scheduler at ``dask`` or starts a local cluster of
``workers`` single-threaded processes (``dask="local"``: the same) (``nongxin village precredit --dask ADDRESS | --workers N``,
as ``nongxin scan``); with neither, the local evaluator.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import import_module
from types import MappingProxyType
from typing import Any, Iterator, Sequence, cast

import click
import pandas as pd

from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.plugins.host import PluginHost
from nongxin.core.village import engine
from nongxin.core.village.precredit import Evaluator, LocalEvaluator, evaluate
from nongxin.sdk.facts import SCHEMAS
from nongxin.sdk.rules import compile_rule_set
from nongxin.sdk.types import HookContext

__all__ = ["DaskEvaluator", "PortableContext", "evaluate_partition", "evaluator_for", "portable", "rebuild"]


@dataclass(frozen=True)
class PortableContext:
    """A ``BatchContext`` that pickles (module docstring)."""

    key: str  # one per context: a worker rebuilds each once
    plugins: tuple[tuple[str, str], ...]  # (plugin name, module name), in the caller's load order
    base: HookContext
    contexts: tuple[tuple[str, HookContext], ...]
    ctx: engine.BatchContext  # view None, book uncompiled


def _plain(hc: HookContext) -> HookContext:
    return replace(hc, settings=dict(hc.settings))


def portable(ctx: engine.BatchContext) -> PortableContext:
    view = ctx.view
    plugins = tuple((name, p.module.__name__) for name, p in view.host.loaded.items())
    book = replace(ctx.book, compiled=None)
    return PortableContext(uuid.uuid4().hex, plugins, _plain(view.ctx),
                           tuple((name, _plain(hc)) for name, hc in view.contexts.items()),
                           replace(ctx, view=cast(Any, None), book=book))


_hosts: dict[tuple[tuple[str, str], ...], PluginHost] = {}
_contexts: dict[str, engine.BatchContext] = {}


def rebuild(p: PortableContext, *, compiled: bool = True) -> engine.BatchContext:
    """The ``BatchContext`` again, in this process (cached per process)."""
    ctx = _contexts.get(p.key)
    if ctx is not None:
        return ctx
    host = _hosts.get(p.plugins)
    if host is None:
        host = PluginHost(Breakers(threshold=1_000_000, cooldown_seconds=0))
        for name, module in p.plugins:
            host.register(import_module(module), source="rebuilt on a pre-credit worker", fallback_name=name)
        _hosts[p.plugins] = host
    contexts = {name: replace(hc, settings=MappingProxyType(dict(hc.settings))) for name, hc in p.contexts}
    view = InstitutionView(host, p.base, contexts)
    book = p.ctx.book
    if compiled and book.error is None and not book.failures:
        book = replace(book, compiled=compile_rule_set(book.rules, SCHEMAS[book.stage]))
    ctx = _contexts[p.key] = replace(p.ctx, view=view, book=book)
    return ctx


def evaluate_partition(frame: pd.DataFrame, p: PortableContext) -> pd.DataFrame:
    """On a worker: one partition's result frame."""
    return evaluate(frame, rebuild(p))


class DaskEvaluator:
    """A ``precredit.Evaluator`` on a ``distributed.Client`` (module docstring)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def evaluate(self, groups: Sequence[tuple[engine.BatchContext, pd.DataFrame, pd.Series]]) -> list[pd.DataFrame]:
        submitted = []
        for ctx, frame, villages in groups:
            shared = self.client.scatter(portable(ctx), broadcast=True, hash=False)
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

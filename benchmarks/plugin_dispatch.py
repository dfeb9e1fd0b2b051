"""What a per-institution hook call through the dispatch layer costs over raw pluggy.

The core calls every hook through ``InstitutionView.collect`` (or ``first``): one execution loop
over the implementations enabled at the institution that checks each plugin's breaker, calls it
with its own context, captures its exceptions, checks the type of its answer and records its
provenance. This measures ``view.collect("nongxin_products", expect=ProductSpec)`` against
``pm.hook.nongxin_products(ctx=ctx)`` on a bare pluggy ``PluginManager`` with the same
implementations registered (no isolation at all: the first exception would abort the call), for
1, 5 and 20 implementations, and reports ``ratio_vs_raw_pluggy`` (goal: <= 1.3 at each count).
The view's host registers one extra plugin that is disabled at the institution, so the view
really filters. As an extra it reports pluggy's own ``subset_hook_caller`` doing that filtering.

Run ``python benchmarks/plugin_dispatch.py`` (writes benchmarks/results/plugin_dispatch.json);
``--iterations 200 --repeats 3`` for a smoke run. All variants are timed in one run, interleaved
within each repeat so machine drift hits them alike; figures are medians of ns per hook call.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pluggy

from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.plugins.host import PluginHost
from nongxin.sdk import AmountRange, HookContext, PluginInfo, PluginKind, ProductSpec, hookimpl, hookspecs
from nongxin.sdk.markers import PROJECT

GOAL = 1.3
INSTITUTION = "JNRCB"
ANCESTRY = ("SD", "SD-LZ", INSTITUTION)


def make_plugin(name: str) -> ModuleType:
    """A product plugin whose hook does almost nothing, so dispatch cost is what gets measured."""
    products = [ProductSpec(code=name.upper(), name=name, segment="salaried",
                            amount=AmountRange(Decimal("1000"), Decimal("300000")), term_months=(1, 36),
                            annual_rate=(Decimal("0.04"), Decimal("0.08")))]
    module = ModuleType(name)
    module.PLUGIN = PluginInfo(name=name, version="1.0.0", kind=PluginKind.PRODUCT)

    @hookimpl
    def nongxin_products(ctx: HookContext) -> list[ProductSpec]:
        return products

    module.nongxin_products = nongxin_products
    return module


def own_contexts(names: list[str]) -> dict[str, HookContext]:
    return {n: HookContext(INSTITUTION, ANCESTRY, {"ceiling": Decimal("300000")}, n) for n in names}


def raw_manager(modules: list[ModuleType]) -> pluggy.PluginManager:
    """Plain pluggy, no isolation: the floor any dispatch design starts from."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for module in modules:
        pm.register(module, name=module.__name__)
    return pm


def callers(count: int) -> dict[str, Callable[[], Any]]:
    """Zero-argument calls, one per variant, each running the same ``count`` implementations."""
    ctx = HookContext(INSTITUTION, ANCESTRY)
    names = [f"county_{i:02d}" for i in range(count)]
    modules = [make_plugin(name) for name in names]
    disabled = make_plugin("disabled_here")

    host = PluginHost(Breakers(5, 300))
    for module in [*modules, disabled]:
        host.register(module)
    view = InstitutionView(host, ctx, own_contexts(names))
    assert "disabled_here" in view.disabled
    view.bound("nongxin_products")  # frozen, as a worker has it after its first request

    raw_hook = raw_manager(modules).hook.nongxin_products
    with_extra = raw_manager([*modules, disabled])
    raw_subset = with_extra.subset_hook_caller("nongxin_products", remove_plugins=[disabled])

    collected = view.collect("nongxin_products", expect=ProductSpec)
    assert len(collected.values) == count and not collected.failures
    assert len(raw_hook(ctx=ctx)) == count and len(raw_subset(ctx=ctx)) == count

    return {
        "per_institution": lambda: view.collect("nongxin_products", expect=ProductSpec),
        "raw_pluggy": lambda: raw_hook(ctx=ctx),
        "raw_subset": lambda: raw_subset(ctx=ctx),
    }


def time_ns(call: Callable[[], Any], iterations: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(iterations):
        call()
    return (time.perf_counter_ns() - start) / iterations


def measure(count: int, iterations: int, repeats: int) -> dict[str, Any]:
    variants = callers(count)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    order = list(variants)
    for name in order:  # warm up
        time_ns(variants[name], max(1, iterations // 10))
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for repeat in range(repeats):
            for name in order[repeat % len(order):] + order[:repeat % len(order)]:
                samples[name].append(time_ns(variants[name], iterations))
    finally:
        if gc_was_enabled:
            gc.enable()
    med = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "implementations": count,
        "per_institution_ns": round(med["per_institution"], 1),
        "raw_pluggy_ns": round(med["raw_pluggy"], 1),
        "raw_subset_ns": round(med["raw_subset"], 1),
        "ratio_vs_raw_pluggy": round(med["per_institution"] / med["raw_pluggy"], 3),
        "ratio_vs_raw_subset": round(med["per_institution"] / med["raw_subset"], 3),
        "overhead_per_impl_ns": round((med["per_institution"] - med["raw_pluggy"]) / count, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 5, 20])
    ap.add_argument("--iterations", type=int, default=20_000, help="hook calls per timed sample")
    ap.add_argument("--repeats", type=int, default=21, help="samples per variant; the median is reported")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "plugin_dispatch.json")
    args = ap.parse_args(argv)

    results = {str(n): measure(n, args.iterations, args.repeats) for n in args.counts}
    report = {
        "benchmark": "plugin_dispatch",
        "hook": "nongxin_products",
        "unit": "ns per hook call (median over repeats)",
        "goal_ratio_vs_raw_pluggy_max": GOAL,
        "iterations": args.iterations,
        "repeats": args.repeats,
        "python": sys.version.split()[0],
        "pluggy": pluggy.__version__,
        "machine": platform.machine(),
        "results": results,
    }
    print(f"{'impls':>5} {'view ns':>9} {'raw ns':>9} {'subset ns':>10} {'x raw':>7} {'x subset':>9}")
    for n, r in results.items():
        print(f"{n:>5} {r['per_institution_ns']:>9.0f} {r['raw_pluggy_ns']:>9.0f} {r['raw_subset_ns']:>10.0f} "
              f"{r['ratio_vs_raw_pluggy']:>7.3f} {r['ratio_vs_raw_subset']:>9.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()

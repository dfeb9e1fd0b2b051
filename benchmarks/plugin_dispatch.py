"""What per-institution dispatch costs over a plain pluggy hook call.

Every request calls hooks through an ``InstitutionView``: pluggy's ``subset_hook_caller`` with the
plugins disabled at that institution removed, cached per hook. This measures that call against
``host.pm.hook.nongxin_products(ctx=ctx)`` doing the same work (the same number of wrapped
implementations), for 1, 5 and 20 implementations; the per-institution host registers one extra
plugin that is disabled there, so the subset caller really filters. As extras it reports raw
pluggy with the same plugins unwrapped, in a separate PluginManager, so the cost of the isolation
wrapper (own context, breaker check, exception capture) is visible on its own.

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
from nongxin.core.plugins.host import InstitutionView, PluginHost
from nongxin.sdk import AmountRange, HookContext, PluginInfo, PluginKind, ProductSpec, hookimpl, hookspecs
from nongxin.sdk.markers import PROJECT

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


def raw_manager(names: list[str]) -> pluggy.PluginManager:
    """Plain pluggy, no isolation wrapper: the floor any dispatch design starts from."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in names:
        pm.register(make_plugin(name), name=name)
    return pm


def callers(count: int) -> dict[str, Callable[[], Any]]:
    """Zero-argument calls, one per variant, each running ``count`` implementations."""
    ctx = HookContext(INSTITUTION, ANCESTRY)
    names = [f"county_{i:02d}" for i in range(count)]

    plain_host = PluginHost(Breakers(5, 300))
    for name in names:
        plain_host.register(make_plugin(name))
    for name, own in own_contexts(names).items():  # the wrapper swaps contexts in both variants
        plain_host.contexts[(name, INSTITUTION)] = own
    plain_hook = plain_host.pm.hook.nongxin_products

    host = PluginHost(Breakers(5, 300))
    for name in [*names, "disabled_here"]:
        host.register(make_plugin(name))
    view = InstitutionView(host, ctx, frozenset(names), own_contexts(names))
    assert "disabled_here" in view.disabled
    view.hook("nongxin_products")  # cached, as a worker has it after its first request

    raw_plain = raw_manager(names).hook.nongxin_products
    raw_with_extra = raw_manager([*names, "disabled_here"])
    raw_all = raw_with_extra.subset_hook_caller(
        "nongxin_products", remove_plugins=[raw_with_extra.get_plugin("disabled_here")])

    checks = {"plain": plain_hook(ctx=ctx), "per_institution": view.hook("nongxin_products")(ctx=ctx),
              "raw_pluggy": raw_plain(ctx=ctx), "raw_subset": raw_all(ctx=ctx)}
    for variant, result in checks.items():
        assert len(result) == count, (variant, len(result))

    return {
        "plain": lambda: plain_hook(ctx=ctx),
        "per_institution": lambda: view.hook("nongxin_products")(ctx=ctx),
        "raw_pluggy": lambda: raw_plain(ctx=ctx),
        "raw_subset": lambda: raw_all(ctx=ctx),
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
        "plain_ns": round(med["plain"], 1),
        "per_institution_ns": round(med["per_institution"], 1),
        "ratio": round(med["per_institution"] / med["plain"], 3),
        "raw_pluggy_ns": round(med["raw_pluggy"], 1),
        "raw_subset_ns": round(med["raw_subset"], 1),
        "wrapper_overhead_ns": round(med["plain"] - med["raw_pluggy"], 1),
        "wrapper_ratio": round(med["plain"] / med["raw_pluggy"], 3),
        "subset_overhead_ns": round(med["per_institution"] - med["plain"], 1),
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
        "goal_ratio_max": 1.2,
        "iterations": args.iterations,
        "repeats": args.repeats,
        "python": sys.version.split()[0],
        "pluggy": pluggy.__version__,
        "machine": platform.machine(),
        "results": results,
    }
    print(f"{'impls':>5} {'plain ns':>10} {'per-inst ns':>12} {'ratio':>6} {'raw ns':>9} {'raw subset':>11} {'wrapper x':>10}")
    for n, r in results.items():
        print(f"{n:>5} {r['plain_ns']:>10.0f} {r['per_institution_ns']:>12.0f} {r['ratio']:>6.3f} "
              f"{r['raw_pluggy_ns']:>9.0f} {r['raw_subset_ns']:>11.0f} {r['wrapper_ratio']:>10.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    main()

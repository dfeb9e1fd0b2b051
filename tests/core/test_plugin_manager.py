"""The plugin host and the dispatch layer on their own: registration, refusal, isolation, breakers,
settings bound per view, answer types, timeouts, provenance."""

import time
from datetime import date
from decimal import Decimal
from types import MappingProxyType, ModuleType

import pytest

from nongxin.core.plugins import dispatch
from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.plugins.host import PluginHost
from nongxin.core.plugins.provenance import Contribution
from nongxin.sdk import (
    AmountRange, CollateralData, ConnectorSpec, HookContext, PluginFailure, PluginInfo, PluginKind, ProductSpec,
    Valuation, hookimpl, hookspecs,
)

DAY = date(2026, 11, 23)


def module(name, **attrs):
    mod = ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def plugin(name, core_api=">=1.0,<2", **hooks):
    return module(name, PLUGIN=PluginInfo(name=name, version="1.2.3", kind=PluginKind.PRODUCT,
                                          core_api=core_api), **hooks)


def product(code):
    return ProductSpec(code=code, name=code, segment="salaried", amount=AmountRange(Decimal("1"), Decimal("2")),
                       term_months=(1, 12), annual_rate=(Decimal("0.04"), Decimal("0.05")))


@hookimpl
def nongxin_products(ctx):
    return [product(ctx.settings.get("label", ctx.plugin_name))]


@hookimpl
def broken_products(ctx):
    raise RuntimeError("upstream down")


broken_products.__name__ = "nongxin_products"


def host(threshold=3, clock=None, timeouts=None):
    return PluginHost(Breakers(threshold, 60, clock or (lambda: 0.0)), timeouts=timeouts)


def view(h, enabled, contexts=None, institution="JNRCB"):
    contexts = contexts or {n: HookContext(institution, ("SD", institution), {}, n, DAY) for n in enabled}
    return InstitutionView(h, HookContext(institution, ("SD", institution), business_date=DAY), contexts)


def codes(result):
    return sorted(p.code for p in result.values)


def test_misspelt_hook_is_listed_as_failed_with_its_name():
    h = host()
    assert h.register(plugin("typo", nongxin_prodcts=hookimpl(lambda ctx: []))) is None
    assert "nongxin_prodcts" in h.failed["typo"].reason
    assert "typo" not in h.loaded
    assert h.register(plugin("good", nongxin_products=nongxin_products)) is not None


def test_incompatible_core_api_is_refused_with_reason():
    h = host()
    h.register(plugin("future", core_api=">=2.0", nongxin_products=nongxin_products))
    assert "needs core API >=2.0" in h.failed["future"].reason


def test_module_without_plugin_info_is_refused():
    h = host()
    h.register(module("anon", nongxin_products=nongxin_products), fallback_name="anon")
    assert "PluginInfo" in h.failed["anon"].reason


def test_hook_wrappers_are_refused():
    @hookimpl(wrapper=True)
    def wrapping(ctx):
        return (yield)

    wrapping.__name__ = "nongxin_products"
    h = host()
    assert h.register(plugin("wrap", nongxin_products=wrapping)) is None
    assert "wrappers are not supported" in h.failed["wrap"].reason
    assert h.pm.get_plugin("wrap") is None


def test_failing_plugin_is_isolated_and_reported():
    h = host()
    h.register(plugin("ok", nongxin_products=nongxin_products))
    h.register(plugin("bad", nongxin_products=broken_products))
    result = view(h, {"ok", "bad"}).collect("nongxin_products", expect=ProductSpec)
    assert codes(result) == ["ok"]
    assert [(f.plugin, f.hook) for f in result.failures] == [("bad", "nongxin_products")]
    assert "upstream down" in result.failures[0].error
    assert result.fail_closed  # products are a risk hook: fail closed


def test_disabled_plugin_never_runs():
    calls = []

    @hookimpl
    def spy(ctx):
        calls.append(ctx.institution_code)
        return [product("spy")]

    spy.__name__ = "nongxin_products"
    h = host()
    h.register(plugin("spy", nongxin_products=spy))
    h.register(plugin("ok", nongxin_products=nongxin_products))
    assert codes(view(h, {"ok"}).collect("nongxin_products", expect=ProductSpec)) == ["ok"]
    assert calls == []
    assert view(h, {"ok", "spy"}, institution="LYRCB").collect("nongxin_products", expect=ProductSpec).values
    assert calls == ["LYRCB"]


def test_each_plugin_gets_its_own_settings_and_business_date():
    seen = []

    @hookimpl
    def dated(ctx):
        seen.append((ctx.plugin_name, ctx.business_date))
        return [product(ctx.settings["label"])]

    dated.__name__ = "nongxin_products"
    h = host()
    h.register(plugin("a", nongxin_products=dated))
    h.register(plugin("b", nongxin_products=dated))
    contexts = {"a": HookContext("JNRCB", (), {"label": "A"}, "a", DAY),
                "b": HookContext("JNRCB", (), {"label": "B"}, "b", DAY)}
    assert codes(view(h, {"a", "b"}, contexts).collect("nongxin_products", expect=ProductSpec)) == ["A", "B"]
    assert sorted(seen) == [("a", DAY), ("b", DAY)]


def test_settings_are_bound_to_the_view_and_survive_a_switch():
    """The old host kept one shared mutable dict of contexts, rebuilt (or cleared) on every switch:
    a call on a view obtained before the switch ran with the new or with empty settings."""
    h = host()
    h.register(plugin("a", nongxin_products=nongxin_products))
    before = view(h, {"a"}, {"a": HookContext("JNRCB", (), MappingProxyType({"label": "OLD"}), "a", DAY)})
    after = view(h, {"a"}, {"a": HookContext("JNRCB", (), MappingProxyType({"label": "NEW"}), "a", DAY)})
    assert codes(before.collect("nongxin_products", expect=ProductSpec)) == ["OLD"]
    assert codes(after.collect("nongxin_products", expect=ProductSpec)) == ["NEW"]
    with pytest.raises(TypeError):
        before.contexts["b"] = HookContext("JNRCB")  # type: ignore[index]
    assert not hasattr(h, "contexts")


def test_firstresult_failure_is_not_skipped():
    @hookimpl
    def limit(application, facts, ctx):
        raise ValueError("bad data")

    limit.__name__ = "nongxin_credit_limit"
    h = host()
    h.register(plugin("lim", nongxin_credit_limit=limit))
    from nongxin.sdk import LimitResult

    result = view(h, {"lim"}).first("nongxin_credit_limit", expect=LimitResult, application=None, facts={})
    assert result.failed and result.values == []


def test_wrong_answer_type_is_a_failure_naming_the_plugin_and_feeds_the_breaker():
    @hookimpl
    def strings(ctx):
        return ["not a product"]

    @hookimpl
    def scalar(ctx):
        return product("single")  # not a list

    strings.__name__ = scalar.__name__ = "nongxin_products"
    h = host(threshold=1)
    h.register(plugin("strings", nongxin_products=strings))
    h.register(plugin("scalar", nongxin_products=scalar))
    h.register(plugin("ok", nongxin_products=nongxin_products))
    result = view(h, {"strings", "scalar", "ok"}).collect("nongxin_products", expect=ProductSpec)
    assert codes(result) == ["ok"]
    errors = {f.plugin: f.error for f in result.failures}
    assert "str where ProductSpec belongs" in errors["strings"]
    assert "not a list of ProductSpec" in errors["scalar"]
    assert h.breakers.status("strings", "JNRCB")["state"] == "open"


def test_breaker_opens_after_threshold_and_closes_after_cooldown():
    now = [0.0]
    h = host(threshold=2, clock=lambda: now[0])
    h.register(plugin("bad", nongxin_products=broken_products))
    v = view(h, {"bad"})
    for _ in range(2):
        assert "upstream down" in v.collect("nongxin_products", expect=ProductSpec).failures[0].error
    assert "circuit breaker open" in v.collect("nongxin_products", expect=ProductSpec).failures[0].error
    assert h.breakers.status("bad", "JNRCB")["state"] == "open"
    assert h.breakers.status("bad", "LYRCB")["state"] == "closed"
    now[0] = 61.0
    assert "upstream down" in v.collect("nongxin_products", expect=ProductSpec).failures[0].error  # trial call


def test_a_hook_that_reaches_outside_times_out_and_feeds_the_breaker():
    @hookimpl
    def slow(collateral, ctx):
        time.sleep(0.5)
        return Valuation(Decimal("1"), "market", "slow", DAY)

    slow.__name__ = "nongxin_value_collateral"
    h = host(threshold=1, timeouts={"nongxin_value_collateral": 0.05})
    h.register(plugin("slow", nongxin_value_collateral=slow))
    item = CollateralData("C1", "vehicle", "car", Decimal("100000"))
    started = time.perf_counter()
    result = view(h, {"slow"}).first("nongxin_value_collateral", expect=Valuation, collateral=item)
    assert time.perf_counter() - started < 0.4
    assert result.fail_closed and result.values == []
    assert result.failures[0].plugin == "slow" and "timed out after 0.05 s" in result.failures[0].error
    assert h.breakers.status("slow", "JNRCB")["state"] == "open"
    again = view(h, {"slow"}).first("nongxin_value_collateral", expect=Valuation, collateral=item)
    assert "circuit breaker open" in again.failures[0].error


def test_a_plugin_raising_timeout_error_itself_is_reported_as_its_own_error_not_our_deadline():
    @hookimpl
    def gateway(collateral, ctx):
        raise TimeoutError("valuer gateway answered 504")

    gateway.__name__ = "nongxin_value_collateral"
    h = host(threshold=5, timeouts={"nongxin_value_collateral": 5.0})
    h.register(plugin("gw", nongxin_value_collateral=gateway))
    item = CollateralData("C1", "vehicle", "car", Decimal("100000"))
    result = view(h, {"gw"}).first("nongxin_value_collateral", expect=Valuation, collateral=item)
    assert result.fail_closed
    assert result.failures[0].error == "TimeoutError: valuer gateway answered 504"


def test_connector_fetch_goes_through_the_layer_with_its_own_timeout():
    def slow_fetch(subject, ctx):
        time.sleep(0.5)
        return {"tax": 1}

    def fetch(subject, ctx):
        return {"tax_paid": Decimal(ctx.settings["paid"]), "subject": subject}

    @hookimpl
    def nongxin_connectors(ctx):
        return [ConnectorSpec("tax", ("tax_paid",), fetch), ConnectorSpec("slow", ("tax",), slow_fetch, 0.05)]

    h = host(threshold=1)
    h.register(plugin("tax", nongxin_connectors=nongxin_connectors))
    v = view(h, {"tax"}, {"tax": HookContext("JNRCB", (), {"paid": "12.5"}, "tax", DAY)})
    connectors = v.collect("nongxin_connectors", expect=ConnectorSpec).contributions
    fast, slow = connectors
    assert fast.provenance == v.provenance("tax")
    assert v.fetch(fast, "S1").values == [{"tax_paid": Decimal("12.5"), "subject": "S1"}]
    failed = v.fetch(slow, "S1")
    assert failed.fail_closed and "timed out after 0.05 s" in failed.failures[0].error
    assert h.breakers.status("tax", "JNRCB")["state"] == "open"


def test_trace_logs_hook_plugin_institution_and_duration(caplog):
    h = PluginHost(Breakers(3, 60), trace=True)
    h.register(plugin("ok", nongxin_products=nongxin_products))
    with caplog.at_level("INFO", logger="nongxin.plugins"):
        view(h, {"ok"}).collect("nongxin_products", expect=ProductSpec)
    assert any("nongxin_products" in r.message and "ok" in r.message and "JNRCB" in r.message and "ms" in r.message
               for r in caplog.records)


def test_every_contribution_carries_its_provenance():
    h = host()
    h.register(plugin("a", nongxin_products=nongxin_products))
    v1 = view(h, {"a"}, {"a": HookContext("JNRCB", (), {"x": 1}, "a", DAY)})
    v2 = view(h, {"a"}, {"a": HookContext("JNRCB", (), {"x": 2}, "a", DAY)})
    p1, p2 = v1.provenance("a"), v2.provenance("a")
    assert p1.plugin == "a" and p1.version == "1.2.3" and p1.settings_hash != p2.settings_hash
    [contribution] = v1.collect("nongxin_products", expect=ProductSpec).contributions
    assert contribution == Contribution(product("a"), p1)


def test_plugin_failure_is_a_value_never_an_exception():
    h = host()
    h.register(plugin("bad", nongxin_products=broken_products))
    out = view(h, {"bad"}).collect("nongxin_products", expect=ProductSpec)
    assert isinstance(out.failures[0], PluginFailure) and out.values == []


def test_notification_failures_are_skipped_and_logged(caplog):
    from nongxin.sdk import Event

    told = []

    @hookimpl
    def ok(event, ctx):
        told.append(event.kind)

    @hookimpl
    def bad(event, ctx):
        raise RuntimeError("sms gateway down")

    ok.__name__ = bad.__name__ = "nongxin_on_decision"
    h = host()
    h.register(plugin("ok", nongxin_on_decision=ok))
    h.register(plugin("bad", nongxin_on_decision=bad))
    with caplog.at_level("WARNING", logger="nongxin.plugins"):
        result = view(h, {"ok", "bad"}).notify("nongxin_on_decision", event=Event("decision", "A1", "JNRCB"))
    assert told == ["decision"] and result.failed and not result.fail_closed
    assert any("sms gateway down" in r.message for r in caplog.records)


def test_every_hook_has_a_failure_policy_read_by_the_layer(monkeypatch):
    specs = {name for name in vars(hookspecs) if hasattr(getattr(hookspecs, name), "nongxin_spec")}
    assert specs == set(hookspecs.FAILURE_POLICY) == set(dispatch.SPECS)
    for name, spec in dispatch.SPECS.items():
        assert spec.policy == hookspecs.FAILURE_POLICY[name]
    monkeypatch.delitem(hookspecs.FAILURE_POLICY, "nongxin_price")
    with pytest.raises(RuntimeError, match="nongxin_price has no failure policy"):
        dispatch.read_specs()

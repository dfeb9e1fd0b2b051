"""The plugin host on its own: registration, refusal, isolation, breakers, contexts."""

from types import ModuleType

from nongxin.core.plugins.breaker import Breakers
from nongxin.core.plugins.host import InstitutionView, PluginHost
from nongxin.sdk import HookContext, PluginFailure, PluginInfo, PluginKind, hookimpl


def module(name, **attrs):
    mod = ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def plugin(name, core_api=">=1.0,<2", **hooks):
    return module(name, PLUGIN=PluginInfo(name=name, version="1.2.3", kind=PluginKind.PRODUCT,
                                          core_api=core_api), **hooks)


@hookimpl
def nongxin_products(ctx):
    return [ctx.settings.get("label", ctx.plugin_name)]


@hookimpl
def broken_products(ctx):
    raise RuntimeError("upstream down")


broken_products.__name__ = "nongxin_products"


def host(threshold=3, clock=None):
    return PluginHost(Breakers(threshold, 60, clock or (lambda: 0.0)))


def view(h, enabled, contexts=None, institution="JNRCB"):
    contexts = contexts or {n: HookContext(institution, ("SD", institution), {}, n) for n in enabled}
    return InstitutionView(h, HookContext(institution, ("SD", institution)), frozenset(enabled), contexts)


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


def test_failing_plugin_is_isolated_and_reported():
    h = host()
    h.register(plugin("ok", nongxin_products=nongxin_products))
    h.register(plugin("bad", nongxin_products=broken_products))
    result = view(h, {"ok", "bad"}).call("nongxin_products")
    assert result.values == [["ok"]]
    assert [(f.plugin, f.hook) for f in result.failures] == [("bad", "nongxin_products")]
    assert "upstream down" in result.failures[0].error


def test_disabled_plugin_never_runs():
    calls = []

    @hookimpl
    def spy(ctx):
        calls.append(ctx.institution_code)
        return ["spy"]

    spy.__name__ = "nongxin_products"
    h = host()
    h.register(plugin("spy", nongxin_products=spy))
    h.register(plugin("ok", nongxin_products=nongxin_products))
    assert view(h, {"ok"}).call("nongxin_products").values == [["ok"]]
    assert calls == []
    assert view(h, {"ok", "spy"}, institution="LYRCB").call("nongxin_products").values
    assert calls == ["LYRCB"]


def test_each_plugin_gets_its_own_settings():
    h = host()
    h.register(plugin("a", nongxin_products=nongxin_products))
    h.register(plugin("b", nongxin_products=nongxin_products))
    contexts = {"a": HookContext("JNRCB", (), {"label": "A"}, "a"), "b": HookContext("JNRCB", (), {"label": "B"}, "b")}
    assert sorted(view(h, {"a", "b"}, contexts).call("nongxin_products").values) == [["A"], ["B"]]


def test_firstresult_failure_is_not_skipped():
    @hookimpl
    def limit(application, facts, ctx):
        raise ValueError("bad data")

    limit.__name__ = "nongxin_credit_limit"
    h = host()
    h.register(plugin("lim", nongxin_credit_limit=limit))
    result = view(h, {"lim"}).first("nongxin_credit_limit", application=None, facts={})
    assert result.failed and result.values == []


def test_breaker_opens_after_threshold_and_closes_after_cooldown():
    now = [0.0]
    h = host(threshold=2, clock=lambda: now[0])
    h.register(plugin("bad", nongxin_products=broken_products))
    v = view(h, {"bad"})
    for _ in range(2):
        assert "upstream down" in v.call("nongxin_products").failures[0].error
    assert "circuit breaker open" in v.call("nongxin_products").failures[0].error
    assert h.breakers.status("bad", "JNRCB")["state"] == "open"
    assert h.breakers.status("bad", "LYRCB")["state"] == "closed"
    now[0] = 61.0
    assert "upstream down" in v.call("nongxin_products").failures[0].error  # trial call runs


def test_trace_logs_hook_plugin_institution_and_duration(caplog):
    h = PluginHost(Breakers(3, 60), trace=True)
    h.register(plugin("ok", nongxin_products=nongxin_products))
    with caplog.at_level("INFO", logger="nongxin.plugins"):
        view(h, {"ok"}).call("nongxin_products")
    assert any("nongxin_products" in r.message and "ok" in r.message and "JNRCB" in r.message and "ms" in r.message
               for r in caplog.records)


def test_provenance_names_version_and_settings_hash():
    h = host()
    h.register(plugin("a", nongxin_products=nongxin_products))
    v1 = view(h, {"a"}, {"a": HookContext("JNRCB", (), {"x": 1}, "a")})
    p1 = v1.provenance("a")
    view(h, {"a"}, {"a": HookContext("JNRCB", (), {"x": 2}, "a")})
    p2 = h.provenance("a", "JNRCB")
    assert p1.version == "1.2.3" and p1.settings_hash != p2.settings_hash


def test_plugin_failure_is_a_value_never_an_exception():
    h = host()
    h.register(plugin("bad", nongxin_products=broken_products))
    out = view(h, {"bad"}).hook("nongxin_products")(ctx=HookContext("JNRCB"))
    assert isinstance(out[0], PluginFailure)

"""The dispatch layer: the only way the core calls a hook.

``view.collect(hook, expect=T, **kwargs)`` calls every implementation enabled at the view's
institution; ``view.first(hook, expect=T, **kwargs)`` stops at the first answer (firstresult
hooks); ``view.notify(hook, **kwargs)`` tells every notification plugin; ``view.fetch(connector,
subject)`` calls a connector's ``fetch``. All of them run one execution loop over the frozen list of
implementations enabled at the institution, and for each implementation:

* skip it with a failure when its circuit breaker is open there;
* call it with *its own* ``HookContext`` (its settings at this institution, bound to the view when
  the view was built and never changed: a switch builds a new view, a hook already running keeps
  its settings);
* run it with a deadline when the hook reaches outside (``PluginHost.timeouts``: bureau,
  valuation; a connector's own ``timeout_seconds``): overrunning is a failure;
* turn an exception, a timeout or an answer of the wrong type into a ``PluginFailure`` naming the
  plugin, which feeds the breaker; a success closes it;
* record the plugin's provenance (name, version, settings hash) with each answer.

Each hook's failure policy comes from ``nongxin.sdk.hookspecs.FAILURE_POLICY``: a ``fail_closed``
result with failures must not let anything through automatically (``HookResult.fail_closed``);
``skip_and_log`` failures are logged and the other plugins' answers stand. pluggy aborts a whole
call on the first exception, which is why the core runs the loop itself rather than
``pm.hook.X(...)``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nongxin.core.plugins.provenance import Contribution, Provenance, settings_hash
from nongxin.sdk import hookspecs
from nongxin.sdk.types import ConnectorSpec, HookContext, PluginFailure

if TYPE_CHECKING:
    from nongxin.core.plugins.host import PluginHost

log = logging.getLogger("nongxin.plugins")
T = TypeVar("T")


@dataclass(frozen=True)
class HookSpec:
    """What the dispatch layer knows of a hook, read from the SDK's spec."""

    name: str
    policy: str
    firstresult: bool
    many: bool  # the hook answers with a list of values (collecting hooks)
    argnames: tuple[str, ...]


def read_specs() -> dict[str, HookSpec]:
    """Every hook spec in ``nongxin.sdk.hookspecs`` with its failure policy; a hook without a
    policy is a programming error of the SDK, refused here at import."""
    import inspect

    specs: dict[str, HookSpec] = {}
    for name, fn in vars(hookspecs).items():
        opts = getattr(fn, "nongxin_spec", None)
        if opts is None or not callable(fn):
            continue
        policy = hookspecs.FAILURE_POLICY.get(name)
        if policy not in (hookspecs.FAIL_CLOSED, hookspecs.SKIP_AND_LOG):
            raise RuntimeError(f"hook {name} has no failure policy in nongxin.sdk.hookspecs.FAILURE_POLICY")
        returns = str(fn.__annotations__.get("return", ""))
        specs[name] = HookSpec(name, str(policy), bool(opts.get("firstresult")), returns.startswith("list["),
                               tuple(inspect.signature(fn).parameters))
    return specs


SPECS = read_specs()


class HookResult(Generic[T]):
    """Answers of the plugins that worked, with their provenance, and the failures of the others."""

    __slots__ = ("hook", "policy", "values", "owners", "failures")

    def __init__(self, hook: str, policy: str) -> None:
        self.hook, self.policy = hook, policy
        self.values: list[T] = []
        self.owners: list[Provenance] = []  # owners[i] contributed values[i]
        self.failures: list[PluginFailure] = []

    @property
    def contributions(self) -> list[Contribution[T]]:
        return [Contribution(v, p) for v, p in zip(self.values, self.owners)]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def fail_closed(self) -> bool:
        """A risk hook failed: whatever depends on it goes to manual review, never approval."""
        return bool(self.failures) and self.policy == hookspecs.FAIL_CLOSED


class _Bound:
    """One implementation bound to one institution: its function, its own context, its provenance."""

    __slots__ = ("plugin", "fn", "argnames", "ctx", "key", "provenance", "ctx_only")

    def __init__(self, plugin: str, fn: Callable[..., Any], argnames: tuple[str, ...], ctx: HookContext,
                 provenance: Provenance) -> None:
        self.plugin, self.fn, self.argnames, self.ctx = plugin, fn, argnames, ctx
        self.key = (plugin, ctx.institution_code)
        self.provenance = provenance
        self.ctx_only = argnames == ("ctx",)


def _kind(expect: type | tuple[type, ...]) -> str:
    if isinstance(expect, tuple):
        return " or ".join(t.__name__ for t in expect)
    return expect.__name__


class InstitutionView:
    """The plugins as one institution sees them on one business date: disabled ones removed, each
    enabled plugin's context (settings) bound immutably, implementation lists frozen per hook."""

    def __init__(self, host: PluginHost, ctx: HookContext, contexts: Mapping[str, HookContext]) -> None:
        self.host, self.ctx = host, ctx
        self.contexts: Mapping[str, HookContext] = MappingProxyType(
            {name: own for name, own in contexts.items() if name in host.loaded})
        self.enabled = frozenset(self.contexts)
        self.disabled = frozenset(host.loaded) - self.enabled
        self._provenance = {name: Provenance(name, host.loaded[name].info.version, settings_hash(own.settings))
                            for name, own in self.contexts.items()}
        self._bound: dict[str, tuple[_Bound, ...]] = {}

    def provenance(self, plugin: str) -> Provenance:
        return self._provenance[plugin]

    def bound(self, hook: str) -> tuple[_Bound, ...]:
        """The implementations enabled here, in pluggy's call order, frozen on first use."""
        bound = self._bound.get(hook)
        if bound is None:
            if hook not in SPECS:
                raise KeyError(f"{hook} is not a hook of nongxin.sdk.hookspecs")
            bound = self._bound[hook] = tuple(
                _Bound(impl.plugin_name, impl.function, tuple(impl.argnames), self.contexts[impl.plugin_name],
                       self._provenance[impl.plugin_name])
                for impl in reversed(getattr(self.host.pm.hook, hook).get_hookimpls())
                if impl.plugin_name in self.contexts)
        return bound

    def providers(self, hook: str) -> list[str]:
        return [b.plugin for b in self.bound(hook)]

    # -- the three ways to call a hook ------------------------------------------------------

    def collect(self, hook: str, /, *, expect: type[T] | tuple[type, ...], **kwargs: Any) -> HookResult[T]:
        """Every enabled plugin's answer. For a hook answering with a list, each element must be an
        ``expect`` and becomes one value; otherwise the answer itself must be one."""
        spec = SPECS[hook]
        result: HookResult[T] = HookResult(hook, spec.policy)
        self._run(spec, self.bound(hook), kwargs, expect, result, stop_at_first=False)
        return result

    def first(self, hook: str, /, *, expect: type[T] | tuple[type, ...], **kwargs: Any) -> HookResult[T]:
        """The first answer that is not None (firstresult hooks). A failure stops the chain and is
        reported, never skipped in favour of the next plugin."""
        spec = SPECS[hook]
        result: HookResult[T] = HookResult(hook, spec.policy)
        self._run(spec, self.bound(hook), kwargs, expect, result, stop_at_first=True)
        return result

    def notify(self, hook: str, /, **kwargs: Any) -> HookResult[None]:
        """Tell every enabled plugin; answers are ignored, failures are logged and returned."""
        spec = SPECS[hook]
        result: HookResult[None] = HookResult(hook, spec.policy)
        self._run(spec, self.bound(hook), kwargs, None, result, stop_at_first=False)
        return result

    def fetch(self, connector: Contribution[ConnectorSpec], subject: Any) -> HookResult[Mapping[str, Any]]:
        """Call a connector's ``fetch(subject, ctx)`` with its plugin's context, within the
        connector's ``timeout_seconds``; its failures feed that plugin's breaker here."""
        spec = connector.value
        plugin = connector.provenance.plugin
        result: HookResult[Mapping[str, Any]] = HookResult("nongxin_connectors", hookspecs.FAIL_CLOSED)
        own = self.contexts.get(plugin)
        if own is None:
            result.failures.append(PluginFailure(plugin, "nongxin_connectors", f"plugin {plugin} is not enabled here"))
            return result
        bound = _Bound(plugin, spec.fetch, ("subject", "ctx"), own, connector.provenance)
        self._run(SPECS["nongxin_connectors"], (bound,), {"subject": subject}, Mapping, result,
                  stop_at_first=True, single=True, timeout=float(spec.timeout_seconds),
                  label=f"connector {spec.name}")
        return result

    # -- the execution loop -----------------------------------------------------------------

    def _run(self, spec: HookSpec, bound: tuple[_Bound, ...], kwargs: dict[str, Any],
             expect: type | tuple[type, ...] | None, result: HookResult[Any], *, stop_at_first: bool,
             single: bool = False, timeout: float | None = None, label: str = "") -> None:
        """The one execution loop (kept flat: it runs for every implementation of every call)."""
        host = self.host
        breakers = host.breakers
        tracked = breakers.tracked
        trace = host.trace
        hook = spec.name
        if timeout is None:
            timeout = host.timeouts.get(hook)
        many = spec.many and not single
        values, owners, failures = result.values, result.owners, result.failures
        for b in bound:
            key = b.key
            if tracked and key in tracked and breakers.is_open(b.plugin, key[1]):
                failures.append(PluginFailure(b.plugin, hook, "circuit breaker open after repeated failures"))
                if stop_at_first:
                    return
                continue
            started = time.perf_counter() if trace else 0.0
            try:
                if b.ctx_only:
                    args: Any = (b.ctx,)
                else:
                    args = [b.ctx if name == "ctx" else kwargs[name] for name in b.argnames]
                if timeout is None:
                    value = b.fn(*args)
                else:
                    value = _with_deadline(host, b.fn, args, timeout)
            except Exception as exc:
                error = str(exc) if isinstance(exc, _Overran) else f"{type(exc).__name__}: {exc}"
                self._failed(b, hook, error, failures, label)
                if stop_at_first:
                    return
                continue
            if trace:
                log.info("hook %s plugin %s institution %s took %.3f ms", hook, b.plugin, key[1],
                         (time.perf_counter() - started) * 1000)
            error = ""
            if expect is None:
                pass
            elif many:
                if value.__class__ is list or isinstance(value, tuple):
                    for item in value:
                        if not isinstance(item, expect):
                            error = f"returned a list holding {type(item).__name__} where {_kind(expect)} belongs"
                            break
                    else:
                        values += value
                        owners += [b.provenance] * len(value)
                else:
                    error = f"returned {type(value).__name__}, not a list of {_kind(expect)}"
            elif value is not None:
                if isinstance(value, expect):
                    values.append(value)
                    owners.append(b.provenance)
                else:
                    error = f"returned {type(value).__name__}, not a {_kind(expect)}"
            if error:
                self._failed(b, hook, error, failures, label)
                if stop_at_first:
                    return
                continue
            if key in tracked:
                breakers.success(b.plugin, key[1])
            if stop_at_first and value is not None:
                return

    def _failed(self, b: _Bound, hook: str, error: str, failures: list[PluginFailure], label: str) -> None:
        where = f"{hook} ({label})" if label else hook
        log.warning("plugin %s failed in %s at %s: %s", b.plugin, where, b.key[1], error)
        self.host.breakers.failure(b.plugin, b.key[1], error)
        failures.append(PluginFailure(b.plugin, hook, error))


_NONE = object()


class _Overran(Exception):
    """A call with a deadline did not answer in time."""


def _with_deadline(host: PluginHost, fn: Callable[..., Any], args: Any, timeout: float) -> Any:
    """Run ``fn(*args)`` in the host's pool and wait at most ``timeout`` seconds (raises _Overran;
    the call itself cannot be killed and ends in its thread, its answer discarded)."""
    future = host.pool.submit(fn, *args)
    try:
        return future.result(timeout=timeout)
    except FutureTimeout as waited:
        # On 3.11 the futures' TimeoutError is the builtin one, so a plugin that raised TimeoutError
        # itself lands here too: that is its own error (re-raised as is), not our deadline.
        if future.done() and future.exception() is waited:
            raise
        future.cancel()
        raise _Overran(f"timed out after {timeout:g} s") from None


def check_view(plugin: Any, ctx: HookContext) -> InstitutionView:
    """A view of one plugin alone at a pseudo-institution, with empty settings: how `nongxin plugins
    check` calls a plugin before it is enabled anywhere, through the same loop as everything else."""
    from nongxin.core.plugins.breaker import Breakers
    from nongxin.core.plugins.host import PluginHost

    host = PluginHost(Breakers(threshold=1_000_000, cooldown_seconds=0))
    host.register(plugin.module, source=plugin.source, fallback_name=plugin.name)
    own = HookContext(ctx.institution_code, ctx.ancestry, {}, plugin.name, ctx.business_date)
    return InstitutionView(host, ctx, {plugin.name: own})

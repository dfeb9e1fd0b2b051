"""Plugin discovery, per-institution dispatch, failure isolation and provenance.

pluggy aborts a whole hook call on the first exception, so every implementation is wrapped at
registration: a raising plugin yields a ``PluginFailure`` in its place, feeds its circuit breaker,
and the caller decides (risk hooks fail closed, notifications skip). The wrapper also swaps in the
plugin's own ``HookContext`` so each plugin sees its own settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from nongxin.core.plugins.breaker import Breakers
from nongxin.sdk import CORE_API_VERSION, hookspecs
from nongxin.sdk.markers import PROJECT
from nongxin.sdk.types import HookContext, PluginFailure, PluginInfo

log = logging.getLogger("nongxin.plugins")
ENTRY_POINT_GROUP = "nongxin"


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    info: PluginInfo
    module: Any
    hooks: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class FailedPlugin:
    name: str
    reason: str
    source: str


@dataclass(frozen=True)
class Provenance:
    """Which plugin, which version and which settings contributed to a result."""

    plugin: str
    version: str
    settings_hash: str


def settings_hash(settings: Mapping[str, Any]) -> str:
    body = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


@dataclass
class HookResult:
    """Answers of the plugins that worked, and the failures of those that did not."""

    values: list[Any] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.failures)


class PluginHost:
    def __init__(self, breakers: Breakers, *, trace: bool = False) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.breakers = breakers
        self.trace = trace
        self.loaded: dict[str, LoadedPlugin] = {}
        self.failed: dict[str, FailedPlugin] = {}
        # (plugin, institution code) -> that plugin's context there; filled by InstitutionView.
        self.contexts: dict[tuple[str, str], HookContext] = {}

    # -- discovery ---------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            source = f"entry point {ep.name} = {ep.value}"
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not stop the core
                self._fail(ep.name, f"import failed: {type(exc).__name__}: {exc}", source)
                continue
            self.register(module, source=source, fallback_name=ep.name)

    def register(self, module: Any, *, source: str = "registered", fallback_name: str | None = None) -> LoadedPlugin | None:
        info = getattr(module, "PLUGIN", None)
        name = str(getattr(info, "name", None) or fallback_name or getattr(module, "__name__", repr(module)))
        if not isinstance(info, PluginInfo):
            return self._fail(name, "declares no PLUGIN = nongxin.sdk.PluginInfo(...)", source)
        try:
            supported = SpecifierSet(info.core_api).contains(CORE_API_VERSION, prereleases=True)
        except InvalidSpecifier:
            return self._fail(name, f"core_api {info.core_api!r} is not a version range", source)
        if not supported:
            return self._fail(name, f"needs core API {info.core_api}, this core provides {CORE_API_VERSION}", source)
        if name in self.loaded:
            return self._fail(name, f"a plugin named {name} is already loaded ({self.loaded[name].source})", source)
        try:
            self.pm.register(module, name=name)
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if self.pm.is_registered(module):
                self.pm.unregister(module)
            return self._fail(name, f"invalid hook: {exc}", source)
        except ValueError as exc:
            return self._fail(name, str(exc), source)
        hooks = tuple(sorted(c.name for c in self._callers(module)))
        for hook in hooks:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.plugin is module:
                    impl.function = self._wrap(name, hook, impl.function, impl.argnames)
        plugin = LoadedPlugin(name, info, module, hooks, source)
        self.loaded[name] = plugin
        self.failed.pop(name, None)
        return plugin

    def _callers(self, module: Any) -> list[Any]:
        return list(self.pm.get_hookcallers(module) or [])

    def _fail(self, name: str, reason: str, source: str) -> LoadedPlugin | None:
        """Record why a plugin was refused; returns None so ``register`` can return it directly."""
        log.error("plugin %s refused: %s", name, reason)
        self.failed[name] = FailedPlugin(name, reason, source)
        return None

    # -- isolation -------------------------------------------------------------------------

    def _wrap(self, plugin: str, hook: str, fn: Callable[..., Any], argnames: tuple[str, ...]) -> Callable[..., Any]:
        ctx_at = argnames.index("ctx") if "ctx" in argnames else None
        contexts, breakers, trace = self.contexts, self.breakers, self.trace

        def call(*args: Any) -> Any:
            institution = ""
            if ctx_at is not None:
                institution = args[ctx_at].institution_code
                own = contexts.get((plugin, institution))
                if own is not None:
                    args = args[:ctx_at] + (own,) + args[ctx_at + 1:]
            if breakers.is_open(plugin, institution):
                return PluginFailure(plugin, hook, "circuit breaker open after repeated failures")
            started = time.perf_counter() if trace else 0.0
            try:
                result = fn(*args)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %s failed in %s at %s: %s", plugin, hook, institution, error)
                breakers.failure(plugin, institution, error)
                return PluginFailure(plugin, hook, error)
            if trace:
                log.info("hook %s plugin %s institution %s took %.3f ms", hook, plugin, institution,
                         (time.perf_counter() - started) * 1000)
            breakers.success(plugin, institution)
            return result

        call.__wrapped__ = fn  # type: ignore[attr-defined]
        return call

    # -- dispatch --------------------------------------------------------------------------

    def caller(self, hook: str, disabled: frozenset[str]) -> "FrozenSubsetCaller":
        modules = [self.loaded[n].module for n in disabled if n in self.loaded]
        return FrozenSubsetCaller(self.pm.subset_hook_caller(hook, remove_plugins=modules))

    def provenance(self, plugin: str, institution: str) -> Provenance:
        ctx = self.contexts.get((plugin, institution))
        return Provenance(plugin, self.loaded[plugin].info.version, settings_hash(ctx.settings if ctx else {}))


class FrozenSubsetCaller:
    """pluggy's subset caller with its filtered implementation list computed once.

    ``subset_hook_caller`` filters the implementations again on every call, which costs a third
    of a one-plugin call. Plugins register only at start-up and a view is dropped whenever a switch
    changes, so the list can be frozen when the view is built. The call itself goes through the same
    ``_hookexec`` pluggy's own subset caller uses.
    """

    __slots__ = ("name", "_impls", "_hookexec", "_firstresult")

    def __init__(self, subset: Any) -> None:
        self.name = subset.name
        self._impls = list(subset.get_hookimpls())
        self._hookexec = subset._hookexec
        self._firstresult = bool(subset.spec and subset.spec.opts.get("firstresult", False))

    def __call__(self, **kwargs: Any) -> Any:
        return self._hookexec(self.name, self._impls, kwargs, self._firstresult)

    def get_hookimpls(self) -> list[Any]:
        return list(self._impls)


class InstitutionView:
    """The plugins as one institution sees them: disabled ones removed, callers cached per hook."""

    def __init__(self, host: PluginHost, ctx: HookContext, enabled: frozenset[str],
                 contexts: Mapping[str, HookContext]) -> None:
        self.host, self.ctx, self.enabled = host, ctx, enabled
        self.disabled = frozenset(host.loaded) - enabled
        self._callers: dict[str, Any] = {}
        for plugin, own in contexts.items():
            host.contexts[(plugin, ctx.institution_code)] = own

    def hook(self, name: str) -> Any:
        caller = self._callers.get(name)
        if caller is None:
            caller = self._callers[name] = self.host.caller(name, self.disabled)
        return caller

    def call(self, name: str, **kwargs: Any) -> HookResult:
        """Call a collecting or notification hook; failures come back separated from answers."""
        result = HookResult()
        for value in self.hook(name)(ctx=self.ctx, **kwargs):
            (result.failures if isinstance(value, PluginFailure) else result.values).append(value)
        return result

    def first(self, name: str, **kwargs: Any) -> HookResult:
        """Call a firstresult hook; a failure stops the chain and is reported, never skipped."""
        value = self.hook(name)(ctx=self.ctx, **kwargs)
        if isinstance(value, PluginFailure):
            return HookResult(failures=[value])
        return HookResult(values=[] if value is None else [value])

    def provenance(self, plugin: str) -> Provenance:
        return self.host.provenance(plugin, self.ctx.institution_code)

"""Plugin discovery and registration: the implementations the dispatch layer calls.

A plugin is a module with ``PLUGIN = PluginInfo(...)`` and ``@hookimpl`` functions; it is loaded
from the ``nongxin`` entry points or registered by the application. A plugin that fails to import,
needs another core API, misspells a hook or brings a hook wrapper is refused with a reason, and
the core still starts. Implementations are registered unwrapped: isolation, breakers, settings,
timeouts and type checks are the dispatch layer's (:mod:`nongxin.core.plugins.dispatch`).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Mapping

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from nongxin.core.plugins.breaker import Breakers
from nongxin.sdk import CORE_API_VERSION, hookspecs
from nongxin.sdk.markers import PROJECT
from nongxin.sdk.types import PluginInfo

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


class PluginHost:
    """The loaded plugins, their breakers, and the per-hook timeouts of hooks that reach outside."""

    def __init__(self, breakers: Breakers, *, trace: bool = False,
                 timeouts: Mapping[str, float] | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.breakers = breakers
        self.trace = trace
        #: hook -> seconds: the dispatch layer runs these hooks with a deadline (see dispatch).
        self.timeouts: dict[str, float] = dict(timeouts or {})
        self.loaded: dict[str, LoadedPlugin] = {}
        self.failed: dict[str, FailedPlugin] = {}
        self._pool: ThreadPoolExecutor | None = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Threads for calls with a deadline; a call that overruns keeps its thread until it returns."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="nongxin-hook")
        return self._pool

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
        wrappers = [hook for hook in hooks for impl in getattr(self.pm.hook, hook).get_hookimpls()
                    if impl.plugin is module and (impl.hookwrapper or impl.wrapper)]
        if wrappers:
            self.pm.unregister(module)
            return self._fail(name, f"hook wrappers are not supported ({', '.join(wrappers)}): the core "
                              "calls every implementation itself", source)
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

"""Which plugins are on where, with which settings; switching them; the per-institution view.

A switch at a node applies to its subtree unless a lower node overrides it. Settings merge from
the province down, lower keys winning, and are validated by the plugin's own schema. Every change
bumps the generation counter so that every worker process drops its cached views on its next
request: a switch takes effect without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, Mapping

import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.clock import Clock
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound, ValidationFailed, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.permissions import Action, may, require
from nongxin.core.plugins.dispatch import InstitutionView
from nongxin.core.plugins.host import FailedPlugin, LoadedPlugin, PluginHost
from nongxin.core.plugin_state.models import PluginGeneration, PluginSwitch
from nongxin.sdk.types import HookContext

def secret_keys(plugin: LoadedPlugin) -> frozenset[str]:
    """Settings the plugin marks write-only: ``metadata={"secret": True}`` or ``load_only=True`` on
    the field of its settings schema. Their values are never returned nor written to the audit."""
    schema_cls = plugin.info.settings_schema
    if schema_cls is None:
        return frozenset()
    try:
        schema = schema_cls()
        declared = dict(schema.fields)
    except Exception:  # a broken schema is reported by resolve(); nothing to reveal either way
        return frozenset()
    keys: set[str] = set()
    for name, fld in declared.items():
        if fld.load_only or (fld.metadata or {}).get("secret"):
            keys.update({name, fld.data_key or name})
    return frozenset(keys)


def redact(settings: Mapping[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    """``settings`` without the values of secret keys (the audit notes that they were set)."""
    return {k: ("(secret)" if k in secrets else v) for k, v in settings.items()}


@dataclass(frozen=True)
class PluginState:
    plugin: str
    enabled: bool
    enabled_source: str  # "default", "set at CODE", "not allowed here"
    allowed: bool
    settings: Mapping[str, Any]
    settings_error: str | None = None


def generation(session: Session) -> int:
    value = session.execute(sa.select(PluginGeneration.value).where(PluginGeneration.id == 1)).scalar()
    return value or 0


def bump_generation(session: Session) -> None:
    """Bump first, before reading the switches: the UPDATE locks the one generation row, so changes
    to plugin state serialize (on PostgreSQL two first-time switches would otherwise both insert
    the same switch row, and the second would fail instead of waiting)."""
    # The migration inserts the row; recreate it if an operator emptied the table.
    bumped = session.execute(sa.update(PluginGeneration).where(PluginGeneration.id == 1)
                             .values(value=PluginGeneration.value + 1))
    if getattr(bumped, "rowcount", 0) == 0:
        session.add(PluginGeneration(id=1, value=1))


def _switches(session: Session, chain: list[Institution]) -> dict[tuple[str, int], PluginSwitch]:
    rows = session.execute(sa.select(PluginSwitch).where(
        PluginSwitch.institution_id.in_([i.id for i in chain]))).scalars()
    return {(r.plugin, r.institution_id): r for r in rows}


def _allowed(plugin: LoadedPlugin, chain: list[Institution]) -> bool:
    allowed = plugin.info.allowed_institutions
    return allowed is None or any(node.code in allowed for node in chain)


def _validate_settings(plugin: LoadedPlugin, raw: Mapping[str, Any]) -> dict[str, Any]:
    schema_cls = plugin.info.settings_schema
    if schema_cls is None:
        if raw:
            raise invalid("settings", f"plugin {plugin.name} takes no settings")
        return {}
    return dict(schema_cls().load(dict(raw)))


def resolve(plugin: LoadedPlugin, chain: list[Institution], switches: Mapping[tuple[str, int], PluginSwitch]) -> PluginState:
    """The effective state at ``chain[-1]`` given the switches along its ancestry."""
    allowed = _allowed(plugin, chain)
    enabled, source = plugin.info.enabled_by_default, "default"
    merged: dict[str, Any] = {}
    for node in chain:
        row = switches.get((plugin.name, node.id))
        if row is None:
            continue
        if row.enabled is not None:
            enabled, source = row.enabled, f"set at {node.code}"
        merged.update(row.settings or {})
    if not allowed:
        enabled, source = False, "not allowed here"
    try:
        settings, error = _validate_settings(plugin, merged), None
    except (ValidationError, ValidationFailed) as exc:
        settings, error = {}, str(getattr(exc, "messages", exc))
        enabled = False
    except Exception as exc:  # the plugin's own schema is broken: fail closed, keep serving
        settings, error = {}, f"settings schema raised {type(exc).__name__}: {exc}"
        enabled = False
    return PluginState(plugin.name, enabled, source, allowed, settings, error)


@dataclass(frozen=True)
class ListedPlugin:
    plugin: LoadedPlugin
    state: PluginState
    breaker: Mapping[str, Any]


@dataclass(frozen=True)
class PluginListing:
    institution: Institution
    plugins: list[ListedPlugin]
    failed: list[FailedPlugin]
    shows_settings: bool


class PluginDirectory:
    """Builds and caches InstitutionViews; one per runtime, shared by all requests of a worker.

    A view is cached per (institution, business date) and dropped when the generation changes
    (a switch or a settings change anywhere): each view binds its plugins' settings immutably, so
    a hook already running keeps the settings it started with."""

    def __init__(self, host: PluginHost, clock: Clock | None = None) -> None:
        self.host = host
        self.clock = clock or Clock()
        self._generation: int | None = None
        self._day: date | None = None
        self._views: dict[tuple[str, date], InstitutionView] = {}

    def view(self, session: Session, institution: Institution) -> InstitutionView:
        current = generation(session)
        day = self.clock.business_date()
        if current != self._generation or day != self._day:  # a switch, or the books moved on
            self._views = {}
            self._generation, self._day = current, day
        key = (institution.code, day)
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = self._build(session, institution, key[1])
        return view

    def _build(self, session: Session, institution: Institution, day: date) -> InstitutionView:
        chain = institutions.ancestry(session, institution)
        switches = _switches(session, chain)
        ancestry = tuple(node.code for node in chain)
        base = HookContext(institution.code, ancestry, business_date=day)
        contexts = {}
        for plugin in self.host.loaded.values():
            state = resolve(plugin, chain, switches)
            if state.enabled:
                contexts[plugin.name] = HookContext(institution.code, ancestry, MappingProxyType(dict(state.settings)),
                                                    plugin.name, day)
        return InstitutionView(self.host, base, contexts)

    def listing(self, session: Session, principal: Principal, code: str) -> PluginListing:
        """Every loaded plugin with its state at ``code`` and its breaker there, and the plugins that
        failed to load; ``shows_settings`` says whether the caller may read settings (the API and
        the CLI both render this)."""
        inst = institutions.visible_for(session, principal, code, Action.PLUGIN_LIST)
        states = {s.plugin: s for s in self.states(session, inst)}
        listed = [ListedPlugin(plugin, states[name], self.host.breakers.status(name, inst.code))
                  for name, plugin in sorted(self.host.loaded.items())]
        failed = sorted(self.host.failed.values(), key=lambda f: f.name)
        return PluginListing(inst, listed, failed, may(principal, Action.PLUGIN_SETTINGS_READ))

    def states(self, session: Session, institution: Institution) -> list[PluginState]:
        chain = institutions.ancestry(session, institution)
        switches = _switches(session, chain)
        return [resolve(p, chain, switches) for p in self.host.loaded.values()]

    # -- changes ---------------------------------------------------------------------------

    def _plugin(self, name: str) -> LoadedPlugin:
        plugin = self.host.loaded.get(name)
        if plugin is None:
            failed = self.host.failed.get(name)
            if failed is not None:
                raise invalid("plugin", f"plugin {name} failed to load: {failed.reason}")
            raise NotFound(f"plugin {name} not found", fields={"plugin": ["not found"]})
        return plugin

    def _target(self, session: Session, principal: Principal, code: str, action: Action) -> Institution:
        inst = institutions.visible(session, principal, code)
        require(principal, action)
        return inst

    def read_settings(self, session: Session, principal: Principal, name: str, code: str) -> PluginState:
        """The plugin's state and effective settings at ``code``, for those who may change them."""
        plugin = self._plugin(name)
        inst = self._target(session, principal, code, Action.PLUGIN_SETTINGS_READ)
        chain = institutions.ancestry(session, inst)
        return resolve(plugin, chain, _switches(session, chain))

    def reset_breaker(self, session: Session, principal: Principal, name: str, code: str) -> Institution:
        """Close the plugin's circuit breaker at ``code`` (in this worker)."""
        self._plugin(name)
        inst = self._target(session, principal, code, Action.PLUGIN_BREAKER_RESET)
        self.host.breakers.reset(name, inst.code)
        return inst

    def _row(self, session: Session, plugin: str, inst: Institution, actor: str) -> PluginSwitch:
        row = session.execute(sa.select(PluginSwitch).where(
            PluginSwitch.plugin == plugin, PluginSwitch.institution_id == inst.id)).scalar_one_or_none()
        if row is None:
            row = PluginSwitch(plugin=plugin, institution_id=inst.id, enabled=None, settings=None, updated_by=actor)
            session.add(row)
        return row

    def switch(self, uow: UnitOfWork, principal: Principal, name: str, code: str, enabled: bool | None) -> PluginState:
        """Enable (True), disable (False) or inherit (None) ``name`` at ``code`` and its subtree."""
        plugin = self._plugin(name)
        inst = self._target(uow.session, principal, code, Action.PLUGIN_SWITCH)
        bump_generation(uow.session)
        chain = institutions.ancestry(uow.session, inst)
        if enabled and not _allowed(plugin, chain):
            allowed = ", ".join(plugin.info.allowed_institutions or ())
            raise ValidationFailed(
                f"plugin {name} may not be enabled at {code}; it is offered only under: {allowed}",
                code="plugin_not_allowed", fields={"institution": [f"{code} is not allowed for {name}"]})
        before = resolve(plugin, chain, _switches(uow.session, chain))
        row = self._row(uow.session, name, inst, principal.username)
        row.enabled, row.updated_by = enabled, principal.username
        uow.flush()
        after = resolve(plugin, chain, _switches(uow.session, chain))
        action = {True: "plugin.enable", False: "plugin.disable", None: "plugin.inherit"}[enabled]
        record(uow.session, actor=principal.username, action=action, target=f"plugin:{name}",
               institution_code=code, before={"enabled": before.enabled, "source": before.enabled_source},
               after={"enabled": after.enabled, "source": after.enabled_source})
        return after

    def set_settings(self, uow: UnitOfWork, principal: Principal, name: str, code: str,
                     values: Mapping[str, Any]) -> PluginState:
        """Set some settings at ``code``; the merged result must pass the plugin's schema."""
        plugin = self._plugin(name)
        inst = self._target(uow.session, principal, code, Action.PLUGIN_SETTINGS_CHANGE)
        bump_generation(uow.session)
        chain = institutions.ancestry(uow.session, inst)
        switches = _switches(uow.session, chain)
        before = resolve(plugin, chain, switches)
        merged: dict[str, Any] = {}
        for node in chain[:-1]:
            merged.update((switches.get((name, node.id)) and switches[(name, node.id)].settings) or {})
        own = dict((switches.get((name, inst.id)) and switches[(name, inst.id)].settings) or {})
        own.update(values)
        try:
            _validate_settings(plugin, {**merged, **own})
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"settings": exc.messages}
            detail = "; ".join(f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in messages.items())
            raise ValidationFailed(f"invalid settings for {name}: {detail}", code="invalid_settings",
                                   fields=messages) from None
        row = self._row(uow.session, name, inst, principal.username)
        row.settings, row.updated_by = own, principal.username
        uow.flush()
        after = resolve(plugin, chain, _switches(uow.session, chain))
        hidden = secret_keys(plugin)
        record(uow.session, actor=principal.username, action="plugin.settings", target=f"plugin:{name}",
               institution_code=code, before=redact(before.settings, hidden),
               after=redact(after.settings, hidden))
        return after

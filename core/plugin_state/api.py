"""Product managers' plugin switchboard."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution
from nongxin.core.plugin_state.models import PluginSwitch
from nongxin.core.permissions import Action
from nongxin.core.plugin_state.services import PluginState, secret_keys
from nongxin.core.schemas import OutSchema, StrictSchema, column_text
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("plugins", __name__, url_prefix="/api/plugins",
                description="Plugins, and their state and settings per institution")


class InstitutionArg(StrictSchema):
    institution = column_text(Institution.code, required=True, metadata={"description": "institution code"})


class SwitchBody(StrictSchema):
    institution = column_text(Institution.code, required=True)


class SettingsBody(StrictSchema):
    institution = column_text(Institution.code, required=True)
    settings = fields.Dict(keys=column_text(PluginSwitch.plugin), required=True)


class BreakerOut(OutSchema):
    state = fields.String(required=True, metadata={"description": "closed or open"})
    consecutive_failures = fields.Integer(required=True)
    last_error = fields.String(required=True, allow_none=True)


class PluginStateOut(OutSchema):
    plugin = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    source = fields.String(required=True, allow_none=True, metadata={"description": "where the switch is set"})
    allowed = fields.Boolean(required=True)
    settings = fields.Dict(required=True, allow_none=True,
                           metadata={"description": "null for callers who may not change them; secrets never"})
    secrets_set = fields.List(fields.String(), metadata={"description": "secret settings that have a value"})
    settings_error = fields.String(required=True, allow_none=True)


class PluginOut(PluginStateOut):
    name = fields.String(required=True)
    version = fields.String(required=True)
    kind = fields.String(required=True)
    description = fields.String(required=True)
    hooks = fields.List(fields.String(), required=True)
    allowed_institutions = fields.List(fields.String(), required=True, allow_none=True)
    status = fields.String(required=True, metadata={"description": "loaded"})
    breaker = fields.Nested(BreakerOut, required=True)


class FailedPluginOut(OutSchema):
    name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "failed"})
    reason = fields.String(required=True)
    source = fields.String(required=True)


class PluginsOut(OutSchema):
    institution = fields.String(required=True)
    plugins = fields.List(fields.Nested(PluginOut), required=True)
    failed = fields.List(fields.Nested(FailedPluginOut), required=True)


def _where(code: str, action: Action) -> Any:
    return institutions.visible_for(uow().session, principal(), code, action)


def _state_json(state: PluginState, *, show_settings: bool = True) -> dict[str, Any]:
    """Settings go only to those who may change them, and never the plugin's secret fields: those
    are write-only, listed by name under ``secrets_set`` when they have a value."""
    body: dict[str, Any] = {"plugin": state.plugin, "enabled": state.enabled, "source": state.enabled_source,
                            "allowed": state.allowed}
    if show_settings:
        plugin = runtime().plugins.host.loaded.get(state.plugin)
        hidden = secret_keys(plugin) if plugin is not None else frozenset()
        body["settings"] = {k: _plain(v) for k, v in state.settings.items() if k not in hidden}
        body["secrets_set"] = sorted(k for k, v in state.settings.items() if k in hidden and v not in (None, ""))
    else:
        body["settings"] = None
    body["settings_error"] = state.settings_error
    return body


def _plain(value: Any) -> Any:
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else value


@blp.route("")
@blp.arguments(InstitutionArg, location="query")
@blp.response(200, PluginsOut)
def list_plugins(args: dict[str, Any]) -> Any:
    """Every plugin: version, kind, hooks, state at the institution and where it comes from,
    circuit-breaker status; and the plugins that failed to load, with the reason."""
    listing = runtime().plugins.listing(uow().session, principal(), args["institution"])
    plugins = [{
        "name": p.plugin.name, "version": p.plugin.info.version, "kind": p.plugin.info.kind.value,
        "description": p.plugin.info.description, "hooks": list(p.plugin.hooks),
        "allowed_institutions": list(p.plugin.info.allowed_institutions or []) or None,
        "status": "loaded", **_state_json(p.state, show_settings=listing.shows_settings), "breaker": p.breaker,
    } for p in listing.plugins]
    failed = [{"name": f.name, "status": "failed", "reason": f.reason, "source": f.source} for f in listing.failed]
    return {"institution": listing.institution.code, "plugins": plugins, "failed": failed}


def _switch(name: str, body: dict[str, Any], enabled: bool | None) -> Any:
    unit = uow()
    state = runtime().plugins.switch(unit, principal(), name, body["institution"], enabled)
    unit.commit()
    return _state_json(state)


@blp.route("/<name>/enable", methods=["POST"])
@blp.arguments(SwitchBody)
@blp.response(200, PluginStateOut)
def enable(body: dict[str, Any], name: str) -> Any:
    """Enable the plugin at the institution and its subtree (product managers and admins)."""
    return _switch(name, body, True)


@blp.route("/<name>/disable", methods=["POST"])
@blp.arguments(SwitchBody)
@blp.response(200, PluginStateOut)
def disable(body: dict[str, Any], name: str) -> Any:
    """Disable the plugin at the institution and its subtree; its hooks stop running there."""
    return _switch(name, body, False)


@blp.route("/<name>/inherit", methods=["POST"])
@blp.arguments(SwitchBody)
@blp.response(200, PluginStateOut)
def inherit(body: dict[str, Any], name: str) -> Any:
    """Remove the switch at the institution so it follows its parent again."""
    return _switch(name, body, None)


@blp.route("/<name>/settings")
@blp.arguments(InstitutionArg, location="query")
@blp.response(200, PluginStateOut)
def get_settings(args: dict[str, Any], name: str) -> Any:
    """The plugin's effective, validated settings at the institution (product managers and admins;
    fields the plugin marks secret are write-only and never returned)."""
    return _state_json(runtime().plugins.read_settings(uow().session, principal(), name, args["institution"]))


@blp.route("/<name>/settings", methods=["PUT"])
@blp.arguments(SettingsBody)
@blp.response(200, PluginStateOut)
def put_settings(body: dict[str, Any], name: str) -> Any:
    """Set settings at the institution; validated by the plugin's schema (422 names the key)."""
    unit = uow()
    state = runtime().plugins.set_settings(unit, principal(), name, body["institution"], body["settings"])
    unit.commit()
    return _state_json(state)


@blp.route("/<name>/reset", methods=["POST"])
@blp.arguments(SwitchBody)
@blp.response(200, BreakerOut)
def reset_breaker(body: dict[str, Any], name: str) -> Any:
    """Close the plugin's circuit breaker at the institution (in this worker)."""
    inst = runtime().plugins.reset_breaker(uow().session, principal(), name, body["institution"])
    return runtime().plugins.host.breakers.status(name, inst.code)

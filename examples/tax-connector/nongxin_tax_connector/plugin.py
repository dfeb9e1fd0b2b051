"""The tax connector as a Nongxin plugin: ``nongxin_connectors`` returns one ConnectorSpec.

Only the 鲁中 county banks that signed the 银税互动 data agreement (Jinan, Tai'an) may switch it on;
elsewhere the data may not be used, so the core refuses to enable it.
"""

from __future__ import annotations

from typing import Any, Mapping

from marshmallow import Schema, fields, validate

from nongxin.sdk import ConnectorSpec, HookContext, PluginInfo, PluginKind, hookimpl, settings_with_defaults
from nongxin.sdk.identity import validate_uscc

from nongxin_tax_connector.records import TAX_GRADES, TaxRecordNotFound, lookup

FIELDS = ("filed_revenue", "tax_grade", "tax_year", "taxpayer_name")

__all__ = ["FIELDS", "PLUGIN", "TAX_GRADES", "TaxRecordNotFound", "fetch", "nongxin_connectors"]


class Settings(Schema):
    timeout_seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0.5, max=30))
    cache_ttl_seconds = fields.Integer(load_default=86400, validate=validate.Range(min=0, max=7 * 86400))


PLUGIN = PluginInfo(
    name="tax_connector", version="1.0.0", kind=PluginKind.CONNECTOR,
    description="银税互动: filed revenue and tax credit grade by unified social credit code",
    allowed_institutions=("JNRCB", "TARCB"), settings_schema=Settings,
)


def _uscc(subject: Any) -> str:
    # Accept what callers naturally hold: the code itself, an Applicant, or a mapping.
    if isinstance(subject, str):
        number = subject
    elif isinstance(subject, Mapping):
        number = subject.get("uscc") or subject.get("id_number") or ""
    else:
        number = getattr(subject, "id_number", "")
    return validate_uscc(number)


def fetch(subject: Any, ctx: HookContext) -> Mapping[str, Any]:
    """The firm's latest filing; raises TaxRecordNotFound naming the code when there is none."""
    record = lookup(_uscc(subject))
    return {"filed_revenue": record.filed_revenue, "tax_grade": record.tax_grade,
            "tax_year": record.tax_year, "taxpayer_name": record.name}


@hookimpl
def nongxin_connectors(ctx: HookContext) -> list[ConnectorSpec]:
    settings = settings_with_defaults(ctx, Settings)
    return [ConnectorSpec(name="tax", fields=FIELDS, fetch=fetch,
                          timeout_seconds=float(settings["timeout_seconds"]),
                          cache_ttl_seconds=int(settings["cache_ttl_seconds"]),
                          description="纳税申报收入与纳税信用等级 (A/B/M/C/D)")]

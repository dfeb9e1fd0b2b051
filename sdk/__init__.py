"""The Nongxin SDK: everything a county bank's plugin may import.

The SDK never imports the core, so a plugin built on it can be written, tested and packaged without
a running province. Hook specifications live in :mod:`nongxin.sdk.hookspecs`; every error the SDK raises on purpose is
under ``NongxinSdkError`` (the tree is drawn in :mod:`nongxin.sdk.errors`).
"""

from nongxin.sdk.errors import InvalidIdentity, InvalidValue, NongxinSdkError, RuleError, WrongValueType
from nongxin.sdk.markers import hookimpl
from nongxin.sdk.types import (
    AmountRange,
    Applicant,
    ApplicationData,
    BatchTerms,
    CollateralData,
    ALLOCATION_ORDER,
    ConnectorSpec,
    COURT_FEEDS,
    Event,
    Finding,
    HookContext,
    LimitResult,
    Outcome,
    PluginFailure,
    PluginInfo,
    PluginKind,
    PREPAYMENT_POLICIES,
    PriceResult,
    ProductSpec,
    REFUSAL_CATEGORIES,
    REPAYMENT_METHODS,
    ScorecardBin,
    ScorecardDevelopment,
    ScorecardGrade,
    ScorecardSpec,
    Valuation,
)
from nongxin.sdk.values import fact, money, round_down, settings_with_defaults

__version__ = "0.1.0"
#: The hook contract's version. Plugins declare the range they support in PluginInfo.core_api.
CORE_API_VERSION = "1.0"

__all__ = [
    "ALLOCATION_ORDER",
    "CORE_API_VERSION",
    "AmountRange",
    "Applicant",
    "ApplicationData",
    "BatchTerms",
    "CollateralData",
    "ConnectorSpec",
    "COURT_FEEDS",
    "Event",
    "Finding",
    "HookContext",
    "InvalidIdentity",
    "InvalidValue",
    "LimitResult",
    "NongxinSdkError",
    "Outcome",
    "PluginFailure",
    "PluginInfo",
    "PluginKind",
    "PREPAYMENT_POLICIES",
    "PriceResult",
    "ProductSpec",
    "REFUSAL_CATEGORIES",
    "REPAYMENT_METHODS",
    "RuleError",
    "ScorecardBin",
    "ScorecardDevelopment",
    "ScorecardGrade",
    "ScorecardSpec",
    "Valuation",
    "WrongValueType",
    "__version__",
    "fact",
    "hookimpl",
    "money",
    "round_down",
    "settings_with_defaults",
]

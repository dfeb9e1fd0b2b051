"""Provenance: which plugin, which version and which settings contributed an answer.

Every answer the dispatch layer returns carries one, so "which rules and plugins decided X" has
an exact answer; the settings hash changes whenever the plugin's settings there change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Generic, Mapping, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Which plugin, which version and which settings contributed to a result."""

    plugin: str
    version: str
    settings_hash: str


@dataclass(frozen=True, slots=True)
class Contribution(Generic[T]):
    """One answer of one plugin, with where it came from."""

    value: T
    provenance: Provenance


def settings_hash(settings: Mapping[str, Any]) -> str:
    body = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]

"""Timestamps carry their time zone in every response, and a path no resource has is a 404 for
every method (never the 405 werkzeug gives when a converter refuses a segment)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

from marshmallow import Schema, fields

from nongxin.core.schemas import Timestamp


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_a_naive_datetime_goes_out_as_utc() -> None:
    assert Timestamp().serialize("at", {"at": datetime(2026, 11, 23, 6, 30)}) == "2026-11-23T06:30:00+00:00"


def test_every_core_schema_datetime_field_keeps_its_time_zone(nongxin_app: Any) -> None:
    naive = [f"{cls.__module__}.{cls.__name__}.{name}" for cls in _subclasses(Schema)
             if cls.__module__.startswith("nongxin.core")
             for name, field in cls._declared_fields.items()  # type: ignore[attr-defined]
             if isinstance(field, fields.DateTime) and not isinstance(field, (Timestamp, fields.AwareDateTime))]
    assert naive == []


def test_audit_timestamps_come_back_with_their_time_zone(nongxin_client: Any, nongxin_demo: Any) -> None:
    entries = nongxin_client.as_user("province.admin").get("/api/audit").get_json()
    assert entries and all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in entries)
    assert datetime.fromisoformat(entries[0]["at"]).utcoffset() == timezone.utc.utcoffset(None)


def test_a_path_segment_no_route_accepts_is_404_for_every_method(nongxin_client: Any, nongxin_demo: Any) -> None:
    admin = nongxin_client.as_user("province.admin")
    for method in ("get", "patch"):
        resp = getattr(admin, method)("/api/institutions/a%04b", json={"name": "x"})
        assert resp.status_code == 404 and resp.get_json()["error"] == "not_found", (method, resp.get_json())
    assert admin.delete("/api/institutions/JNRCB").status_code == 405  # a real resource: a real 405

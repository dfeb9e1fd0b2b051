"""Liveness and readiness for load balancers and for the operator."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint
from marshmallow import fields

from nongxin.core.schemas import OutSchema
from nongxin.core.web import runtime

blp = Blueprint("health", __name__, description="Health of the core")


class HealthOut(OutSchema):
    """Not strict: a component that adds its own health (a key of its own) stays conformant."""

    status = fields.String(required=True, metadata={"description": "ok or degraded"})
    version = fields.String(required=True)
    core_api_version = fields.String(required=True)
    database = fields.Dict(required=True, metadata={"description": "dialect, status (ok or unavailable), reason"})
    schema = fields.Dict(required=True, metadata={"description": "revision, head, status (current or behind), "
                                                  "action"})
    warnings = fields.List(fields.String(), required=True,
                           metadata={"description": "problems that do not stop the service, e.g. the "
                                                    "working-day calendar missing next year's holidays"})


@blp.route("/healthz")
@blp.doc(security=[])
@blp.alt_response(200, schema=HealthOut, description="Healthy")
@blp.alt_response(503, schema=HealthOut, description="Degraded: the database does not answer or is behind")
def healthz() -> tuple[dict[str, Any], int]:
    """Version, whether the database answers, and its schema revision against the one this code
    needs (503 when the database does not answer or its schema is behind: run `nongxin db upgrade`).
    ``warnings`` lists what needs an operator soon without failing the check (200): the working-day
    calendar lacking this year's or, near the year's end, next year's official holidays."""
    from alembic.runtime.migration import MigrationContext

    from nongxin.core.migrate import heads
    from nongxin.sdk import CORE_API_VERSION, __version__

    rt = runtime()
    database: dict[str, Any] = {"dialect": rt.engine.dialect.name}
    schema: dict[str, Any] = {"revision": None, "head": ", ".join(heads())}
    try:
        with rt.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            schema["revision"] = MigrationContext.configure(conn).get_current_revision()
        database["status"] = "ok"
    except Exception as exc:  # the point is to report, not to fail
        database.update(status="unavailable", reason=type(exc).__name__)
    schema["status"] = "current" if schema["revision"] in heads() else "behind"
    if schema["status"] == "behind":
        schema["action"] = "run `nongxin db upgrade`"
    ok = database["status"] == "ok" and schema["status"] == "current"
    warnings = _calendar_warnings() if ok else []
    body = {"status": "ok" if ok else "degraded", "version": __version__,
            "core_api_version": CORE_API_VERSION, "database": database, "schema": schema, "warnings": warnings}
    return body, 200 if ok else 503


def _calendar_warnings() -> list[str]:
    from nongxin.core.calendar import services as calendar

    with runtime().sessions() as session:
        problem = calendar.coverage_problem(runtime().calendar.get(session), runtime().clock.business_date())
    return [problem] if problem else []

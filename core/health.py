"""Liveness and readiness for load balancers and for the operator."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_smorest import Blueprint

from nongxin.core.web import runtime

blp = Blueprint("health", __name__, description="Health of the core")


@blp.route("/healthz")
@blp.doc(security=[])
def healthz() -> tuple[dict[str, Any], int]:
    """Version, and whether the database answers (503 when it does not)."""
    from nongxin.sdk import CORE_API_VERSION, __version__

    rt = runtime()
    database: dict[str, Any] = {"dialect": rt.engine.dialect.name}
    try:
        with rt.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        database["status"] = "ok"
    except Exception as exc:  # the point is to report, not to fail
        database.update(status="unavailable", reason=type(exc).__name__)
    ok = database["status"] == "ok"
    body = {"status": "ok" if ok else "degraded", "version": __version__,
            "core_api_version": CORE_API_VERSION, "database": database}
    return body, 200 if ok else 503

"""Working-day calendar endpoints: read by everyone, changed by the province admin only."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_smorest import Blueprint
from marshmallow import ValidationError

from nongxin.core.calendar import services
from nongxin.core.calendar.domain import DayKind
from nongxin.core.calendar.schemas import DaySet, DayOut, WorkdaysOut, WorkdaysQuery, YearOut, YearQuery
from nongxin.core.errors import ValidationFailed
from nongxin.core.guards import permission_required
from nongxin.core.permissions import Action
from nongxin.core.schemas import Day
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("calendar", __name__, url_prefix="/api/calendar",
                description="Working-day calendar: official holidays, the province's overrides, deadlines")


#: The ``<day>`` segment is documented as a date; ``_day`` checks it.
DAY_PARAMETER = [{"in": "path", "name": "day", "required": True, "description": "YYYY-MM-DD, 1900-2999",
                  "schema": {"type": "string", "format": "date"}}]


def _day(text: str) -> date:
    """The ``<day>`` path segment as a date (422 naming ``day`` when it is not one)."""
    try:
        value: date = Day().deserialize(text)
    except ValidationError as exc:
        reasons = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
        raise ValidationFailed(f"day: {' '.join(map(str, reasons))} (write YYYY-MM-DD)",
                               fields={"day": reasons}) from None
    return value


@blp.route("/days")
@blp.arguments(YearQuery, location="query")
@blp.response(200, YearOut)
def list_days(query: dict[str, Any]) -> Any:
    """A year's holidays and adjusted working days: the package's and the province's overrides."""
    year = query.get("year") or runtime().clock.business_date().year
    return services.list_days(uow(), principal(), year)


@blp.route("/days/<day>", methods=["PUT"], parameters=DAY_PARAMETER)
@permission_required(Action.CALENDAR_CHANGE)
@blp.arguments(DaySet)
@blp.response(200, DayOut)
def set_day(body: dict[str, Any], day: str) -> Any:
    """Make a day a working day or a holiday for the whole province (province admin only)."""
    unit = uow()
    entry = services.set_day(unit, principal(), _day(day), DayKind(body["kind"]), body["note"])
    unit.commit()
    return entry


@blp.route("/days/<day>", methods=["DELETE"], parameters=DAY_PARAMETER)
@permission_required(Action.CALENDAR_CHANGE)
@blp.response(204)
def clear_day(day: str) -> Any:
    """Remove a day's override; the official data (or Monday to Friday) answers again."""
    unit = uow()
    services.clear_day(unit, principal(), _day(day))
    unit.commit()
    return None


@blp.route("/workdays")
@blp.arguments(WorkdaysQuery, location="query")
@blp.response(200, WorkdaysOut)
def add_workdays(query: dict[str, Any]) -> Any:
    """The day ``add`` working days after ``start`` (before it when negative), and whether any day
    counted was estimated (no official data and no override: Monday to Friday assumed)."""
    deadline = services.add_workdays(uow(), principal(), runtime().calendar, query["start"], query["add"])
    return {"start": query["start"], "add": query["add"], "day": deadline.day, "estimated": deadline.estimated}

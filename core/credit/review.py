"""Manual review in three tiers: investigation (调查) by the customer manager who filed the
application, review (审查) by the county's central review centre, approval (审批) by an approver
drawn at random. Each step is due within a number of working days set per county.

``start`` opens the first tier when a decision sends an application to manual review.
"""

from __future__ import annotations

from datetime import date

from nongxin.core.calendar.services import Calendars
from nongxin.core.credit.models import Application, ReviewTask, Tier
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.models import Institution
from nongxin.core.parameters.services import value

DAYS_PARAMETER = {Tier.INVESTIGATION: "review.investigation_days", Tier.REVIEW: "review.review_days",
                  Tier.APPROVAL: "review.approval_days"}


def due_on(uow: UnitOfWork, calendars: Calendars, bank: Institution, tier: Tier, start: date) -> date:
    days = value(uow.session, bank, DAYS_PARAMETER[tier], start)
    return calendars.get(uow.session).add_workdays(start, int(days)).day


def start(uow: UnitOfWork, calendars: Calendars, app: Application, bank: Institution, today: date) -> ReviewTask:
    """Open the investigation task for the customer manager who filed the application."""
    task = ReviewTask(application_id=app.id, tier=Tier.INVESTIGATION, assignee_id=app.filed_by_id,
                      due_on=due_on(uow, calendars, bank, Tier.INVESTIGATION, today))
    uow.session.add(task)
    uow.flush()
    return task

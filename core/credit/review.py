"""Manual review in three tiers: investigation (调查) by the customer manager who filed the
application, review (审查) by a reviewer of the county's central review centre, approval (审批) by
an approver drawn at random. Each step is due within a number of working days set per county.

The promises, all kept here in the services (the API and the CLI only call them):

- ``start`` opens the investigation task when a decision sends an application to manual review.
- ``act`` records one opinion (agree / disagree / return) on the caller's open task and opens the
  next one. 404 for another bank's application first, then 403 for a role that may not act at the
  task's tier, then 403 ``separation_of_duties`` (三台分离: whoever investigated may not review or
  approve, whoever reviewed may not approve), then 403 unless the caller is the task's assignee;
  409 naming the state when the application is not where the task belongs or no task is open.
- Reviewers and approvers are drawn at random among the eligible (active, right role, inside the
  application's county bank, not excluded by separation of duties; approvers also need an
  ``approval_limit`` covering the amount). The seed comes from ``secrets.randbits(64)``; the
  choice is ``random.Random(seed).choice`` over the candidates sorted by id; candidates and seed
  go to the task's ``draw`` and to the audit trail, so ``redo_draw`` re-checks any draw.
- Every step writes an audit entry in the same transaction.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.calendar.services import Calendars
from nongxin.core.credit.applications import transition, visible_application
from nongxin.core.credit.lines import approval_of
from nongxin.core.credit.models import Application, ApplicationStatus, Decision, Opinion, ReviewTask, Tier
from nongxin.core.db import MAX_FEN, UnitOfWork, utcnow
from nongxin.core.errors import Conflict, Forbidden, invalid
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Role, User
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action, may, require
from nongxin.core.plugin_state.services import PluginDirectory
from nongxin.sdk.rules.rule import REFUSAL_CATEGORIES

DAYS_PARAMETER = {Tier.INVESTIGATION: "review.investigation_days", Tier.REVIEW: "review.review_days",
                  Tier.APPROVAL: "review.approval_days"}
#: The action a caller performs by acting on a task of each tier.
ACTION = {Tier.INVESTIGATION: Action.REVIEW_INVESTIGATE, Tier.REVIEW: Action.REVIEW_REVIEW,
          Tier.APPROVAL: Action.REVIEW_APPROVE}
#: The state the application is in while a task of each tier is open.
STATE = {Tier.INVESTIGATION: ApplicationStatus.MANUAL_REVIEW, Tier.REVIEW: ApplicationStatus.MANUAL_REVIEW,
         Tier.APPROVAL: ApplicationStatus.REVIEWED}
ROLE = {Tier.REVIEW: Role.REVIEWER, Tier.APPROVAL: Role.APPROVER}
#: Finest rate an approver may set: a millionth (what the Rate column stores).
RATE_STEP = Decimal("0.000001")


def due_on(uow: UnitOfWork, calendars: Calendars, bank: Institution, tier: Tier, start: date) -> date:
    """The working day ``review.<tier>_days`` working days after ``start`` at ``bank``."""
    days = value(uow.session, bank, DAYS_PARAMETER[tier], start)
    return calendars.get(uow.session).add_workdays(start, int(days)).day


def _bank(uow: UnitOfWork, app: Application) -> Institution:
    bank = uow.session.get(Institution, app.county_bank_id)
    assert bank is not None
    return bank


def _audit(uow: UnitOfWork, app: Application, bank: Institution, *, actor: str, action: str,
           after: dict[str, Any], before: dict[str, Any] | None = None) -> None:
    record(uow.session, actor=actor, action=action, target=f"application:{app.number}",
           institution_code=bank.code, before=before, after=after)


def _open(uow: UnitOfWork, calendars: Calendars, app: Application, tier: Tier, assignee: User, today: date, *,
          actor: str, draw: dict[str, Any] | None = None) -> ReviewTask:
    bank = _bank(uow, app)
    task = ReviewTask(application_id=app.id, tier=tier, assignee_id=assignee.id,
                      due_on=due_on(uow, calendars, bank, tier, today), draw=draw)
    uow.session.add(task)
    uow.flush()
    _audit(uow, app, bank, actor=actor, action=f"review.{tier.value}.assign",
           after={"task": task.id, "tier": tier.value, "assignee": assignee.username,
                  "due_on": task.due_on.isoformat(), **({"draw": draw} if draw else {})})
    return task


def start(uow: UnitOfWork, calendars: Calendars, app: Application, bank: Institution, today: date,
          *, actor: str = "system") -> ReviewTask:
    """Open the investigation task for the customer manager who filed the application."""
    investigator = uow.session.get(User, app.filed_by_id)
    assert investigator is not None
    return _open(uow, calendars, app, Tier.INVESTIGATION, investigator, today, actor=actor)


# -- who did what -----------------------------------------------------------------------------

def tasks_of(uow: UnitOfWork, app: Application) -> list[ReviewTask]:
    return list(uow.session.execute(sa.select(ReviewTask).where(ReviewTask.application_id == app.id)
                                    .order_by(ReviewTask.id)).scalars())


def investigators(uow: UnitOfWork, app: Application) -> set[int]:
    """Whoever filed the application or holds/held one of its investigation tasks."""
    return {app.filed_by_id} | {t.assignee_id for t in tasks_of(uow, app) if t.tier is Tier.INVESTIGATION}


def reviewers(uow: UnitOfWork, app: Application) -> set[int]:
    """Whoever holds or held one of its review tasks."""
    return {t.assignee_id for t in tasks_of(uow, app) if t.tier is Tier.REVIEW}


# -- the draw -----------------------------------------------------------------------------------

class NoEligible(Conflict):
    """Nobody may take the next step; the message says why."""


def candidates(uow: UnitOfWork, app: Application, tier: Tier) -> list[User]:
    """Who may be drawn for ``tier``: active users with the tier's role in the application's county
    bank subtree, not excluded by separation of duties; approvers with authority covering the
    amount. Sorted by id (the draw's order)."""
    bank = _bank(uow, app)
    excluded = investigators(uow, app) | (reviewers(uow, app) if tier is Tier.APPROVAL else set())
    stmt = (sa.select(User).join(Institution, User.institution_id == Institution.id)
            .where(User.active.is_(True), User.role == ROLE[tier], Institution.path.startswith(bank.path))
            .order_by(User.id))
    people = [u for u in uow.session.execute(stmt).scalars() if u.id not in excluded]
    if tier is Tier.APPROVAL:
        people = [u for u in people if u.approval_limit is not None and u.approval_limit >= app.amount]
    if not people:
        why = (f"no active approver of {bank.code} with an approval limit of at least {app.amount} yuan "
               "who neither investigated nor reviewed it" if tier is Tier.APPROVAL else
               f"no active reviewer of {bank.code} who did not investigate it")
        raise NoEligible(f"application {app.number}: {why}",
                         code="no_eligible_approver" if tier is Tier.APPROVAL else "no_eligible_reviewer")
    return people


def redo_draw(draw: dict[str, Any]) -> int:
    """The user id a recorded draw picks: anyone can re-check it from the audit trail."""
    return int(random.Random(int(draw["seed"])).choice(sorted(int(c) for c in draw["candidates"])))


def _draw(uow: UnitOfWork, app: Application, tier: Tier) -> tuple[User, dict[str, Any]]:
    people = candidates(uow, app, tier)
    seed = secrets.randbits(64)
    ids = [u.id for u in people]
    chosen = random.Random(seed).choice(ids)
    draw = {"seed": str(seed), "candidates": ids, "chosen": chosen,
            "usernames": [u.username for u in people], "method": "random.Random(seed).choice(sorted ids)"}
    return next(u for u in people if u.id == chosen), draw


def _assign_drawn(uow: UnitOfWork, calendars: Calendars, app: Application, tier: Tier, today: date, *,
                  actor: str) -> ReviewTask:
    user, draw = _draw(uow, app, tier)
    return _open(uow, calendars, app, tier, user, today, actor=actor, draw=draw)


# -- acting ---------------------------------------------------------------------------------------

@dataclass
class Acted:
    """What ``act`` did: the task acted on, the task opened next (if any), and, when the review
    is recorded but no approver can be drawn, the 409 to report after committing."""

    app: Application
    task: ReviewTask
    next: ReviewTask | None
    waiting: NoEligible | None = None


def open_task(uow: UnitOfWork, app_id: int, *, fresh: bool = False) -> ReviewTask | None:
    """The application's open task (there is at most one); ``fresh`` re-reads rows already loaded."""
    stmt = sa.select(ReviewTask).where(ReviewTask.application_id == app_id, ReviewTask.done_at.is_(None))
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    return uow.session.execute(stmt.order_by(ReviewTask.id.desc())).scalars().first()


def _user(uow: UnitOfWork, principal: Principal) -> User:
    user = uow.session.execute(sa.select(User).where(User.username == principal.username)).scalar_one_or_none()
    if user is None:
        raise Forbidden(f"{principal.username} is not a user who can hold review tasks")
    return user


def _separation(uow: UnitOfWork, app: Application, tier: Tier, user: User) -> None:
    if tier is Tier.INVESTIGATION:
        return
    if user.id in investigators(uow, app):
        raise Forbidden(f"{user.username} investigated application {app.number} and may not "
                        f"{'review' if tier is Tier.REVIEW else 'approve'} it (separation of duties)",
                        code="separation_of_duties")
    if tier is Tier.APPROVAL and user.id in reviewers(uow, app):
        raise Forbidden(f"{user.username} reviewed application {app.number} and may not approve it "
                        "(separation of duties)", code="separation_of_duties")


def _decimal(text: str, field: str, what: str) -> Decimal:
    try:
        number = Decimal(str(text).strip())
    except InvalidOperation:
        raise invalid(field, f"{text!r} is not {what}") from None
    if not number.is_finite():
        raise invalid(field, f"{text!r} is not {what}")
    return number


def parse_yuan(text: str | int | Decimal, field: str = "amount") -> Decimal:
    """A positive amount of yuan in whole fen, from its text (or int/Decimal); 422 naming ``field``."""
    if isinstance(text, (bool, float)):
        raise invalid(field, "must be a decimal string of yuan, never a float")
    amount = _decimal(str(text), field, "a decimal number of yuan")
    if amount <= 0 or amount.scaleb(2) > MAX_FEN or amount != amount.quantize(Decimal("0.01")):
        raise invalid(field, "must be a positive amount in whole fen")
    return amount.quantize(Decimal("0.01"))  # as the Money column gives it back


def _amount(text: str | None, app: Application, approver: User) -> Decimal:
    if text is None or text == "":
        amount = app.amount
    else:
        amount = parse_yuan(text, "amount")
        if amount > app.amount:
            raise invalid("amount", f"{amount} is above the requested amount of {app.amount} yuan")
    if approver.approval_limit is None:
        raise Forbidden(f"{approver.username} has no approval authority", code="no_approval_authority")
    if amount > approver.approval_limit:
        raise invalid("amount", f"{amount} is above your approval limit of {approver.approval_limit} yuan")
    return amount


def _rate(uow: UnitOfWork, directory: PluginDirectory | None, text: str | None, app: Application) -> Decimal | None:
    if text is None or text == "":
        decided = uow.session.execute(sa.select(Decision.rate).where(Decision.application_id == app.id)).scalar()
        return decided
    rate = _decimal(text, "rate", "a decimal annual rate (0.0435 is 4.35%)")
    if not Decimal("0") < rate < Decimal("1") or rate != rate.quantize(RATE_STEP):
        raise invalid("rate", "must be an annual rate between 0 and 1 with at most six decimal places")
    from nongxin.core.credit.products import offered

    where = uow.session.get(Institution, app.institution_id)
    assert where is not None
    products = offered(uow.session, directory, where)[0] if directory is not None else []
    spec = next((p.spec for p in products if p.spec.code == app.product_code), None)
    if spec is None:
        raise invalid("rate", f"product {app.product_code} is not offered at {where.code} now, so no rate "
                      "range can be checked; approve without a rate")
    low, high = spec.annual_rate
    if not low <= rate <= high:
        raise invalid("rate", f"{rate} is outside product {app.product_code}'s annual rate range {low}-{high}")
    return rate.normalize()  # as the Rate column gives it back


def _category(text: str | None) -> str:
    if not text:
        raise invalid("refusal_category", f"required to disagree; one of {', '.join(REFUSAL_CATEGORIES)}")
    if text not in REFUSAL_CATEGORIES:
        raise invalid("refusal_category", f"{text!r} is not one of {', '.join(REFUSAL_CATEGORIES)}")
    return text


def _only(tier: Tier, **given: Any) -> None:
    for name, val in given.items():
        if val not in (None, ""):
            raise invalid(name, f"not taken at the {tier.value} step")


def act(uow: UnitOfWork, principal: Principal, calendars: Calendars, directory: PluginDirectory | None,
        application_id: int, today: date, *, opinion: Opinion, comment: str = "", amount: str | None = None,
        rate: str | None = None, refusal_category: str | None = None) -> Acted:
    """Record ``opinion`` on the caller's open task of the application and open the next step."""
    task = open_task(uow, application_id)
    if task is not None:
        action = ACTION[task.tier]
    else:  # nothing open: any review role may learn the state (after the scope check)
        action = next((a for a in ACTION.values() if may(principal, a)), Action.REVIEW_INVESTIGATE)
    app = visible_application(uow, principal, application_id, action, lock=True)
    # Read the open task again now that the application row is locked: a concurrent step may have
    # closed it (and opened the next) while this request waited for the lock.
    task = open_task(uow, app.id, fresh=True)
    if task is not None and ACTION[task.tier] is not action:
        require(principal, ACTION[task.tier])
    if task is None or app.status is not STATE[task.tier]:
        if app.status is ApplicationStatus.REVIEWED and task is None:
            raise Conflict(f"application {app.number} is reviewed and waits for an approver to be drawn "
                           "(`nongxin review draw`)", code="no_eligible_approver")
        raise Conflict(f"application {app.number} is {app.status.value}; it has no open review task",
                       code="invalid_state")
    user = _user(uow, principal)
    _separation(uow, app, task.tier, user)
    if task.assignee_id != user.id:
        raise Forbidden(f"the {task.tier.value} task of application {app.number} is assigned to someone else",
                        code="not_assignee")
    tier, bank = task.tier, _bank(uow, app)
    if tier is not Tier.APPROVAL:
        _only(tier, amount=amount, rate=rate)
    if opinion is not Opinion.DISAGREE or tier is Tier.REVIEW:
        _only(tier, refusal_category=refusal_category)
    if tier is Tier.INVESTIGATION and opinion is Opinion.RETURN:
        raise invalid("opinion", "return is not possible at the first tier (investigation): agree or disagree")
    if opinion is Opinion.DISAGREE and tier is not Tier.REVIEW:
        task.refusal_category = _category(refusal_category)
    if tier is Tier.APPROVAL and opinion is Opinion.AGREE:
        task.approved_amount = _amount(amount, app, user)
        task.approved_rate = _rate(uow, directory, rate, app)
    elif tier is Tier.APPROVAL:
        _only(tier, amount=amount, rate=rate)
    task.opinion, task.comment, task.done_at = opinion, comment, utcnow()
    _audit(uow, app, bank, actor=principal.username, action=f"review.{tier.value}",
           after={"task": task.id, "opinion": opinion.value, "comment": comment,
                  **({"amount": str(task.approved_amount)} if task.approved_amount is not None else {}),
                  **({"rate": str(task.approved_rate)} if task.approved_rate is not None else {}),
                  **({"refusal_category": task.refusal_category} if task.refusal_category else {})})
    return _next(uow, calendars, principal, app, task, today, directory)


def _next(uow: UnitOfWork, calendars: Calendars, principal: Principal, app: Application, task: ReviewTask,
          today: date, directory: PluginDirectory | None = None) -> Acted:
    me, bank = principal.username, _bank(uow, app)
    if task.opinion is Opinion.DISAGREE and task.tier is not Tier.REVIEW:
        app.refusal_category = task.refusal_category
        transition(uow, app, ApplicationStatus.REJECTED, actor=me, bank_code=bank.code,
                   note=f"{task.tier.value}: {task.refusal_category}")
        return Acted(app, task, None)
    if task.tier is Tier.INVESTIGATION:  # agree
        return Acted(app, task, _assign_drawn(uow, calendars, app, Tier.REVIEW, today, actor=me))
    if task.tier is Tier.REVIEW:
        if task.opinion is Opinion.RETURN:
            investigator = uow.session.get(User, app.filed_by_id)
            assert investigator is not None
            return Acted(app, task, _open(uow, calendars, app, Tier.INVESTIGATION, investigator, today, actor=me))
        transition(uow, app, ApplicationStatus.REVIEWED, actor=me, bank_code=bank.code,
                   note=f"review: {task.opinion.value if task.opinion else ''}")
        try:
            return Acted(app, task, _assign_drawn(uow, calendars, app, Tier.APPROVAL, today, actor=me))
        except NoEligible as exc:
            _audit(uow, app, bank, actor=me, action="review.approval.no_eligible_approver",
                   after={"reason": exc.message})
            return Acted(app, task, None, waiting=exc)
    if task.opinion is Opinion.RETURN:  # approval -> back to review
        transition(uow, app, ApplicationStatus.MANUAL_REVIEW, actor=me, bank_code=bank.code,
                   note="approval: returned to review")
        return Acted(app, task, _assign_drawn(uow, calendars, app, Tier.REVIEW, today, actor=me))
    app.approved_amount, app.approved_rate = task.approved_amount, task.approved_rate
    transition(uow, app, ApplicationStatus.APPROVED, actor=me, bank_code=bank.code,
               note=f"approval: {task.approved_amount} yuan", approval=approval_of(uow, directory, app, today))
    return Acted(app, task, None)


def draw_approver(uow: UnitOfWork, principal: Principal, calendars: Calendars, application_id: int,
                  today: date) -> ReviewTask:
    """Draw the approver of a reviewed application that has none (none was eligible when it was
    reviewed; a county admin has since set approval limits). County admins and above."""
    app = visible_application(uow, principal, application_id, Action.REVIEW_OVERDUE, lock=True)
    if app.status is not ApplicationStatus.REVIEWED or open_task(uow, app.id) is not None:
        raise Conflict(f"application {app.number} is {app.status.value}"
                       + (" and has an open task" if open_task(uow, app.id) else ""), code="invalid_state")
    return _assign_drawn(uow, calendars, app, Tier.APPROVAL, today, actor=principal.username)


# -- reading ----------------------------------------------------------------------------------------

def review_of(uow: UnitOfWork, principal: Principal, application_id: int) -> tuple[Application, list[ReviewTask]]:
    """The application and its review tasks with opinions, oldest first."""
    app = visible_application(uow, principal, application_id, Action.APPLICATION_READ)
    return app, tasks_of(uow, app)


def overdue(uow: UnitOfWork, principal: Principal, institution_code: str | None,
            today: date) -> tuple[Institution, list[tuple[ReviewTask, Application]]]:
    """Open tasks due before ``today`` of applications filed in the institution's subtree."""
    inst = institutions.visible_for(uow.session, principal, institution_code or principal.institution_code,
                                    Action.REVIEW_OVERDUE)
    rows = uow.session.execute(
        sa.select(ReviewTask, Application).join(Application, ReviewTask.application_id == Application.id)
        .join(Institution, Application.institution_id == Institution.id)
        .where(ReviewTask.done_at.is_(None), ReviewTask.due_on < today,
               Application.status.in_([ApplicationStatus.MANUAL_REVIEW, ApplicationStatus.REVIEWED]),
               Institution.path.startswith(inst.path))
        .order_by(ReviewTask.due_on, ReviewTask.id)).all()
    return inst, [(t, a) for t, a in rows]


def set_approval_limit(uow: UnitOfWork, principal: Principal, username: str,
                       amount: str | Decimal | None) -> User:
    """An approver's authority (授权额度); None takes it away. County admins of the user's subtree."""
    from nongxin.core.institutions.users import visible_user

    user = visible_user(uow.session, principal, username)
    require(principal, Action.USER_ACTIVATE)
    limit = None if amount is None else parse_yuan(amount)
    if limit is not None:
        if user.role is not Role.APPROVER:
            raise invalid("username", f"{username} is a {user.role.value}; only approvers have an approval limit")
    before = user.approval_limit
    user.approval_limit = limit
    record(uow.session, actor=principal.username, action="user.approval_limit", target=f"user:{username}",
           institution_code=user.institution.code,
           before={"approval_limit": None if before is None else str(before)},
           after={"approval_limit": None if limit is None else str(limit)})
    return user

"""``GET /api/tasks``, ``POST /api/tasks/{id}/close``, ``POST /api/tasks/{id}/reassign``: warning
tasks in the caller's subtree (``core.early_warning.tasks``).

The promises: another county bank's task is 404; closing needs findings, a disposal and evidence
(422 naming the field, nothing written), an open task (409 ``task_closed``) and, for a customer
manager, a task assigned to them (403 ``not_assigned``); closing closes the warning in the same
transaction. Reassigning names an active customer manager or post-loan checker of the task's county
bank (422 naming ``to``).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.early_warning import tasks as service
from nongxin.core.early_warning.domain import DISPOSALS
from nongxin.core.early_warning.warnings_api import WarningTaskOut
from nongxin.core.institutions.models import Institution, User
from nongxin.core.schemas import StrictSchema, Text, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("warning_tasks", __name__, url_prefix="/api/tasks",
                description="Warning tasks (预警任务): list, close with findings, reassign")


def _who(**kwargs: Any) -> Text:
    return column_text(User.username, metadata={"description": "me, or a username"}, **kwargs)


class WarningTaskQuery(StrictSchema):
    assigned_to = _who(load_default=None)
    escalated_to = _who(load_default=None)
    overdue = fields.Boolean(load_default=False)
    escalated = fields.Boolean(load_default=False)
    status = Text(max_length=16, load_default=None, metadata={"enum": ["open", "closed"]})
    institution = column_text(Institution.code, load_default=None)
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class WarningTaskCloseIn(StrictSchema):
    findings = Text(max_length=service.MAX_FINDINGS, multiline=True, required=True)
    disposal = Text(max_length=16, required=True, validate=validate.OneOf(list(DISPOSALS)),
                             metadata={"enum": list(DISPOSALS)})
    evidence = fields.List(Text(max_length=service.MAX_EVIDENCE), required=True,
                           validate=validate.Length(min=1, max=service.MAX_EVIDENCE_ITEMS),
                           metadata={"description": "references: document ids, photo names"})


class WarningTaskReassignIn(StrictSchema):
    to = column_text(User.username, required=True)
    note = Text(max_length=500, load_default="")


@blp.route("")
@blp.arguments(WarningTaskQuery, location="query")
@blp.response(200, WarningTaskOut(many=True))
def list_tasks(args: dict[str, Any]) -> Any:
    """Warning tasks in the caller's subtree, earliest due first."""
    unit, today = uow(), runtime().clock.business_date()
    found = service.list_tasks(unit, principal(), service.TaskFilters(**args), today)
    return service.task_rows(unit, found, today)


@blp.route("/<int:task_id>/close", methods=["POST"])
@blp.arguments(WarningTaskCloseIn)
@blp.response(200, WarningTaskOut)
@blp.alt_response(409, response="CONFLICT", description="the task is already closed")
def close(body: dict[str, Any], task_id: int) -> Any:
    """Close an open task, and its warning, with findings, a disposal and evidence."""
    unit, today = uow(), runtime().clock.business_date()
    task = service.close_task(unit, principal(), task_id,
                              service.Closing(body["findings"], body["disposal"], body["evidence"]), today)
    row = service.task_rows(unit, [task], today)[0]
    unit.commit()
    return row


@blp.route("/<int:task_id>/reassign", methods=["POST"])
@blp.arguments(WarningTaskReassignIn)
@blp.response(200, WarningTaskOut)
@blp.alt_response(409, response="CONFLICT", description="the task is closed")
def reassign(body: dict[str, Any], task_id: int) -> Any:
    """Hand an open task to another customer manager or post-loan checker of its county bank."""
    unit, today = uow(), runtime().clock.business_date()
    task = service.reassign_task(unit, principal(), task_id, body["to"], body["note"], today)
    row = service.task_rows(unit, [task], today)[0]
    unit.commit()
    return row

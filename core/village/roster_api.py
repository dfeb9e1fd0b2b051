"""``POST /api/villages/roster``: import a village roster (multipart: the file, and the form fields
``grid`` and ``manager``), all or nothing; a 422 lists every bad row by its line (``fields`` keyed
"line N"). The grid must be one the caller sees (404), the caller must hold ``village.import``."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import fields

from nongxin.core.guards import permission_required
from nongxin.core.importing import read_bytes
from nongxin.core.institutions.models import Institution, User
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, column_text
from nongxin.core.village.roster import COLUMNS, import_roster
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("village_roster", __name__, url_prefix="/api/villages", description="Village rosters (花名册)")


class RosterUpload(StrictSchema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8 or GBK) or .xlsx with the roster columns "
                                           "listed in the README"})


class RosterOptions(StrictSchema):
    grid = column_text(Institution.code, required=True, metadata={"description": "the grid (or branch) the "
                                                                  "households are filed at"})
    manager = column_text(User.username, required=True, metadata={"description": "their customer manager"})


class RosterOut(OutSchema):
    rows = fields.Integer(required=True)
    villages_created = fields.Integer(required=True)
    households_created = fields.Integer(required=True)
    households_updated = fields.Integer(required=True)
    members_created = fields.Integer(required=True)
    members_updated = fields.Integer(required=True, metadata={"description": "already in the household; changed"})
    members_linked = fields.Integer(required=True, metadata={"description": "on file outside any household; linked in"})


@blp.route("/roster", methods=["POST"])
@permission_required(Action.VILLAGE_IMPORT)
@blp.arguments(RosterOptions, location="form")
@blp.arguments(RosterUpload, location="files")
@blp.response(200, RosterOut)
def import_village_roster(form: dict[str, Any], files: dict[str, Any]) -> Any:
    """Import a village roster: households and members become customer files of the grid's county
    bank; a re-import updates, never duplicates."""
    upload = files["file"]
    name = upload.filename or "upload"
    table = read_bytes(upload.read(), name=name, columns=COLUMNS)
    report = import_roster(uow(), principal(), table, grid=form["grid"], manager=form["manager"], file_name=name,
                           today=runtime().clock.business_date())
    return report.counts()

"""Court list endpoints: ``POST /api/watchlists/import`` (a CSV/.xlsx upload or JSON rows, all or
nothing, ``watchlist.import``) and ``GET /api/watchlists`` (entries the caller's county banks see,
``warning.read``; identity numbers masked unless the caller may see customers' in full)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import ValidationError, fields, validate

from nongxin.core.customers.services import shows_full_id
from nongxin.core.early_warning import watchlists
from nongxin.core.errors import UnsupportedMediaType, ValidationFailed, flat_fields
from nongxin.core.guards import permission_required
from nongxin.core.importing import read_bytes
from nongxin.core.permissions import Action
from nongxin.core.schemas import OutSchema, StrictSchema, Text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.web import principal, uow
from nongxin.sdk.identity import mask_identity

blp = Blueprint("watchlists", __name__, url_prefix="/api/watchlists",
                description="Court lists (法院被执行人 / 限制高消费 / 失信被执行人) for the post-loan scan")

_KIND = validate.OneOf(watchlists.KINDS)
MAX_ROWS = 10_000


class WatchlistRowIn(StrictSchema):
    id_number = Text(required=True, max_length=40)
    name = Text(required=True, max_length=100)
    case_no = Text(required=True, max_length=64)
    court = Text(load_default="", max_length=100)
    listed_on = Text(required=True, max_length=10, metadata={"description": "YYYY-MM-DD"})
    delisted_on = Text(load_default=None, allow_none=True, max_length=10, metadata={"description": "YYYY-MM-DD"})


class WatchlistImportIn(StrictSchema):
    kind = fields.String(required=True, validate=_KIND)
    county = Text(load_default=None, allow_none=True, max_length=32,
                  metadata={"description": "county bank code; the province admin may omit it for the whole province"})
    rows = fields.List(fields.Nested(WatchlistRowIn), required=True, validate=validate.Length(min=1, max=MAX_ROWS))


class WatchlistImportOut(OutSchema):
    kind = fields.String(required=True)
    county_bank = fields.String(allow_none=True, required=True, metadata={"description": "null: the whole province"})
    added = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)


class WatchlistFilter(StrictSchema):
    kind = Text(max_length=32, validate=_KIND)
    id_number = Text(max_length=40)
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(1, MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10**9))


class WatchlistEntryOut(OutSchema):
    kind = fields.String(required=True)
    county_bank = fields.String(allow_none=True, required=True, metadata={"description": "null: the whole province"})
    id_number = fields.String(required=True, metadata={"description": "masked unless the caller may see it whole"})
    name = fields.String(required=True)
    case_no = fields.String(required=True)
    court = fields.String(required=True)
    listed_on = fields.Date(required=True)
    delisted_on = fields.Date(allow_none=True, required=True)
    source = fields.String(required=True)


_BODY = {"content": {
    "application/json": {"schema": WatchlistImportIn},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "kind"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "CSV (UTF-8 or GBK) or .xlsx: id_number, name, case_no, court, listed_on, delisted_on"},
        "kind": {"type": "string", "enum": list(watchlists.KINDS)},
        "county": {"type": "string"}}}}}}


def _form() -> tuple[str, str | None, Any, str]:
    problems: dict[str, list[str]] = {}
    kind = request.form.get("kind", "")
    if kind not in watchlists.KINDS:
        problems["kind"] = [f"one of {', '.join(watchlists.KINDS)}"]
    upload = request.files.get("file")
    if upload is None:
        problems["file"] = ["required: the court list file"]
    unknown = sorted(set(request.form) - {"kind", "county"}) + sorted(set(request.files) - {"file"})
    for name in unknown:
        problems[name] = ["unknown field"]
    if problems:
        raise ValidationFailed("the upload needs a court list file and its kind", fields=problems)
    assert upload is not None
    name = upload.filename or "upload"
    table = read_bytes(upload.read(), name=name, columns=watchlists.COLUMNS)
    return kind, request.form.get("county") or None, table, name


@blp.route("/import", methods=["POST"])
@permission_required(Action.WATCHLIST_IMPORT)
@blp.doc(requestBody=_BODY)
@blp.response(200, WatchlistImportOut)
def import_watchlist() -> Any:
    """Load a court list, all or nothing: a multipart upload (``file``, ``kind``, ``county``) or
    JSON ``{kind, county, rows}``. A 422 lists every bad row by its line (JSON rows: row n is line
    n + 1). Loading again updates entries (e.g. ``delisted_on``), never duplicates them."""
    if request.mimetype == "multipart/form-data":
        kind, county, table, source = _form()
    elif request.is_json:
        try:
            body = WatchlistImportIn().load(request.get_json(silent=True) if request.get_data() else None)
        except ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, dict) else {"body": exc.messages}
            raise ValidationFailed("the court list body is not valid", fields=flat_fields(messages)) from None
        kind, county, source = body["kind"], body["county"], "api"
        table = watchlists.rows_table(body["rows"])
    else:
        raise UnsupportedMediaType("send multipart/form-data with a file, or JSON rows",
                                   fields={"body": ["multipart/form-data or application/json"]})
    return watchlists.load(uow(), principal(), table, kind=kind, county=county, source=source).as_dict()


@blp.route("")
@permission_required(Action.WARNING_READ)
@blp.arguments(WatchlistFilter, location="query")
@blp.response(200, WatchlistEntryOut(many=True))
def list_watchlist(args: dict[str, Any]) -> Any:
    """Court list entries of the caller's county banks and the province's, newest listing first."""
    me = principal()
    full = shows_full_id(me)
    return [{"kind": e.kind, "county_bank": bank, "id_number": e.id_number if full else mask_identity(e.id_number),
             "name": e.name, "case_no": e.case_no, "court": e.court, "listed_on": e.listed_on,
             "delisted_on": e.delisted_on, "source": e.source}
            for e, bank in watchlists.listing(uow(), me, **args)]

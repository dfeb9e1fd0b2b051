"""Customer file endpoints (客户档案): file one, search the caller's subtree, show one, import a file.

A customer outside the caller's subtree is 404 like one that does not exist; identity numbers are
masked for roles without ``customer.full_id``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from nongxin.core.customers import services
from nongxin.core.customers.importer import COLUMNS, import_table
from nongxin.core.customers.models import Customer
from nongxin.core.customers.schemas import CustomerCreate, CustomerFilter, CustomerOut, ImportOut, ImportUpload
from nongxin.core.guards import permission_required
from nongxin.core.importing import read_bytes
from nongxin.core.permissions import Action
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("customers", __name__, url_prefix="/api/customers", description="Customer files (客户档案)")


def customer_json(customer: Customer, *, with_members: bool = False) -> dict[str, Any]:
    """A customer file as the caller may see it."""
    me = principal()
    rep = customer.legal_representative
    household = customer.household
    out: dict[str, Any] = {
        "id": customer.id, "kind": customer.kind.value, "id_number": services.shown_id(me, customer),
        "name": customer.name, "birth_date": customer.birth_date, "sex": customer.sex, "phone": customer.phone,
        "address": customer.address, "occupation": customer.occupation, "employer": customer.employer,
        "segment": customer.segment, "annual_income": customer.annual_income,
        "county_bank": customer.county_bank.code, "grid": customer.grid.code, "manager": customer.manager.username,
        "legal_representative": None if rep is None else {
            "id": rep.id, "name": rep.name, "id_number": services.shown_id(me, rep)},
        "household": None if household is None else {
            "id": household.id, "village": household.village, "group": household.group_name,
            "household_no": household.household_no,
            "relation": customer.relation.value if customer.relation else None},
        "created_by": customer.created_by, "created_at": customer.created_at,
    }
    if with_members and household is not None:
        out["household"]["members"] = [
            {"id": m.id, "name": m.name, "relation": m.relation.value if m.relation else None}
            for m in services.members(uow(), household)]
    return out


@blp.route("", methods=["POST"])
@permission_required(Action.CUSTOMER_CREATE)
@blp.arguments(CustomerCreate)
@blp.response(201, CustomerOut)
@blp.alt_response(409, response="CONFLICT")
def create_customer(body: dict[str, Any]) -> Any:
    """File a customer at a grid or branch the caller sees (409 naming the existing file if the
    county bank has one for this identity number)."""
    household = body.pop("household")
    data = services.CustomerInput(**body, household=services.HouseholdInput(**household) if household else None)
    unit = uow()
    customer = services.create_customer(unit, principal(), data, today=runtime().clock.business_date())
    unit.commit()
    return customer_json(customer)


@blp.route("")
@blp.arguments(CustomerFilter, location="query")
@blp.response(200, CustomerOut(many=True))
def list_customers(args: dict[str, Any]) -> Any:
    """Search the customers of the caller's subtree by part of the name, the whole identity
    number, grid (and below) and manager; oldest first."""
    found = services.search(uow(), principal(), services.Search(**args))
    return [customer_json(c) for c in found]


@blp.route("/<int:customer_id>")
@blp.response(200, CustomerOut)
def show_customer(customer_id: int) -> Any:
    """One customer file, with its household's members and its legal representative."""
    return customer_json(services.visible_customer(uow(), principal(), customer_id), with_members=True)


@blp.route("/import", methods=["POST"])
@permission_required(Action.CUSTOMER_IMPORT)
@blp.arguments(ImportUpload, location="files")
@blp.response(200, ImportOut)
def import_customers(files: dict[str, Any]) -> Any:
    """Import customer files from CSV or .xlsx (multipart field ``file``): all or nothing; a 422
    lists every bad row by its line number."""
    upload = files["file"]
    table = read_bytes(upload.read(), name=upload.filename or "upload", columns=COLUMNS)
    unit = uow()
    report = import_table(unit, principal(), table, today=runtime().clock.business_date())
    return {"imported": len(report.imported), "customers": report.imported}

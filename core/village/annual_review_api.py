"""The annual review (年检) over HTTP; every check lives in ``village.annual_review``.

* ``POST /api/annual-reviews/run`` {institution?} (line.review): the review of the county banks
  under the institution (default: the caller's), on the business date; the summary per bank.
* ``GET /api/annual-reviews?institution=&result=&business_date=`` (credit_line.read): the reviews of
  lines granted in the caller's subtree, newest first.
* ``GET /api/credit-lines/{id}/reviews`` (credit_line.read): one line's reviews.

Another county bank's institution or line is 404, like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import fields, validate

from nongxin.core.institutions.models import Institution
from nongxin.core.schemas import Day, OutSchema, StrictSchema, column_text
from nongxin.core.scoping import MAX_PAGE, PAGE
from nongxin.core.village import annual_review as services
from nongxin.core.village.annual_review_domain import ON_SITE, PASSED
from nongxin.core.web import principal, runtime, uow

blp = Blueprint("annual_reviews", __name__, url_prefix="/api", description="The annual review of credit lines (年检)")


class RunIn(StrictSchema):
    institution = column_text(Institution.code, load_default=None,
                              metadata={"description": "a county bank or above (default: the caller's institution)"})


class ReviewQuery(StrictSchema):
    institution = column_text(Institution.code, load_default=None)
    result = column_text(services.LineReview.result, load_default=None,
                         validate=validate.OneOf((PASSED, ON_SITE), error="use passed or on_site"))
    business_date = Day(load_default=None)
    limit = fields.Integer(load_default=PAGE, validate=validate.Range(min=1, max=MAX_PAGE))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


class BankReviewOut(OutSchema):
    county_bank = fields.String(required=True)
    due = fields.Integer(required=True)
    passed = fields.Integer(required=True)
    on_site = fields.Integer(required=True)
    frozen = fields.Integer(required=True)
    reduced = fields.Integer(required=True)
    tasks_opened = fields.Integer(required=True)
    failures = fields.List(fields.String(), required=True)


class RunOut(OutSchema):
    as_of = fields.Date(required=True)
    deadline_estimated = fields.Boolean(required=True)
    banks = fields.List(fields.Nested(BankReviewOut), required=True)


class ReviewOut(OutSchema):
    id = fields.Integer(required=True)
    credit_line_id = fields.Integer(required=True)
    line_number = fields.String(required=True)
    due_on = fields.Date(required=True)
    business_date = fields.Date(required=True)
    result = fields.String(required=True, metadata={"enum": [PASSED, ON_SITE]})
    action = fields.String(required=True, metadata={"enum": ["none", "frozen", "reduced"]})
    amount_before = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    amount_after = fields.String(required=True, metadata={"description": "yuan, a decimal string"})
    recomputed_limit = fields.String(required=True, allow_none=True,
                                     metadata={"description": "the graded limit on the refreshed facts (yuan)"})
    rule_hits = fields.List(fields.String(), required=True)
    reasons = fields.List(fields.String(), required=True)
    facts = fields.Dict(required=True, metadata={"description": "the facts read: values, types, bureau query, "
                                                                "connectors, court lists, non-performing loans"})
    warning_id = fields.Integer(required=True, allow_none=True,
                                metadata={"description": "the on-site check's warning (its task follows it up)"})


class ReviewListOut(OutSchema):
    items = fields.List(fields.Nested(ReviewOut), required=True)


@blp.route("/annual-reviews/run", methods=["POST"])
@blp.arguments(RunIn)
@blp.response(200, RunOut)
def run(body: dict[str, Any]) -> Any:
    """Review every line falling due in the county banks under the institution (idempotent per
    business date): the counts per bank; a bank that failed names its problem."""
    return services.run_for(uow(), principal(), runtime(), body.get("institution"))


@blp.route("/annual-reviews")
@blp.arguments(ReviewQuery, location="query")
@blp.response(200, ReviewListOut)
def list_reviews(args: dict[str, Any]) -> Any:
    """Reviews of the lines granted in the caller's subtree, newest first."""
    filters = services.ReviewFilters(args.get("institution"), args.get("result"), args.get("business_date"),
                                     args["limit"], args["offset"])
    return {"items": services.list_reviews(uow(), principal(), filters)}


@blp.route("/credit-lines/<int:line_id>/reviews")
@blp.response(200, ReviewListOut)
def line_reviews(line_id: int) -> Any:
    """One line's annual reviews, newest first."""
    return {"items": services.line_reviews(uow(), principal(), line_id)}

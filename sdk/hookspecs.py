"""The hook contract between the core and every plugin: the one file plugin authors read.

Each hook says what it is for, what each parameter holds, what to return and its failure policy:

* **fail closed** (risk hooks): if a plugin raises, the core records which plugin failed and the
  application or query goes to manual review; a failure is never read as approval.
* **skip and log** (notification hooks): the failing plugin is skipped and logged; the others run.

In every hook ``ctx`` is a :class:`~nongxin.sdk.types.HookContext` holding the institution the
call is for, *this plugin's* validated settings there and the bank's business date
(``ctx.business_date``: decide by it, never by the system date). A hook runs only where its plugin
is enabled. The core checks the type of every answer: an answer of another type than the one
stated here counts as a failure of the plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from nongxin.sdk.markers import hookspec

if TYPE_CHECKING:
    from nongxin.sdk.bureau import AuthorizationRef, BureauReport, BureauSubject, Purpose
    from nongxin.sdk.rules import Rule
    from nongxin.sdk.types import (
        ApplicationData, BatchTerms, CollateralData, ConnectorSpec, Event, Finding, HookContext, LimitResult,
        PriceResult, ProductSpec, ScorecardSpec, Valuation,
    )

FAIL_CLOSED = "fail_closed"
SKIP_AND_LOG = "skip_and_log"

#: Failure policy of every hook, read by the core's dispatcher.
FAILURE_POLICY: dict[str, str] = {
    "nongxin_products": FAIL_CLOSED,
    "nongxin_connectors": FAIL_CLOSED,
    "nongxin_rules": FAIL_CLOSED,
    "nongxin_scorecards": FAIL_CLOSED,
    "nongxin_assess_application": FAIL_CLOSED,
    "nongxin_credit_limit": FAIL_CLOSED,
    "nongxin_price": FAIL_CLOSED,
    "nongxin_batch_terms": FAIL_CLOSED,
    "nongxin_bureau_query": FAIL_CLOSED,
    "nongxin_value_collateral": FAIL_CLOSED,
    "nongxin_on_decision": SKIP_AND_LOG,
    "nongxin_on_credit_granted": SKIP_AND_LOG,
    "nongxin_on_warning": SKIP_AND_LOG,
    "nongxin_on_disbursed": SKIP_AND_LOG,
}


@hookspec
def nongxin_products(ctx: HookContext) -> list[ProductSpec]:
    """Collect the loan products this plugin offers.

    Parameters:
        ctx: the institution and this plugin's settings there (e.g. a ceiling amount).

    Return a list of ProductSpec (codes unique across the province).
    Failure policy: fail closed; the plugin's products are not offered while it fails.
    """


@hookspec
def nongxin_connectors(ctx: HookContext) -> list[ConnectorSpec]:
    """Collect the external data connectors (tax, courts, registries, ...) this plugin provides.

    Parameters:
        ctx: the institution and this plugin's settings there (endpoints, timeouts).

    Return a list of ConnectorSpec whose ``fetch(subject, ctx)`` returns the declared fields.
    Failure policy: fail closed; an application needing the data goes to manual review.
    """


@hookspec
def nongxin_rules(ctx: HookContext) -> list[Rule]:
    """Collect rule packs: admission, post-loan and collateral rules in the rule language.

    Parameters:
        ctx: the institution and this plugin's settings there.

    Return a list of ``nongxin.sdk.rules.Rule``.
    Failure policy: fail closed; without the rules a decision goes to manual review.
    """


@hookspec
def nongxin_scorecards(ctx: HookContext) -> list[ScorecardSpec]:
    """Collect segment scorecards (bins to points).

    Parameters:
        ctx: the institution and this plugin's settings there.

    Return a list of ScorecardSpec.
    Failure policy: fail closed.
    """


@hookspec
def nongxin_assess_application(
    application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext
) -> list[Finding]:
    """Add product-specific findings about an application.

    Parameters:
        application: the application being decided.
        facts: flat facts gathered so far (bureau summary, connector data, form data).
        ctx: the institution and this plugin's settings there.

    Return a list of Finding (empty when nothing to say).
    Failure policy: fail closed; the application goes to manual review.
    """


@hookspec(firstresult=True)
def nongxin_credit_limit(
    application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext
) -> LimitResult | None:
    """Compute the credit limit of the application's product (the first answer wins).

    Parameters:
        application: the application; answer only for your own ``application.product_code``.
        facts: flat facts gathered so far.
        ctx: the institution and this plugin's settings there.

    Return a LimitResult, or None when the product is not yours.
    Failure policy: fail closed; no limit means manual review.
    """


@hookspec(firstresult=True)
def nongxin_price(
    application: ApplicationData, facts: Mapping[str, Any], ctx: HookContext
) -> PriceResult | None:
    """Price the application's product (the first answer wins).

    Loan rates are the LPR plus a spread. The LPR is a dated province parameter the core keeps
    (``nongxin parameters``); the facts carry the values in force on the business date as
    ``lpr_1y`` (1-year) and ``lpr_5y`` (over-5-year), annual Decimal fractions (0.03 is 3%). A loan
    of more than 60 months is priced on ``lpr_5y``, any other on ``lpr_1y``.

    Parameters:
        application: the application; answer only for your own ``application.product_code``.
        facts: flat facts gathered so far, with ``lpr_1y`` and ``lpr_5y``.
        ctx: the institution and this plugin's settings there.

    Return a PriceResult, or None when the product is not yours. Answer either
    ``PriceResult(spread_bp=..., reason=...)``: basis points over the LPR of the loan's term, the
    core adds the LPR (preferred: the price then follows the LPR without a new release); or
    ``PriceResult(annual_rate=..., reason=...)``: a whole annual rate as Decimal, of which the core
    records the spread it implies. Give one of the two.
    Failure policy: fail closed.
    """


@hookspec(firstresult=True)
def nongxin_batch_terms(product_code: str, frame: pd.DataFrame, ctx: HookContext) -> BatchTerms | None:
    """Compute the limit and price of the product for many applicants at once (the first answer
    wins): whole-village pre-credit (预授信) asks this for every household of a village, a county
    or a province, vectorized, instead of ``nongxin_credit_limit`` and ``nongxin_price`` row by row.

    Parameters:
        product_code: the product; answer only for your own.
        frame: a pandas DataFrame, one row per applicant, the admission facts as columns in the
            rule language's frame form (money and other decimals: int64 fen; integers: Int64;
            text: str or category; missing: NA), with ``term_months``, ``lpr_1y`` and ``lpr_5y``.
        ctx: the institution and this plugin's settings there.

    Return a BatchTerms whose arrays hold one entry per row, or None when the product is not
    yours. Each row must match what ``nongxin_credit_limit``, ``nongxin_price`` and
    ``nongxin_assess_application`` answer for the same facts. A product without this hook is
    pre-credited one row at a time through those hooks (correct, but slow).
    Failure policy: fail closed; no household of the batch gets an offer.
    """


@hookspec(firstresult=True)
def nongxin_bureau_query(
    subject: BureauSubject, purpose: Purpose, authorization: AuthorizationRef | None, ctx: HookContext
) -> BureauReport | None:
    """Fetch a credit-bureau report: the bureau adapter (the first answer wins).

    The core calls this only after checking the authorization and purpose, and logs every call.

    Parameters:
        subject: the ``nongxin.sdk.bureau.BureauSubject`` queried.
        purpose: the ``nongxin.sdk.bureau.Purpose`` of the query.
        authorization: the ``nongxin.sdk.bureau.AuthorizationRef`` covering it (None only for
            post-loan management).
        ctx: the institution and this plugin's settings there (endpoint, timeout).

    Return a ``nongxin.sdk.bureau.BureauReport``, or None to let another provider answer.
    Failure policy: fail closed; the result is "no report" and nothing is approved on it.
    """


@hookspec(firstresult=True)
def nongxin_value_collateral(collateral: CollateralData, ctx: HookContext) -> Valuation | None:
    """Value a collateral item: appraiser, registry or market price (the first answer wins).

    Parameters:
        collateral: the item to value.
        ctx: the institution and this plugin's settings there.

    Return a Valuation, or None when this plugin does not value that kind.
    Failure policy: fail closed; the item keeps no new value and is flagged for manual valuation.
    """


@hookspec
def nongxin_on_decision(event: Event, ctx: HookContext) -> None:
    """Be told an application was decided (to send SMS, WeChat, or post to core banking).

    Parameters:
        event: kind "decision", the application id and the outcome in ``details``.
        ctx: the institution and this plugin's settings there.

    Return nothing.
    Failure policy: skip and log.
    """


@hookspec
def nongxin_on_credit_granted(event: Event, ctx: HookContext) -> None:
    """Be told a credit line (授信) was granted.

    Parameters:
        event: kind "credit_granted", the credit line id, amount and expiry in ``details``.
        ctx: the institution and this plugin's settings there.

    Return nothing.
    Failure policy: skip and log.
    """


@hookspec
def nongxin_on_warning(event: Event, ctx: HookContext) -> None:
    """Be told post-loan warnings were raised (new or reopened) on a loan by the nightly scan,
    once per loan and scan, or that an overdue warning task escalated; after the scan's commit.

    Parameters:
        event: kind "warning" (new or reopened warnings of one loan): ``subject_id`` the loan
            number, ``institution_code`` the lending branch; ``details``: ``loan_id``, ``loan_no``,
            ``grade`` (the worst colour: red, orange or yellow) and ``rules`` (the rule codes,
            sorted). Or kind "escalation" (an overdue warning task escalated): ``subject_id`` the
            loan number, ``details`` ``task_id``, ``warning_id``, ``loan_no``, ``level`` (1 branch
            head, 2 risk department), ``level_name`` and ``escalated_to`` (a username, or None when
            the county bank has nobody in that role).
        ctx: the institution and this plugin's settings there.

    Return nothing.
    Failure policy: skip and log.
    """


@hookspec
def nongxin_on_disbursed(event: Event, ctx: HookContext) -> None:
    """Be told a drawdown (用信) was disbursed.

    Parameters:
        event: kind "disbursed", the loan id and amount in ``details``.
        ctx: the institution and this plugin's settings there.

    Return nothing.
    Failure policy: skip and log.
    """

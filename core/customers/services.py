"""Customer files: who may see which customer, and the facts a decision reads from a file.

Scope first (a customer outside the caller's subtree is 404, exactly like one that does not
exist), then the role (403 from the permission table).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from nongxin.core.auth import Principal
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound
from nongxin.core.permissions import Action, require
from nongxin.sdk.types import Applicant


def visible_customer(uow: UnitOfWork, principal: Principal, customer_id: int,
                     action: Action = Action.CUSTOMER_READ) -> Customer:
    """The customer if the caller's subtree holds its grid, then the role check; else 404."""
    customer = uow.session.get(Customer, customer_id)
    if customer is None or not principal.can_see(customer.grid):
        raise NotFound(f"customer {customer_id} not found", fields={"customer": ["not found"]})
    require(principal, action)
    return customer


def find_by_id_number(uow: UnitOfWork, county_bank_id: int, id_number: str) -> Customer | None:
    return uow.session.execute(sa.select(Customer).where(
        Customer.county_bank_id == county_bank_id, Customer.id_number == id_number)).scalar_one_or_none()


def applicant_of(customer: Customer) -> Applicant:
    """The customer as hooks and the bureau see it (never the ORM row)."""
    return Applicant(customer.kind.id_kind, customer.id_number, customer.name)


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def customer_facts(customer: Customer, on: date) -> dict[str, Any]:
    """The admission facts a customer file provides on ``on`` (the business date): ``age``,
    ``annual_income`` (Decimal yuan) and the customer's own ``customer_segment``; a fact the file
    does not hold is absent, never guessed."""
    facts: dict[str, Any] = {"customer_kind": customer.kind.value}
    if customer.birth_date is not None:
        facts["age"] = age_on(customer.birth_date, on)
    if customer.annual_income is not None:
        facts["annual_income"] = customer.annual_income
    if customer.segment:
        facts["customer_segment"] = customer.segment
    return facts

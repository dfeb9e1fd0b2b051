"""Shared helpers of the core's tests."""

from __future__ import annotations

import itertools
from typing import Any, Callable

import pytest
import sqlalchemy as sa


def snapshot(app: Any) -> dict[str, Any]:
    """Row count of every table, and the newest audit entry: equal snapshots mean nothing written."""
    from nongxin.core.models import Base

    with app.extensions["nongxin"].engine.connect() as conn:
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in Base.metadata.sorted_tables}
        head = conn.execute(sa.text("SELECT max(id) FROM audit_log")).scalar_one()
    return {"counts": counts, "audit_head": head}


@pytest.fixture
def db_snapshot(nongxin_app: Any) -> Callable[[], dict[str, Any]]:
    """``db_snapshot()`` before and after a refused request: they must be equal."""
    return lambda: snapshot(nongxin_app)


# -- customer files for the credit tests -------------------------------------------------------
# One place that makes customers: through the ORM for now (the customer API is built alongside);
# switch this helper to POST /api/customers once it exists, and every credit test follows.

_customer_seq = itertools.count()


def make_customer(app: Any, grid_code: str, *, name: str = "王农户", segment: str | None = "farmer",
                  annual_income: str | None = "60000.00", birth: Any = None) -> int:
    """An individual customer file in the grid (or branch) ``grid_code``, managed by a customer
    manager of its county bank; returns its id."""
    from datetime import date
    from decimal import Decimal

    from nongxin.core.customers.models import Customer, CustomerKind
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions import services as institutions
    from nongxin.core.institutions.models import Institution, Role, User
    from nongxin.sdk.identity import make_resident_id

    born = birth or date(1985, 3, 15)
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        grid = institutions.get_by_code(unit.session, grid_code)
        assert grid is not None, grid_code
        bank = institutions.county_bank_of(unit.session, grid)
        assert bank is not None, grid_code
        manager = unit.session.execute(
            sa.select(User).join(Institution, Institution.id == User.institution_id)
            .where(Institution.path.startswith(bank.path))
            .order_by((User.role != Role.CUSTOMER_MANAGER), User.id)).scalars().first()
        assert manager is not None, f"no user at {bank.code} to manage the customer"
        seq = next(_customer_seq) % 999 + 1
        customer = Customer(
            county_bank_id=bank.id, grid_id=grid.id, manager_id=manager.id, kind=CustomerKind.INDIVIDUAL,
            id_number=make_resident_id("370102", born, seq), name=name, birth_date=born,
            sex="male" if seq % 2 else "female", segment=segment,
            annual_income=Decimal(annual_income) if annual_income is not None else None, created_by="test")
        unit.session.add(customer)
        unit.commit()
        return customer.id


@pytest.fixture
def new_customer(nongxin_app: Any, nongxin_demo: Any) -> Callable[..., int]:
    """``new_customer("JNRCB-LX-G01", name=...)``: a customer file of that grid's county bank."""
    return lambda grid_code="JNRCB-LX-G01", **kwargs: make_customer(nongxin_app, grid_code, **kwargs)

"""The shared collateral services: an item's scope, the county's terms for a kind, the one writer of
valuations and its checks, and a line's cover read from the database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from nongxin.core.audit.models import AuditEntry
from nongxin.core.collateral import services
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.credit.ledger import Borrower, LoanTerms, open_loan
from nongxin.core.credit.models import CreditLine
from nongxin.core.db import UnitOfWork
from nongxin.core.errors import NotFound, ValidationFailed
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.users import principal_named
from nongxin.core.parameters.services import set_value
from nongxin.core.permissions import Action
from nongxin.core.testing import open_test_item, open_test_line

D = Decimal


def _draw(app: Any, line_id: int, amount: str) -> None:
    """A loan on the line through the ledger's primitive (the drawdown service is tested elsewhere)."""
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        line = unit.session.get(CreditLine, line_id)
        bank = institutions.get_by_code(unit.session, "JNRCB")
        where = unit.session.get(type(bank), line.institution_id)
        open_loan(unit, bank=bank, institution=where, borrower=Borrower.of(line.customer), actor="test", line=line,
                  terms=LoanTerms(product_code="XIN_E_DAI", amount=D(amount), annual_rate=D("0.0435"), term_months=12,
                                  repayment_method="bullet", start_on=runtime.clock.business_date()))
        unit.commit()


def test_cover_of_line_reads_values_terms_ranks_and_exposure(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    senior = open_test_line(nongxin_app, amount="800000.00")
    junior = open_test_line(nongxin_app, amount="300000.00")
    house = open_test_item(nongxin_app, value="1000000.00", line_id=senior)
    open_test_item(nongxin_app, kind="deposit", value="100000.00", line_id=junior)
    with UnitOfWork(runtime.sessions) as unit:  # the house also secures the junior line, second
        from nongxin.core.collateral.models import Pledge, PledgeStatus, Registration
        unit.session.add(Pledge(item_id=house, credit_line_id=junior, rank=2, status=PledgeStatus.PLEDGED,
                                registration=Registration.REGISTERED, pledged_on=today, pledged_by="test"))
        unit.commit()
    _draw(nongxin_app, senior, "600000.00")
    _draw(nongxin_app, junior, "200000.00")
    with UnitOfWork(runtime.sessions) as unit:
        cover = services.cover_of_line(unit.session, unit.session.get(CreditLine, junior), today)
        # house: 1,000,000 x 0.9 - 600,000 senior = 300,000 at 0.70; deposit 100,000 x 1.0 at 0.90
        assert cover.exposure == D("200000.00")
        assert cover.eligible == D("400000.00")
        assert cover.limit == D("300000.00")
        assert cover.shortfall == D("0.00")
        assert services.cover_of_line(unit.session, unit.session.get(CreditLine, senior), today).limit == D("630000.00")
        # a drawdown being judged adds its amount
        assert services.cover_of_line(unit.session, unit.session.get(CreditLine, junior), today,
                                      extra_exposure={junior: D("150000.00")}).shortfall == D("50000.00")


def test_a_tightened_county_haircut_is_read_at_the_items_bank(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions) as unit:
        admin = principal_named(unit.session, "jinan.params")
        set_value(unit, admin, "collateral.real_estate.haircut", "JNRCB", "0.25", today=today)
        with pytest.raises(ValidationFailed) as refused:  # loosening below the province's 0.10
            set_value(unit, admin, "collateral.real_estate.haircut", "JNRCB", "0.05", today=today + timedelta(1))
        assert "collateral.real_estate.haircut" in str(refused.value)
        unit.commit()
    with UnitOfWork(runtime.sessions) as unit:
        bank = institutions.get_by_code(unit.session, "JNRCB")
        assert services.terms(unit.session, bank, "real_estate", today).haircut == D("0.25")
        assert services.terms(unit.session, bank, "vehicle", today).haircut == D("0.20")


def test_record_valuation_checks_everything_and_audits(nongxin_app: Any, nongxin_demo: Any) -> None:
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    item_id = open_test_item(nongxin_app, kind="deposit", value="100000.00")
    with UnitOfWork(runtime.sessions) as unit:
        item = unit.session.get(CollateralItem, item_id)
        with pytest.raises(ValidationFailed) as refused:
            services.record_valuation(unit, item, value=D("250000.00"), method="market", valuer_kind="oracle",
                                      valuer="", valued_on=today + timedelta(days=1), today=today, actor="t")
        assert set(refused.value.fields) == {"value", "method", "valuer_kind", "valuer", "valued_on"}
        assert "balance" in refused.value.fields["value"][0]
        with pytest.raises(ValidationFailed) as refused:
            services.record_valuation(unit, item, value=1.5, method="face_value", valuer_kind="internal",  # type: ignore[arg-type]
                                      valuer="x", valued_on=today, today=today, actor="t")
        assert "float" in refused.value.fields["value"][0]
        row = services.record_valuation(unit, item, value=D("150000.00"), method="face_value",
                                        valuer_kind="internal", valuer="jinan.cm", valued_on=today, today=today,
                                        actor="jinan.cm")
        assert row.valid_until == today + timedelta(days=365)  # the deposit's revaluation interval
        unit.commit()
    with UnitOfWork(runtime.sessions) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(CollateralValuation)).scalar_one() == 2
        entry = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "collateral.value")).scalar_one()
        assert entry.actor == "jinan.cm"


def test_valuations_are_append_only_in_the_database(nongxin_app: Any, nongxin_demo: Any) -> None:
    open_test_item(nongxin_app)
    engine = nongxin_app.extensions["nongxin"].engine
    for statement in ("UPDATE collateral_valuations SET value = 1", "DELETE FROM collateral_valuations"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_another_banks_item_is_not_found(nongxin_app: Any, nongxin_demo: Any) -> None:
    item_id = open_test_item(nongxin_app)
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        assert services.visible_item(unit, principal_named(unit.session, "jinan.cm"), item_id,
                                     Action.COLLATERAL_READ).id == item_id
        for other in ("linyi.cm",):
            with pytest.raises(NotFound):
                services.visible_item(unit, principal_named(unit.session, other), item_id, Action.COLLATERAL_READ)

"""16 concurrent drawdowns at one credit line through a real server on 127.0.0.1 (waitress), on
whichever database the suite runs on (SQLite, or PostgreSQL with NONGXIN_TEST_DATABASE_URL): no
line is ever over-drawn. Every answer is 201 or a 422 ``exceeds_available`` (never a 500), and
what was drawn is exactly the successes x the amount, within the line."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.credit.models import Loan
from nongxin.core.testing import open_test_line

CLIENTS = 16
AMOUNT = Decimal("7000.00")
LINE = Decimal("50000.00")  # room for 7 of the 16


def test_sixteen_concurrent_drawdowns_never_overdraw_the_line(nongxin_app, nongxin_demo, nongxin_uow):
    line = open_test_line(nongxin_app, amount=str(LINE))
    body = {"amount": str(AMOUNT), "term_months": 12, "repayment_method": "equal_installment",
            "account": "6228480000000001"}
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("jinan.cm", "POST", f"/api/credit-lines/{line}/drawdowns", body, {"Idempotency-Key": f"concurrent-{n}"})
        for n in range(CLIENTS)])

    assert len(answers) == CLIENTS
    wrong = [(status, body) for status, body in answers
             if status != 201 and not (status == 422 and isinstance(body, dict) and body["error"] == "exceeds_available")]
    assert wrong == []
    succeeded = sum(1 for status, _ in answers if status == 201)
    assert succeeded == int(LINE // AMOUNT)  # every drawdown that fitted was made
    drawn = nongxin_uow.session.execute(sa.select(sa.func.coalesce(sa.func.sum(Loan.principal), 0)).where(
        Loan.credit_line_id == line)).scalar_one()
    assert Decimal(drawn) == succeeded * AMOUNT <= LINE
    numbers = [b["loan_no"] for s, b in answers if s == 201]  # type: ignore[index]
    assert len(set(numbers)) == succeeded

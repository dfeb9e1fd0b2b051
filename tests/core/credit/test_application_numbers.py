"""Application numbers are unique and gapless per county bank and year, even when filed at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from nongxin.core.credit.applications import next_number


def test_eight_concurrent_filings_get_distinct_gapless_numbers(nongxin_app, nongxin_demo, new_customer):
    customers = [new_customer(name=f"并发{i}") for i in range(8)]
    start = threading.Barrier(8)
    headers = nongxin_demo.headers("jinan.cm")

    def file(customer: int) -> Any:
        client = nongxin_app.test_client()
        start.wait()
        return client.post("/api/applications", headers=headers, json={
            "customer": customer, "product": "XIN_E_DAI", "amount": "20000.00", "term_months": 12,
            "repayment_method": "equal_installment", "channel": "mobile_app"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(file, customers))
    assert [r.status_code for r in answers] == [201] * 8, [r.get_json() for r in answers]
    numbers = sorted(r.get_json()["number"] for r in answers)
    year = nongxin_app.extensions["nongxin"].clock.business_date().year
    assert numbers == [f"JNRCB-A{year}-{n:06d}" for n in range(1, 9)]


def test_numbers_are_per_bank_and_year(nongxin_app, nongxin_demo, new_customer, nongxin_client):
    from nongxin.core.db import UnitOfWork
    from nongxin.core.institutions.services import get_by_code

    cm = nongxin_client.as_user("jinan.cm")
    first = cm.post("/api/applications", json={
        "customer": new_customer(), "product": "XIN_E_DAI", "amount": "20000", "term_months": 12,
        "repayment_method": "equal_installment", "channel": "wechat"}).get_json()
    year = int(first["number"].split("-A")[1][:4])
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        jinan, linyi = get_by_code(unit.session, "JNRCB"), get_by_code(unit.session, "LYRCB")
        assert next_number(unit, jinan, year) == f"JNRCB-A{year}-000002"
        assert next_number(unit, jinan, year + 1) == f"JNRCB-A{year + 1}-000001"
        assert next_number(unit, linyi, year) == f"LYRCB-A{year}-000001"

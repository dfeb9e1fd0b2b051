"""Customer files over HTTP: filing, one file per identity number per bank, scope, masking, search."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import sqlalchemy as sa

from nongxin.core.customers.models import Customer
from nongxin.sdk.identity import make_resident_id, mask_identity

WOMAN = make_resident_id("370102", date(1991, 4, 3), 124)  # even sequence: female
MAN = make_resident_id("370102", date(1979, 10, 30), 351)


def person(id_number: str = WOMAN, **extra: Any) -> dict[str, Any]:
    body = {"kind": "individual", "id_number": id_number, "name": "周红", "grid": "JNRCB-LX-G01",
            "manager": "jinan.cm", "phone": "13900000001", "occupation": "会计", "employer": "泉城会计师事务所",
            "segment": "salaried", "annual_income": "88000.50"}
    return {**body, **extra}


def test_filing_derives_birth_date_and_sex_and_keeps_income_exact(nongxin_client: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    woman = cm.post("/api/customers", json=person())
    assert woman.status_code == 201, woman.get_json()
    body = woman.get_json()
    assert (body["birth_date"], body["sex"], body["annual_income"]) == ("1991-04-03", "female", "88000.50")
    assert (body["county_bank"], body["grid"], body["manager"]) == ("JNRCB", "JNRCB-LX-G01", "jinan.cm")
    man = cm.post("/api/customers", json=person(MAN, name="钱进")).get_json()
    assert (man["birth_date"], man["sex"]) == ("1979-10-30", "male")


def test_a_bad_identity_number_is_422_naming_id_number_with_the_reason(nongxin_client: Any) -> None:
    bad = WOMAN[:-1] + ("0" if WOMAN[-1] != "0" else "1")
    resp = nongxin_client.as_user("jinan.cm").post("/api/customers", json=person(bad))
    assert resp.status_code == 422
    assert "check character" in resp.get_json()["fields"]["id_number"][0]


def test_a_second_file_for_one_identity_number_is_409_naming_the_first(nongxin_client: Any, db_snapshot: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    first = cm.post("/api/customers", json=person()).get_json()["id"]
    before = db_snapshot()
    again = nongxin_client.as_user("jinan.admin").post("/api/customers", json=person(WOMAN.lower(), name="周 红"))
    assert again.status_code == 409
    assert again.get_json()["error"] == "duplicate_customer"
    assert f"customer {first}" in again.get_json()["fields"]["id_number"][0]
    assert db_snapshot() == before
    # another county bank keeps its own file for the same person
    other = nongxin_client.as_user("linyi.cm").post(
        "/api/customers", json=person(grid="LYRCB-LS-G01", manager="linyi.cm"))
    assert other.status_code == 201


def test_an_enterprise_needs_its_legal_representative(nongxin_client: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    shop = {"kind": "enterprise", "id_number": "91370102MA3C5R1234", "name": "泉城农机有限公司",
            "grid": "JNRCB-LX-G01", "manager": "jinan.cm"}
    from stdnum.cn import uscc

    shop["id_number"] = shop["id_number"][:17] + uscc.calc_check_digit(shop["id_number"][:17])
    resp = cm.post("/api/customers", json=shop)
    assert resp.status_code == 422 and "legal_representative" in resp.get_json()["fields"]
    other_bank = nongxin_client.as_user("linyi.cm").post(
        "/api/customers", json=person(grid="LYRCB-LS-G01", manager="linyi.cm")).get_json()["id"]
    resp = cm.post("/api/customers", json={**shop, "legal_representative": other_bank})
    assert resp.status_code == 422 and "legal_representative" in resp.get_json()["fields"]
    rep = cm.post("/api/customers", json=person()).get_json()
    made = cm.post("/api/customers", json={**shop, "legal_representative": rep["id"]})
    assert made.status_code == 201, made.get_json()
    shown = cm.get(f"/api/customers/{made.get_json()['id']}").get_json()
    assert shown["legal_representative"] == {"id": rep["id"], "name": "周红", "id_number": WOMAN}
    assert shown["birth_date"] is None and shown["sex"] is None


def test_grid_manager_and_household_are_checked(nongxin_client: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    assert cm.post("/api/customers", json=person(grid="LYRCB-LS-G01")).status_code == 404
    assert cm.post("/api/customers", json=person(grid="JNRCB-ZQ-G01")).status_code == 404  # not in his subtree
    admin = nongxin_client.as_user("jinan.admin")
    resp = admin.post("/api/customers", json=person(grid="JNRCB"))
    assert resp.status_code == 422 and "grid" in resp.get_json()["fields"]
    for manager in ("linyi.cm", "jinan.reviewer", "nobody"):
        resp = cm.post("/api/customers", json=person(manager=manager))
        assert resp.status_code == 422 and "manager" in resp.get_json()["fields"], manager
    home = {"village": "彩石村", "group": "一组", "household_no": "0016", "relation": "head"}
    resp = cm.post("/api/customers", json=person(household=home))
    assert resp.status_code == 422 and "household.relation" in resp.get_json()["fields"]  # the demo's head
    resp = cm.post("/api/customers", json=person(household={**home, "relation": "child"}))
    assert resp.status_code == 201
    shown = cm.get(f"/api/customers/{resp.get_json()['id']}").get_json()["household"]
    assert [m["relation"] for m in shown["members"]][:1] == ["head"] and len(shown["members"]) == 4


def test_money_is_a_decimal_string_never_a_number(nongxin_client: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    for bad in (88000.5, "88000.505", "-1", "NaN", "十万"):
        resp = cm.post("/api/customers", json=person(annual_income=bad))
        assert resp.status_code == 422 and "annual_income" in resp.get_json()["fields"], bad


def test_another_banks_customer_is_404_and_never_listed(nongxin_client: Any, nongxin_uow: Any) -> None:
    linyi = nongxin_uow.session.execute(sa.select(Customer.id).join(Customer.grid).where(
        sa.literal_column("institutions.code") == "LYRCB-LS-G01")).scalars().first()
    assert linyi is not None
    jinan = nongxin_client.as_user("jinan.admin")
    assert jinan.get(f"/api/customers/{linyi}").status_code == 404
    assert jinan.get("/api/customers/999999").status_code == 404
    listed = jinan.get("/api/customers?limit=500").get_json()
    assert listed and {c["county_bank"] for c in listed} == {"JNRCB"}
    assert linyi not in {c["id"] for c in listed}
    assert jinan.get("/api/customers?grid=LYRCB-LS-G01").status_code == 404
    assert nongxin_client.as_user("linyi.cm").get(f"/api/customers/{linyi}").status_code == 200


def test_identity_numbers_are_masked_for_roles_without_full_id(nongxin_client: Any) -> None:
    made = nongxin_client.as_user("jinan.cm").post("/api/customers", json=person()).get_json()
    assert made["id_number"] == WOMAN
    for username, whole in (("jinan.admin", False), ("province.admin", False), ("jinan.reviewer", True),
                            ("jinan.cm", True)):
        client = nongxin_client.as_user(username)
        one = client.get(f"/api/customers/{made['id']}").get_json()
        listed = client.get(f"/api/customers?name=周红").get_json()
        want = WOMAN if whole else mask_identity(WOMAN)
        assert one["id_number"] == want and [c["id_number"] for c in listed] == [want], username
        assert WOMAN not in str(one) or whole


def test_search_filters(nongxin_client: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    made = cm.post("/api/customers", json=person()).get_json()
    reviewer = nongxin_client.as_user("jinan.reviewer")

    def names(query: str) -> list[str]:
        resp = reviewer.get(f"/api/customers?{query}")
        assert resp.status_code == 200, resp.get_json()
        return [c["name"] for c in resp.get_json()]

    assert names("name=红") == ["周红"]
    assert names(f"id_number={WOMAN}") == ["周红"]
    assert names(f"id_number={WOMAN[:-4]}") == []  # the whole number, not a prefix
    assert set(names("grid=JNRCB-LX")) == set(names("grid=JNRCB-LX-G01")) >= {"周红", "王敏", "张建国"}
    assert names("grid=JNRCB-ZQ-G01") == []
    assert "周红" in names("manager=jinan.cm") and names("manager=linyi.cm") == []
    assert names("name=张&grid=JNRCB-LX-G01") == ["张建国", "张磊"]
    page = names("limit=2&offset=1")
    assert len(page) == 2 and page == names("limit=500")[1:3]
    assert made["id"] in {c["id"] for c in reviewer.get("/api/customers?limit=500").get_json()}
    assert reviewer.get("/api/customers?limit=0").status_code == 422
    assert nongxin_client.as_user("jinan.pm").get("/api/customers").status_code == 403


def test_filing_is_audited_with_the_identity_number_masked(nongxin_client: Any, nongxin_uow: Any) -> None:
    from nongxin.core.audit.models import AuditEntry

    made = nongxin_client.as_user("jinan.cm").post("/api/customers", json=person()).get_json()
    nongxin_uow.rollback()
    entry = nongxin_uow.session.execute(sa.select(AuditEntry).where(
        AuditEntry.target == f"customer:{made['id']}")).scalar_one()
    assert entry.action == "customer.create" and entry.actor == "jinan.cm"
    assert entry.after["id_number"] == mask_identity(WOMAN) and WOMAN not in str(entry.after)


def _upload(client: Any, text: str, name: str = "customers.csv") -> Any:
    return client.post("/api/customers/import", data={"file": (io.BytesIO(text.encode("gb18030")), name)},
                       content_type="multipart/form-data")


HEADER = ("kind,id_number,name,phone,address,occupation,employer,segment,annual_income,grid,manager,"
          "legal_representative,village,group,household_no,relation\n")


def test_import_over_http_is_all_or_nothing(nongxin_client: Any, db_snapshot: Any) -> None:
    cm = nongxin_client.as_user("jinan.cm")
    good = (f"individual,{WOMAN},周红,,,,,salaried,88000.00,JNRCB-LX-G01,jinan.cm,,,,,\n"
            f"individual,{MAN},钱进,,,,,farmer,,JNRCB-LX-G01,jinan.cm,,姚家村,二组,0003,head\n")
    before = db_snapshot()
    bad = _upload(cm, HEADER + good + f"individual,{WOMAN},周红,,,,,,,JNRCB-LX-G01,jinan.cm,,,,,\n")
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {"line 4": ["id_number: the same identity number as line 2"]}
    assert db_snapshot() == before
    ok = _upload(cm, HEADER + good)
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["imported"] == 2
    assert nongxin_client.as_user("province.admin").post(
        "/api/customers/import", data={"file": (io.BytesIO(b"x"), "a.csv")}).status_code == 403


def test_a_duplicate_the_check_missed_is_still_409_naming_the_first(nongxin_client: Any, db_snapshot: Any,
                                                                     monkeypatch: Any) -> None:
    """Two clerks file one person at the same moment: both checks find nothing, the unique
    constraint refuses the second insert, and that refusal is the same 409 (never a 500)."""
    from nongxin.core.customers import services

    cm = nongxin_client.as_user("jinan.cm")
    first = cm.post("/api/customers", json=person()).get_json()["id"]
    real, calls = services.find_by_id_number, []

    def missed_once(uow: Any, bank_id: int, number: str) -> Any:
        calls.append(number)
        return None if len(calls) == 1 else real(uow, bank_id, number)

    monkeypatch.setattr(services, "find_by_id_number", missed_once)
    before = db_snapshot()
    again = cm.post("/api/customers", json=person(household={"village": "姚家村", "household_no": "9",
                                                             "relation": "head"}))
    assert again.status_code == 409, again.get_json()
    assert f"customer {first}" in again.get_json()["message"] and len(calls) == 2
    assert db_snapshot() == before  # the new household went with the refused insert


def test_concurrent_duplicate_posts_give_one_file_and_409s(nongxin_app: Any, nongxin_demo: Any) -> None:
    import threading

    barrier, statuses = threading.Barrier(4), []

    def post() -> None:
        client = nongxin_app.test_client()
        barrier.wait()
        resp = client.post("/api/customers", json=person(), headers=nongxin_demo.headers("jinan.cm"))
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]


def test_import_reads_xlsx(nongxin_client: Any) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["individual", WOMAN, "周红", 13900000001, "", "", "", "salaried", "88000", "JNRCB-LX-G01",
                  "jinan.cm", "", "", "", "", ""])
    sheet.append(["individual", MAN, "钱进", "", "", "", "", "", "", "JNRCB-LX-G01", "linyi.cm", "", "", "", "", ""])
    data = io.BytesIO()
    book.save(data)
    cm = nongxin_client.as_user("jinan.cm")
    resp = cm.post("/api/customers/import", data={"file": (io.BytesIO(data.getvalue()), "customers.xlsx")},
                   content_type="multipart/form-data")
    assert resp.status_code == 422 and list(resp.get_json()["fields"]) == ["line 3"]
    assert "manager" in resp.get_json()["fields"]["line 3"][0]
    assert cm.get(f"/api/customers?id_number={WOMAN}").get_json() == []

"""Village roster import: households and members filed, idempotent on (village, household, identity
number), all or nothing with every bad row named by its line; the API, the CLI and the audit."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.customers.models import Customer, Household, Relation
from nongxin.core.db import UnitOfWork
from nongxin.core.village.models import Village
from nongxin.sdk.identity import make_resident_id

HEADER = "village,group,household_no,id_number,name,relation,phone,land_mu,main_business,assets,annual_income,segment\n"
H1, S1, C1 = (make_resident_id("371302", date(1970 + n, 3, 4), 300 + n) for n in (0, 1, 20))
H2 = make_resident_id("371302", date(1966, 5, 6), 411)
GOOD = [
    f"沂河村,一组,0001,{H1},张大山,head,13900001111,12.5,花生种植,180000.00,60000.00,",
    f"沂河村,一组,0001,{S1},李秀英,spouse,,,,,,",
    f"沂河村,一组,0001,{C1},张小山,child,,12.5,花生种植,180000.00,,salaried",
    f"沂河村,二组,0002,{H2},王春生,head,,8,生猪养殖,90000,45000,",
]


def csv(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def post(client: Any, text: str, *, user: str = "linyi.cm", grid: str = "LYRCB-LS-G01", manager: str = "linyi.cm",
         encoding: str = "utf-8") -> Any:
    return client.as_user(user).post("/api/villages/roster", content_type="multipart/form-data", data={
        "file": (io.BytesIO(text.encode(encoding)), "roster.csv"), "grid": grid, "manager": manager})


def households(app: Any) -> list[tuple[str, str, int | None, Decimal | None, Decimal | None, str, list[tuple[str, str]]]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        s = unit.session
        out = []
        for h in s.execute(sa.select(Household).where(Household.village_id.is_not(None))
                           .order_by(Household.household_no)).scalars():
            people = s.execute(sa.select(Customer.name, Customer.relation).where(Customer.household_id == h.id)
                               .order_by(Customer.id)).all()
            out.append((h.village, h.household_no, h.village_id, h.land_mu, h.assets, h.main_business,
                        [(n, r.value) for n, r in people]))
        return out


def count(app: Any, model: Any) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_a_roster_files_households_and_members_and_a_village(nongxin_app: Any, nongxin_client: Any) -> None:
    resp = post(nongxin_client, csv(*GOOD), encoding="gb18030")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"rows": 4, "villages_created": 1, "households_created": 2, "households_updated": 0,
                               "members_created": 4, "members_updated": 0, "members_linked": 0}
    found = households(nongxin_app)
    assert [(v, n, land, assets, business, people) for v, n, _, land, assets, business, people in found] == [
        ("沂河村", "0001", Decimal("12.50"), Decimal("180000.00"), "花生种植",
         [("张大山", "head"), ("李秀英", "spouse"), ("张小山", "child")]),
        ("沂河村", "0002", Decimal("8.00"), Decimal("90000.00"), "生猪养殖", [("王春生", "head")])]
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        village = unit.session.execute(sa.select(Village).where(Village.name == "沂河村")).scalar_one()
        assert {v for _, _, v, *_ in found} == {village.id}
        child = unit.session.execute(sa.select(Customer).where(Customer.id_number == C1)).scalar_one()
        assert child.segment == "salaried" and child.manager.username == "linyi.cm"
        head = unit.session.execute(sa.select(Customer).where(Customer.id_number == H1)).scalar_one()
        assert head.segment == "farmer" and head.annual_income == Decimal("60000.00") and head.phone == "13900001111"
        audit = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "village.roster_import")).scalars().all()
        assert len(audit) == 1 and audit[0].after["file"] == "roster.csv" and audit[0].after["members_created"] == 4
        assert audit[0].institution_code == "LYRCB" and audit[0].actor == "linyi.cm"
        filed = unit.session.execute(sa.select(Customer.id).where(Customer.id_number.in_([H1, S1, C1, H2]))).scalars()
        created = unit.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "customer.create", AuditEntry.target.in_([f"customer:{i}" for i in filed]))).scalar_one()
        assert created == 4


def test_a_reimport_updates_and_never_duplicates(nongxin_app: Any, nongxin_client: Any) -> None:
    assert post(nongxin_client, csv(*GOOD)).status_code == 200
    customers, house_rows, villages = count(nongxin_app, Customer), count(nongxin_app, Household), count(nongxin_app, Village)
    again = post(nongxin_client, csv(*GOOD))
    assert again.get_json() == {"rows": 4, "villages_created": 0, "households_created": 0, "households_updated": 2,
                                "members_created": 0, "members_updated": 0, "members_linked": 0}
    changed = [GOOD[0].replace("张大山", "张大川").replace("12.5", "13").replace("13,花生", "13,花生"),
               GOOD[1].replace(",spouse,,", ",spouse,13800000000,"),
               GOOD[2].replace("12.5", "13"), GOOD[3]]
    resp = post(nongxin_client, csv(*changed))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["members_updated"] == 2 and resp.get_json()["members_created"] == 0
    assert (count(nongxin_app, Customer), count(nongxin_app, Household), count(nongxin_app, Village)) == (
        customers, house_rows, villages)
    first = households(nongxin_app)[0]
    assert first[3] == Decimal("13.00") and first[6][0] == ("张大川", "head")


def test_every_bad_row_is_named_by_its_line_and_nothing_is_written(nongxin_app: Any, nongxin_client: Any) -> None:
    before = (count(nongxin_app, Customer), count(nongxin_app, Household), count(nongxin_app, Village),
              count(nongxin_app, AuditEntry))
    bad_id = H2[:-1] + ("1" if H2[-1] == "0" else "0")
    others = [make_resident_id("371302", date(1980, 1, n), 500 + n) for n in range(1, 9)]
    text = csv(*GOOD,
               f"沂河村,一组,0001,{others[0]},二号户主,head,,,,,,",  # line 6: a second head
               f"沂河村,三组,0003,{others[1]},无户主,spouse,,,,,,",  # line 7: a household without a head
               f"沂河村,四组,0004,{others[2]},甲,head,,十亩,,,,",  # line 8: land not a decimal
               f"沂河村,五组,0005,{others[3]},乙,head,,,,1.234,,",  # line 9: assets beyond fen
               f"沂河村,六组,0006,{others[4]},丙,cousin,,,,,,",  # line 10: unknown relation
               f"沂河村,七组,0007,{bad_id},丁,head,,,,,,",  # line 11: bad resident ID
               f"沂河村,二组,0002,{others[5]},戊,child,,9,生猪养殖,90000,,",  # line 12: figures disagree with line 5
               f"沂河村,八组,0008,{H1},己,head,,,,,,")  # line 13: repeats line 2
    resp = post(nongxin_client, text)
    assert resp.status_code == 422, resp.get_json()
    fields = resp.get_json()["fields"]
    assert sorted(fields, key=lambda k: int(k.split()[1])) == [f"line {n}" for n in range(6, 14)]
    assert "already has a head on line 2" in fields["line 6"][0]
    assert "no head" in fields["line 7"][0]
    assert "land_mu" in fields["line 8"][0] and "assets" in fields["line 9"][0]
    assert "cousin" in fields["line 10"][0] and "id_number" in fields["line 11"][0]
    assert "line 5" in fields["line 12"][0] and "line 2" in fields["line 13"][0]
    assert (count(nongxin_app, Customer), count(nongxin_app, Household), count(nongxin_app, Village),
            count(nongxin_app, AuditEntry)) == before


def test_a_person_on_file_is_linked_in_unless_in_another_household(nongxin_app: Any, nongxin_client: Any) -> None:
    loner = make_resident_id("371302", date(1990, 2, 2), 612)
    cm = nongxin_client.as_user("linyi.cm")
    filed = cm.post("/api/customers", json={"kind": "individual", "id_number": loner, "name": "单独客户",
                                            "grid": "LYRCB-LS-G01", "manager": "linyi.cm"})
    assert filed.status_code == 201, filed.get_json()
    resp = post(nongxin_client, csv(*GOOD, f"沂河村,二组,0002,{loner},单独客户,child,,,,,,"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["members_linked"] == 1 and resp.get_json()["members_created"] == 4
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        linked = unit.session.get(Customer, filed.get_json()["id"])
        assert linked.household.household_no == "0002" and linked.relation is Relation.CHILD
    moved = post(nongxin_client, csv(f"沂河村,三组,0003,{loner},单独客户,head,,,,,,"))
    assert moved.status_code == 422
    assert "member of household 0002 of 沂河村" in moved.get_json()["fields"]["line 2"][0]


def test_scope_role_and_options(nongxin_app: Any, nongxin_client: Any) -> None:
    assert post(nongxin_client, csv(*GOOD), user="jinan.cm").status_code == 404  # another county's grid
    assert post(nongxin_client, csv(*GOOD), grid="NOPE").status_code == 404
    refused = post(nongxin_client, csv(*GOOD), user="linyi.approver")
    assert refused.status_code == 403 and "village.import" in refused.get_json()["message"]
    wrong = post(nongxin_client, csv(*GOOD), manager="jinan.cm")
    assert wrong.status_code == 422 and "manager" in wrong.get_json()["fields"]
    assert count(nongxin_app, Village) == 0


def test_the_roster_may_be_xlsx(nongxin_app: Any, nongxin_client: Any) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    for line in GOOD:
        sheet.append(line.split(","))
    data = io.BytesIO()
    book.save(data)
    resp = nongxin_client.as_user("linyi.cm").post("/api/villages/roster", content_type="multipart/form-data", data={
        "file": (io.BytesIO(data.getvalue()), "roster.xlsx"), "grid": "LYRCB-LS-G01", "manager": "linyi.cm"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["members_created"] == 4


def run(settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_the_cli_imports_and_names_bad_lines(nongxin_app: Any, nongxin_demo: Any, tmp_path: Path) -> None:
    settings = nongxin_app.extensions["nongxin"].settings
    bad = tmp_path / "bad.csv"
    bad.write_text(csv(GOOD[0], f"沂河村,一组,0001,{S1},李秀英,head,,,,,,"), encoding="gb18030")
    result = run(settings, "village", "import", str(bad), "--grid", "LYRCB-LS-G01", "--manager", "linyi.cm",
                 "--user", "linyi.cm")
    assert result.exit_code == 1 and "line 3: relation: household 0001 of 沂河村 already has a head on line 2" in result.output
    assert count(nongxin_app, Customer) == count(nongxin_app, Customer) and count(nongxin_app, Village) == 0
    good = tmp_path / "good.csv"
    good.write_text(csv(*GOOD), encoding="utf-8")
    result = run(settings, "village", "import", str(good), "--grid", "LYRCB-LS-G01", "--manager", "linyi.cm",
                 "--user", "linyi.cm")
    assert result.exit_code == 0, result.output
    assert "households created 2" in result.output and "members created 4" in result.output


def test_two_imports_of_one_roster_at_once_queue_and_never_duplicate(nongxin_app: Any, nongxin_demo: Any) -> None:
    import threading

    from nongxin.core.importing import read_text
    from nongxin.core.institutions.users import principal_named
    from nongxin.core.village.roster import COLUMNS, import_roster

    start, answers = threading.Barrier(2), []

    def one() -> None:
        try:
            with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
                me = principal_named(unit.session, "linyi.cm")
            start.wait()
            with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
                report = import_roster(unit, me, read_text(csv(*GOOD), name="roster.csv", columns=COLUMNS),
                                       grid="LYRCB-LS-G01", manager="linyi.cm", file_name="roster.csv")
                answers.append(report.counts())
        except Exception as exc:  # reported below, in the test's thread
            answers.append({"error": repr(exc)})

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted((a.get("members_created"), a.get("households_updated")) for a in answers) == [(0, 2), (4, 0)], answers
    assert len(households(nongxin_app)) == 2 and count(nongxin_app, Village) == 1

"""Court lists loaded from files and JSON rows: all or nothing, idempotent, scoped, audited, masked."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.db import UnitOfWork
from nongxin.core.early_warning import feeds, watchlists
from nongxin.core.early_warning.models import WatchlistEntry
from nongxin.core.errors import NotFound
from nongxin.core.importing import read_text
from nongxin.core.institutions.models import Institution
from nongxin.core.institutions.users import principal_named
from nongxin.sdk.identity import make_resident_id, mask_identity

HEADER = "id_number,name,case_no,court,listed_on,delisted_on\n"
P1 = make_resident_id("370102", date(1975, 3, 4), 123)
P2 = make_resident_id("370102", date(1982, 6, 7), 456)


def _uscc() -> str:
    from stdnum.cn import uscc

    code = "91370102MA3C5R998"
    return code + uscc.calc_check_digit(code)


SHOP = _uscc()
GOOD = (f"{P1},王大山,(2025)鲁0102执1234号,历下区人民法院,2025-11-01,\n"
        f"{SHOP},大山商贸有限公司,(2025)鲁0102执1235号,历下区人民法院,2025-12-01,\n")


def run(settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def entries(app: Any) -> list[tuple[Any, ...]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return [tuple(r) for r in unit.session.execute(sa.select(
            WatchlistEntry.county_bank_id, WatchlistEntry.kind, WatchlistEntry.id_number, WatchlistEntry.case_no,
            WatchlistEntry.delisted_on).order_by(WatchlistEntry.id)).all()]


def bank_id(app: Any, code: str) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(Institution.id).where(Institution.code == code)).scalar_one()


def court(app: Any, code: str, on: date) -> dict[str, dict[str, bool]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        frame = feeds.court_facts(unit.session, bank_id(app, code), on)
    return frame.set_index("id_number").to_dict("index")


def test_cli_loads_a_file_and_reloading_updates_instead_of_duplicating(nongxin_settings, nongxin_app, nongxin_demo,
                                                                       tmp_path: Path) -> None:
    path = tmp_path / "enforcement.csv"
    path.write_bytes((HEADER + GOOD).encode("gb18030"))  # as Excel in China saves it
    first = run(nongxin_settings, "warnings", "watchlist-import", str(path), "--kind", "enforcement",
                "--user", "jinan.admin")
    assert first.exit_code == 0, first.output
    assert "JNRCB: 2 added, 0 updated, 0 unchanged" in first.output
    assert court(nongxin_app, "JNRCB", date(2026, 1, 5))[P1]["court_enforcement"]
    assert P1 not in court(nongxin_app, "LYRCB", date(2026, 1, 5))  # another county bank's list
    path.write_text(HEADER + GOOD.replace("2025-11-01,\n", "2025-11-01,2026-01-02\n"), encoding="utf-8")
    again = run(nongxin_settings, "warnings", "watchlist-import", str(path), "--kind", "enforcement",
                "--user", "jinan.admin")
    assert "0 added, 1 updated, 1 unchanged" in again.output, again.output
    jn = bank_id(nongxin_app, "JNRCB")
    assert entries(nongxin_app) == [(jn, "enforcement", P1, "(2025)鲁0102执1234号", date(2026, 1, 2)),
                                    (jn, "enforcement", SHOP, "(2025)鲁0102执1235号", None)]
    assert P1 not in court(nongxin_app, "JNRCB", date(2026, 1, 5))  # delisted by then
    assert court(nongxin_app, "JNRCB", date(2026, 1, 1))[P1]["court_enforcement"]  # not yet


def test_every_bad_row_is_named_by_line_and_nothing_is_written(nongxin_settings, nongxin_app, nongxin_demo,
                                                               tmp_path: Path) -> None:
    wrong_check = P2[:-1] + ("1" if P2[-1] == "0" else "0")
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + GOOD
                    + f"{wrong_check},错号,(2025)鲁0102执1,历下区人民法院,2025-11-01,\n"  # line 4
                    + f"{P2},,(2025)鲁0102执2,历下区人民法院,2025-11-01,\n"  # line 5: no name
                    + f"{P2},某人,(2025)鲁0102执3,历下区人民法院,2025-13-01,\n"  # line 6: no such month
                    + f"{P2},某人,(2025)鲁0102执4,历下区人民法院,2025-11-01,2025-10-01\n"  # line 7: delisted before
                    + f"{P1},王大山,(2025)鲁0102执1234号,历下区人民法院,2025-11-01,\n"  # line 8: repeats line 2
                    + f"{P2},某人,,历下区人民法院,2025-11-01,\n"  # line 9: no case number
                    + f"{P2},某\x1b[31m人,(2025)鲁0102执5,历下区人民法院,2025-11-01,\n"  # line 10: escape
                    + f"{P2},某人,(2025)鲁0102执6,历下区人民法院,2025-11-01,,extra\n",  # line 11: extra value
                    encoding="utf-8")
    result = run(nongxin_settings, "warnings", "watchlist-import", str(path), "--kind", "dishonest_debtor",
                 "--user", "jinan.admin")
    assert result.exit_code == 2
    lines = {int(l.split(":")[0].split()[-1]): l for l in result.output.splitlines() if l.strip().startswith("line ")}
    assert sorted(lines) == [4, 5, 6, 7, 8, 9, 10, 11], result.output
    assert "check character" in lines[4] and "name: required" in lines[5] and "not a date" in lines[6]
    assert "before listed_on" in lines[7] and "line 2" in lines[8] and "case_no: required" in lines[9]
    assert "control" in lines[10] and "beyond" in lines[11]
    assert "nothing was loaded" in result.output
    assert entries(nongxin_app) == []


def load_as(app: Any, username: str, text: str, *, kind: str = "consumption_restriction",
            county: str | None = None) -> watchlists.LoadReport:
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        table = read_text(HEADER + text, name="list.csv", columns=watchlists.COLUMNS)
        return watchlists.load(unit, principal_named(unit.session, username), table, kind=kind, county=county,
                               source="list.csv")


def test_the_provinces_own_list_is_not_duplicated_by_a_reload(nongxin_app, nongxin_demo) -> None:
    first = load_as(nongxin_app, "province.admin", GOOD)
    assert (first.county_bank, first.added) == (None, 2)
    again = load_as(nongxin_app, "province.admin", GOOD)
    assert (again.added, again.unchanged) == (0, 2)
    assert [row[0] for row in entries(nongxin_app)] == [None, None]  # NULL county: the importer dedups
    for code in ("JNRCB", "LYRCB"):  # delivered to the whole province
        assert court(nongxin_app, code, date(2026, 1, 5))[P1]["court_consumption_restriction"]
    named = load_as(nongxin_app, "province.admin", GOOD, county="LYRCB")
    assert named.county_bank == "LYRCB" and named.added == 2


def test_a_county_admin_loads_only_for_their_own_bank(nongxin_app, nongxin_demo) -> None:
    assert load_as(nongxin_app, "jinan.admin", GOOD, county="JNRCB").county_bank == "JNRCB"
    with pytest.raises(NotFound):
        load_as(nongxin_app, "jinan.admin", GOOD, county="LYRCB")
    with pytest.raises(NotFound):
        load_as(nongxin_app, "jinan.admin", GOOD, county="JNRCB-LX")  # a branch is not a county bank
    with pytest.raises(Exception) as refused:
        load_as(nongxin_app, "jinan.cm", GOOD)
    assert "watchlist.import" in str(refused.value)


def test_each_load_leaves_one_audit_entry_with_its_counts_and_no_identity_numbers(nongxin_app, nongxin_demo) -> None:
    load_as(nongxin_app, "jinan.admin", GOOD)
    load_as(nongxin_app, "jinan.admin", GOOD)
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        found = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "watchlist.import")
                                     .order_by(AuditEntry.id)).scalars().all()
        assert [(e.after["added"], e.after["unchanged"]) for e in found] == [(2, 0), (0, 2)]
        assert all(P1 not in str(e.after) and e.institution_code == "JNRCB" for e in found)


def test_api_json_rows_and_upload_then_listing_masked_and_scoped(nongxin_client, nongxin_app) -> None:
    admin = nongxin_client.as_user("jinan.admin")
    rows = [{"id_number": P1, "name": "王大山", "case_no": "(2025)鲁0102执1234号", "court": "历下区人民法院",
             "listed_on": "2025-11-01"},
            {"id_number": "123", "name": "某人", "case_no": "X", "listed_on": "2025-11-01"}]
    bad = admin.post("/api/watchlists/import", json={"kind": "enforcement", "rows": rows})
    assert bad.status_code == 422 and list(bad.get_json()["fields"]) == ["line 3"]
    assert entries(nongxin_app) == []
    good = admin.post("/api/watchlists/import", json={"kind": "enforcement", "rows": rows[:1]})
    assert good.status_code == 200 and good.get_json()["added"] == 1, good.get_json()
    upload = admin.post("/api/watchlists/import", data={"kind": "dishonest_debtor",
                                                        "file": (io.BytesIO((HEADER + GOOD).encode()), "失信.csv")})
    assert upload.status_code == 200 and upload.get_json()["added"] == 2, upload.get_json()
    no_kind = admin.post("/api/watchlists/import", data={"file": (io.BytesIO((HEADER + GOOD).encode()), "x.csv")})
    assert no_kind.status_code == 422 and "kind" in no_kind.get_json()["fields"]
    province = nongxin_client.as_user("province.admin").post(
        "/api/watchlists/import", json={"kind": "consumption_restriction", "rows": [dict(rows[0], id_number=P2)]})
    assert province.status_code == 200 and province.get_json()["county_bank"] is None

    listed = admin.get(f"/api/watchlists?id_number={P1}").get_json()
    assert {e["kind"] for e in listed} == {"enforcement", "dishonest_debtor"}
    assert {e["id_number"] for e in listed} == {mask_identity(P1)}  # an admin sees numbers masked
    cm = nongxin_client.as_user("jinan.cm").get("/api/watchlists?kind=dishonest_debtor").get_json()
    assert {e["id_number"] for e in cm} == {P1, SHOP}  # credit staff see them whole
    linyi = nongxin_client.as_user("linyi.cm").get("/api/watchlists").get_json()
    assert [(e["id_number"], e["county_bank"]) for e in linyi] == [(P2, None)]  # only the province's list
    assert nongxin_client.as_user("linyi.admin").post(
        "/api/watchlists/import", json={"kind": "enforcement", "county": "JNRCB", "rows": rows[:1]}).status_code == 404


def test_openapi_documents_both_bodies_of_the_import(nongxin_app) -> None:
    spec = nongxin_app.test_client().get("/api/openapi.json").get_json()
    content = spec["paths"]["/api/watchlists/import"]["post"]["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/WatchlistImportIn"}
    assert set(content["multipart/form-data"]["schema"]["required"]) == {"file", "kind"}
    assert "rows" in spec["components"]["schemas"]["WatchlistImportIn"]["properties"]


def test_two_loads_into_the_provinces_list_wait_for_each_other(nongxin_app, nongxin_demo) -> None:
    """The NULL-county list has no unique constraint to fall back on: the second load must wait for
    the first and then find its rows, not insert them again (PostgreSQL; SQLite serializes writers)."""
    import threading

    sessions = nongxin_app.extensions["nongxin"].sessions
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers itself")
    outcome: dict[str, Any] = {}
    with UnitOfWork(sessions) as first:
        watchlists._lock(first.session, None, "consumption_restriction")
        worker = threading.Thread(target=lambda: outcome.update(report=load_as(nongxin_app, "province.admin", GOOD)))
        worker.start()
        worker.join(0.5)
        assert worker.is_alive()  # waiting for the first load
        first.session.add_all([WatchlistEntry(county_bank_id=None, kind="consumption_restriction", id_number=n,
                                              name="x", case_no=c, court="", listed_on=date(2025, 11, 1),
                                              delisted_on=None, source="first", loaded_by="test")
                               for n, c in ((P1, "(2025)鲁0102执1234号"), (SHOP, "(2025)鲁0102执1235号"))])
        first.commit()
    worker.join(10)
    assert (outcome["report"].added, outcome["report"].updated) == (0, 2)
    assert len(entries(nongxin_app)) == 2


def test_an_xlsx_list_with_excel_dates_loads(nongxin_settings, nongxin_app, nongxin_demo, tmp_path: Path) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["listed_on", "id_number", "name", "case_no", "court", "delisted_on"])  # any order
    sheet.append([datetime(2025, 11, 1), P1, "王大山", "(2025)鲁0102执1234号", "历下区人民法院", None])
    sheet.append([datetime(2025, 11, 2), P2, "", "(2025)鲁0102执9号", "历下区人民法院", None])  # line 3: no name
    path = tmp_path / "失信.xlsx"
    book.save(path)
    bad = run(nongxin_settings, "warnings", "watchlist-import", str(path), "--kind", "dishonest_debtor",
              "--user", "province.admin", "--county", "JNRCB")
    assert bad.exit_code == 2 and "line 3: name: required" in bad.output and entries(nongxin_app) == []
    sheet.delete_rows(3)
    book.save(path)
    good = run(nongxin_settings, "warnings", "watchlist-import", str(path), "--kind", "dishonest_debtor",
               "--user", "province.admin", "--county", "JNRCB")
    assert good.exit_code == 0 and "JNRCB: 1 added" in good.output, good.output
    assert court(nongxin_app, "JNRCB", date(2025, 11, 1))[P1]["court_dishonest_debtor"]

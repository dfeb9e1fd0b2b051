"""Customer import (all or nothing, every bad row named by its line) and the `nongxin customers` commands."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import Console, main
from nongxin.core.customers.importer import ImportRejected, import_csv
from nongxin.core.customers.models import Customer, Relation
from nongxin.core.db import UnitOfWork
from nongxin.core.demo import demo_customer
from nongxin.core.institutions.users import principal_named
from nongxin.sdk.identity import make_resident_id, mask_identity

HEADER = ("kind,id_number,name,phone,address,occupation,employer,segment,annual_income,grid,manager,"
          "legal_representative,village,group,household_no,relation\n")
A = make_resident_id("370112", date(1965, 7, 1), 211)
B = make_resident_id("370112", date(1967, 8, 2), 222)
C = make_resident_id("370112", date(1993, 9, 3), 233)
D, E = (make_resident_id("370112", date(1994, 1, n), 245) for n in (1, 2))


def rows(*lines: str) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


GOOD = [
    f"individual,{A},李长河,13900000002,姚家村二组3号,种粮大户,,farmer,120000.00,JNRCB-LX-G01,jinan.cm,,姚家村,二组,0003,head",
    f"individual,{B},王桂芝,,姚家村二组3号,,,farmer,,JNRCB-LX-G01,jinan.cm,,姚家村,二组,0003,spouse",
    f"individual_business,92370102MA3C5R998Q,重复的便利店,,,,,merchant,,JNRCB-LX-G01,jinan.cm,{A},,,,",
]


def count(app: Any) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(sa.func.count()).select_from(Customer)).scalar_one()


def test_every_bad_row_is_named_by_line_and_nothing_is_written(nongxin_app: Any, nongxin_demo: Any) -> None:
    before = count(nongxin_app)
    text = rows(*GOOD,
                f"individual,{C},,,,,,,,JNRCB-LX-G01,jinan.cm,,,,,",  # line 5: no name
                f"individual,{A},李长河,,,,,,,JNRCB-LX-G01,jinan.cm,,,,,",  # line 6: repeats line 2
                f"individual,{D[:-1]}{'1' if D[-1] == '0' else '0'},错号,,,,,,,JNRCB-LX-G01,jinan.cm,,,,,",  # line 7: check character
                f"individual,{D},某人,,,,,,,LYRCB-LS-G01,jinan.cm,,,,,",  # line 8: another bank's grid
                f"individual,{E},某人,,,,,,12.345,JNRCB-LX-G01,jinan.cm,,,,,")  # line 9: sub-fen income
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        with pytest.raises(ImportRejected) as rejected:
            import_csv(unit, principal_named(unit.session, "jinan.cm"), text)
    lines = {e.line: e.reason for e in rejected.value.report.errors}
    assert sorted(lines) == [4, 5, 6, 7, 8, 9]
    assert "already has a file for this identity number: customer" in lines[4]  # the demo's shop
    assert "name" in lines[5] and "line 2" in lines[6] and "check character" in lines[7]
    assert "not found" in lines[8] and "annual_income" in lines[9]
    assert count(nongxin_app) == before


def test_a_good_file_is_imported_whole_with_its_household(nongxin_app: Any, nongxin_demo: Any) -> None:
    from stdnum.cn import uscc

    code = "92370102MA3C5R777"
    text = rows(*GOOD[:2], f"individual_business,{code}{uscc.calc_check_digit(code)},长河粮站,,,,,merchant,,"
                f"JNRCB-LX-G01,jinan.cm,{A},,,,")
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions) as unit:
        report = import_csv(unit, principal_named(unit.session, "jinan.cm"), text)
    assert len(report.imported) == 3
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        head, spouse, shop = (unit.session.get(Customer, i) for i in report.imported)
        assert head.household is not None and head.household_id == spouse.household_id
        assert (head.relation, spouse.relation) == (Relation.HEAD, Relation.SPOUSE)
        assert shop.legal_representative_id == head.id


def run(settings: Any, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_cli_add_list_show(nongxin_settings: Any, nongxin_demo: Any, nongxin_app: Any) -> None:
    added = run(nongxin_settings, "customers", "add", "--user", "jinan.cm", "--id-number", C, "--name", "李小河",
                "--grid", "JNRCB-LX-G01", "--manager", "jinan.cm", "--segment", "salaried",
                "--annual-income", "64000.00", "--village", "彩石村", "--group", "一组", "--household-no", "0016",
                "--relation", "grandchild")
    assert added.exit_code == 0, added.output
    customer_id = int(added.output.split()[1])
    listed = run(nongxin_settings, "customers", "list", "--user", "jinan.admin", "--name", "李小河")
    assert listed.exit_code == 0 and mask_identity(C) in listed.output and C not in listed.output
    shown = run(nongxin_settings, "customers", "show", "--user", "jinan.cm", str(customer_id))
    assert C in shown.output and "born 1993-09-03, male" in shown.output and "张建国" in shown.output
    again = run(nongxin_settings, "customers", "add", "--user", "jinan.cm", "--id-number", C, "--name", "李小河",
                "--grid", "JNRCB-LX-G01", "--manager", "jinan.cm")
    assert again.exit_code == 2 and f"customer {customer_id}" in again.output
    hidden = run(nongxin_settings, "customers", "show", "--user", "linyi.cm", str(customer_id))
    assert hidden.exit_code == 2 and "not found" in hidden.output


def test_cli_import_reports_lines_or_imports_all(nongxin_settings: Any, nongxin_demo: Any, nongxin_app: Any,
                                                 tmp_path: Path) -> None:
    before = count(nongxin_app)
    bad = tmp_path / "bad.csv"
    bad.write_text(rows(*GOOD), encoding="gbk")
    result = run(nongxin_settings, "customers", "import", "--user", "jinan.cm", str(bad))
    assert result.exit_code == 2 and "line 4" in result.output and "nothing was imported" in result.output
    assert count(nongxin_app) == before
    good = tmp_path / "good.csv"
    good.write_text(rows(*GOOD[:2]), encoding="utf-8-sig")
    result = run(nongxin_settings, "customers", "import", "--user", "jinan.cm", str(good))
    assert result.exit_code == 0 and "imported 2 customer(s)" in result.output
    assert count(nongxin_app) == before + 2


def test_the_demo_files_customers_for_the_decision(nongxin_app: Any, nongxin_demo: Any) -> None:
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        shop, owner = demo_customer(unit.session, "shop"), demo_customer(unit.session, "owner")
        assert shop.legal_representative_id == owner.id and shop.segment == "merchant"
        head = demo_customer(unit.session, "farmer_head")
        assert head.household is not None and head.relation is Relation.HEAD
        assert demo_customer(unit.session, "salaried").annual_income is not None
        assert demo_customer(unit.session, "linyi_farmer").county_bank.code == "LYRCB"

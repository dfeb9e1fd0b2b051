"""Import files as banks really have them: GBK CSV from Excel, UTF-8 with a BOM, .xlsx; binary
files and extra columns are refused by line, never a traceback."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from openpyxl import Workbook

from nongxin.core.cli import Console, main
from nongxin.core.importing import UnreadableFile, read_bytes
from nongxin.core.institutions.models import Institution

ROWS = [("JNRCB-HX", "槐荫支行", "branch", "JNRCB"), ("JNRCB-HX-G1", "槐荫网格", "grid", "JNRCB-HX")]
COLUMNS = ("code", "name", "level", "parent")


def csv_text(rows=ROWS):
    return "code,name,level,parent\r\n" + "".join(",".join(r) + "\r\n" for r in rows)


def run(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings))


def names(uow):
    uow.rollback()
    return dict(uow.session.execute(sa.select(Institution.code, Institution.name)).all())


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_every_encoding_excel_writes_imports(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path, encoding):
    path = tmp_path / "tree.csv"
    path.write_bytes(csv_text().encode(encoding))
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 0, result.output
    assert names(nongxin_uow)["JNRCB-HX"] == "槐荫支行"


def test_xlsx_imports_with_excel_row_numbers(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Code", "Name", "Level", "Parent"])
    for row in ROWS:
        sheet.append(list(row))
    sheet.append([None, None, None, None])
    sheet.append(["JNRCB-X", "坏行", "village", "JNRCB"])
    path = tmp_path / "tree.xlsx"
    book.save(path)
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 2 and "line 5" in result.output and "village" in result.output
    assert "JNRCB-HX" not in names(nongxin_uow)
    partial = run(nongxin_settings, "institutions", "import", "--partial", str(path))
    assert partial.exit_code == 1 and names(nongxin_uow)["JNRCB-HX-G1"] == "槐荫网格"


def test_an_extra_column_is_an_error_on_its_line(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path):
    path = tmp_path / "tree.csv"
    path.write_text(csv_text() + "JNRCB-Y,历城,支行,branch,JNRCB\r\n", encoding="utf-8")
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 2
    assert "line 4" in result.output and "beyond the 4 columns" in result.output
    assert "JNRCB-HX" not in names(nongxin_uow)


@pytest.mark.parametrize("content", [
    bytes(range(256)) * 4,
    b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)),
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
    b"PK\x03\x04not really a workbook",
    "code,name,level,parent\n".encode("utf-16"),
])
def test_a_binary_file_is_refused_in_one_clear_line(nongxin_settings, nongxin_demo, nongxin_uow, tmp_path, content):
    path = tmp_path / "tree.csv"
    path.write_bytes(content)
    before = names(nongxin_uow)
    result = run(nongxin_settings, "institutions", "import", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 2
    assert "tree.csv" in result.output
    assert names(nongxin_uow) == before


def test_the_reader_detects_the_encoding_and_keeps_line_numbers():
    gbk = read_bytes(("code,name,level,parent\n\n" + "A,\"多\n行\",branch,P\n" + "B,乙,grid,A\n").encode("gbk"),
                     name="t.csv", columns=COLUMNS)
    assert gbk.encoding == "gb18030"
    assert [(r.line, r.values["code"], r.values["name"]) for r in gbk.rows] == [(3, "A", "多\n行"), (5, "B", "乙")]
    assert read_bytes(csv_text().encode("utf-8-sig"), name="t.csv", columns=COLUMNS).encoding == "utf-8-sig"
    with pytest.raises(UnreadableFile):
        read_bytes(b"\x00\x01\x02", name="t.csv", columns=COLUMNS)

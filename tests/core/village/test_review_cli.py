"""``nongxin village review``: open, reviewer, rate, ratings-import (all or nothing, every bad line
named), show (progress only while open), close, list; mistakes explained without a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import main
from nongxin.core.clikit import Console
from nongxin.core.db import UnitOfWork
from nongxin.core.testing import make_test_village
from nongxin.core.village.models import PeerRating

from .test_review import _reviewer_id


def _run(app: Any, settings: Any, *args: str) -> Any:
    console = Console(settings, runtime=app.extensions["nongxin"])
    return CliRunner().invoke(main, ["village", "review", *args], obj=console)


def _ratings(app: Any, round_id: int) -> list[tuple[int, int, str]]:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return sorted((r.reviewer_id, r.household_id, r.colour) for r in unit.session.execute(
            sa.select(PeerRating).where(PeerRating.round_id == round_id)).scalars())


def test_a_round_from_the_console(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any, tmp_path: Path) -> None:
    village = make_test_village(nongxin_app, households=2)
    h = village.households
    opened = _run(nongxin_app, nongxin_settings, "open", "--village", str(village.village_id), "--name", "春季评议",
                  "--user", "linyi.cm")
    assert opened.exit_code == 0, opened.output
    round_id = int(opened.output.split()[1])
    reviewers = []
    for i in range(3):
        added = _run(nongxin_app, nongxin_settings, "reviewer", str(round_id), "--kind", "official", "--name",
                     f"村干部{i}", "--id-number", _reviewer_id(100 + i), "--user", "linyi.cm")
        assert added.exit_code == 0, added.output
        reviewers.append(int(added.output.split()[1]))
    bad_id = _run(nongxin_app, nongxin_settings, "reviewer", str(round_id), "--kind", "official", "--name", "错号",
                  "--id-number", "123", "--user", "linyi.cm")
    assert bad_id.exit_code != 0 and "id_number" in bad_id.output and "Traceback" not in bad_id.output

    rated = _run(nongxin_app, nongxin_settings, "rate", str(round_id), "--reviewer", str(reviewers[0]),
                 "--household", str(h[0]), "--scores", "4,3,3,4,4", "--colour", "green", "--user", "linyi.cm")
    assert rated.exit_code == 0, rated.output
    black = _run(nongxin_app, nongxin_settings, "rate", str(round_id), "--reviewer", str(reviewers[0]),
                 "--household", str(h[1]), "--scores", "4,3,3,4,4", "--colour", "black", "--user", "linyi.cm")
    assert black.exit_code != 0 and "reason" in black.output and "Traceback" not in black.output

    header = "reviewer,household,integrity,income,assets,business,health,colour,reason\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(header + f"{reviewers[1]},{h[0]},4,3,3,4,4,green,\n"
                   + f"{reviewers[1]},{h[1]},4,3,3,4,4,black,\n"
                   + f"{reviewers[2]},{h[1]},5,3,3,4,4,grey,\n"
                   + f"{reviewers[2]},{h[0]},x,3,3,4,4,grey,\n"
                   + f"{reviewers[0]},{h[1]},4,3,3,4,4,black,赌博\x1b[31m\n", encoding="utf-8")
    rejected = _run(nongxin_app, nongxin_settings, "ratings-import", str(round_id), str(bad), "--user", "linyi.cm")
    assert rejected.exit_code == 2, rejected.output
    assert "line 3: reason" in rejected.output and "line 4: integrity" in rejected.output
    assert "line 5: integrity" in rejected.output and "line 2" not in rejected.output
    assert "line 6: reason: must not contain control" in rejected.output
    assert _ratings(nongxin_app, round_id) == [(reviewers[0], h[0], "green")]  # nothing of the file written

    good = tmp_path / "good.csv"
    rows = [f"{r},{x},3,3,3,3,3,{'grey' if x == h[1] else 'green'}," for r in reviewers[1:] for x in h]
    good.write_text(header + "\n".join(rows) + f"\n{reviewers[0]},{h[1]},3,3,3,3,3,grey,\n", encoding="gb18030")
    loaded = _run(nongxin_app, nongxin_settings, "ratings-import", str(round_id), str(good), "--user", "linyi.cm")
    assert loaded.exit_code == 0 and "5 rating(s)" in loaded.output, loaded.output

    shown = _run(nongxin_app, nongxin_settings, "show", str(round_id), "--user", "linyi.admin")
    assert shown.exit_code == 0 and "rated 3" in shown.output
    assert "grey" not in shown.output and "green" not in shown.output  # back to back
    hidden = _run(nongxin_app, nongxin_settings, "show", str(round_id), "--user", "jinan.admin")
    assert hidden.exit_code != 0 and "not found" in hidden.output

    closed = _run(nongxin_app, nongxin_settings, "close", str(round_id), "--user", "linyi.approver")
    assert closed.exit_code == 0, closed.output
    assert "stands green" in closed.output and "stands grey" in closed.output
    again = _run(nongxin_app, nongxin_settings, "close", str(round_id), "--user", "linyi.approver")
    assert again.exit_code != 0 and "closed" in again.output and "Traceback" not in again.output
    listed = _run(nongxin_app, nongxin_settings, "list", "--status", "closed", "--user", "linyi.cm")
    assert listed.exit_code == 0 and str(round_id) in listed.output and "春季评议" in listed.output


def test_ratings_from_an_xlsx_workbook(nongxin_app: Any, nongxin_demo: Any, nongxin_settings: Any,
                                       tmp_path: Path) -> None:
    from openpyxl import Workbook

    village = make_test_village(nongxin_app, households=1)
    opened = _run(nongxin_app, nongxin_settings, "open", "--village", str(village.village_id), "--user", "linyi.cm")
    round_id = int(opened.output.split()[1])
    added = _run(nongxin_app, nongxin_settings, "reviewer", str(round_id), "--kind", "manager", "--name", "客户经理",
                 "--id-number", _reviewer_id(300), "--manager", "linyi.cm", "--user", "linyi.cm")
    assert added.exit_code == 0, added.output
    reviewer = int(added.output.split()[1])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["colour", "reason", "reviewer", "household", "integrity", "income", "assets", "business", "health"])
    sheet.append(["white", None, reviewer, village.households[0], 2, 2, 2, 2, 2])
    path = tmp_path / "ratings.xlsx"
    book.save(path)
    loaded = _run(nongxin_app, nongxin_settings, "ratings-import", str(round_id), str(path), "--user", "linyi.cm")
    assert loaded.exit_code == 0 and "1 rating(s)" in loaded.output, loaded.output
    assert _ratings(nongxin_app, round_id) == [(reviewer, village.households[0], "white")]

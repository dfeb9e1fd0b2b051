"""``nongxin collateral revalue``: the batch with its summary, problems and exit status; one item
now on a user's behalf; mistakes explained without a traceback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.cli import main
from nongxin.core.clikit import Console
from nongxin.core.collateral.models import CollateralItem, CollateralValuation
from nongxin.core.db import UnitOfWork
from nongxin.core.testing import open_test_item


def _run(app: Any, settings: Any, *args: str) -> Any:
    console = Console(settings, runtime=app.extensions["nongxin"])
    return CliRunner().invoke(main, ["collateral", "revalue", *args], obj=console)


def _count(app: Any, item_id: int) -> int:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(sa.func.count()).select_from(CollateralValuation).where(
            CollateralValuation.item_id == item_id)).scalar_one()


def _number(app: Any, item_id: int) -> str:
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.get(CollateralItem, item_id).number


def test_due_values_prints_the_summary_and_exits_1_naming_what_could_not_be_valued(
        nongxin_app: Any, nongxin_settings: Any, nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    house = open_test_item(nongxin_app, place="JNRCB-LX", valued_on=today - timedelta(days=400))
    guarantee = open_test_item(nongxin_app, place="JNRCB", kind="guarantee_person", value="100000.00",
                               valued_on=today - timedelta(days=400))
    only_branch = _run(nongxin_app, nongxin_settings, "--due", "--institution", "JNRCB-LX")
    assert only_branch.exit_code == 0, only_branch.output
    assert "1 due, 1 valued, 0 without an automatic value, 0 failed" in only_branch.output
    assert _count(nongxin_app, house) == 2 and _count(nongxin_app, guarantee) == 1
    everything = _run(nongxin_app, nongxin_settings, "--due", "--quiet")
    assert everything.exit_code == 1, everything.output
    assert f"{_number(nongxin_app, guarantee)} (item {guarantee}): no valuer plugin enabled at JNRCB valued this " \
           "guarantee_person" in everything.output
    assert _count(nongxin_app, house) == 2  # not due again the same day


def test_due_as_of_a_later_day_and_an_unknown_institution(nongxin_app: Any, nongxin_settings: Any,
                                                          nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    today = nongxin_app.extensions["nongxin"].clock.business_date()
    car = open_test_item(nongxin_app, kind="vehicle", valued_on=today - timedelta(days=170))
    early = _run(nongxin_app, nongxin_settings, "--due", "--institution", "JNRCB-LX")
    assert early.exit_code == 0 and _count(nongxin_app, car) == 1
    later = (today + timedelta(days=15)).isoformat()
    late = _run(nongxin_app, nongxin_settings, "--due", "--institution", "JNRCB-LX", "--as-of", later)
    assert late.exit_code == 0, late.output
    assert f"as of {later}" in late.output and _count(nongxin_app, car) == 2
    unknown = _run(nongxin_app, nongxin_settings, "--due", "--institution", "NOPE")
    assert unknown.exit_code == 2 and "institution NOPE not found" in unknown.output
    assert "Traceback" not in unknown.output


def test_one_item_now_on_a_users_behalf(nongxin_app: Any, nongxin_settings: Any, nongxin_enable: Any) -> None:
    nongxin_enable("collateral_sim", "JNRCB")
    house = open_test_item(nongxin_app, value="1000000.00")
    done = _run(nongxin_app, nongxin_settings, str(house), "--user", "jinan.cm")
    assert done.exit_code == 0, done.output
    assert "valued 970000.00 yuan (index)" in done.output and "collateral_sim" in done.output
    guarantee = open_test_item(nongxin_app, kind="guarantee_person", value="100000.00")
    refused = _run(nongxin_app, nongxin_settings, str(guarantee), "--user", "jinan.cm")
    assert refused.exit_code == 2 and "has no automatic value" in refused.output
    assert _count(nongxin_app, guarantee) == 1 and "Traceback" not in refused.output
    elsewhere = open_test_item(nongxin_app, place="LYRCB", manager="linyi.cm")
    hidden = _run(nongxin_app, nongxin_settings, str(elsewhere), "--user", "jinan.cm")
    assert hidden.exit_code == 2 and "not found" in hidden.output


def test_mistakes_are_explained(nongxin_app: Any, nongxin_settings: Any, nongxin_demo: Any) -> None:
    for args in ((), ("1", "--due"), ("1",)):
        result = _run(nongxin_app, nongxin_settings, *args)
        assert result.exit_code == 2 and "Traceback" not in result.output, (args, result.output)
    assert "not both or neither" in _run(nongxin_app, nongxin_settings).output
    assert "--user is required" in _run(nongxin_app, nongxin_settings, "1").output

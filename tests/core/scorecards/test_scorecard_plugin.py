"""A scorecard baked by `nongxin new scorecard --from` works in the core: registered as a plugin and
enabled at Jinan, it scores Jinan's decisions of its segment as the champion (the province's card
steps aside); set to `challenger` through the plugin settings, the province's card decides again
(the challenger only scores in shadow); elsewhere it is never asked.
"""

from __future__ import annotations

import importlib
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.clikit import province_operator
from nongxin.core.credit.models import Application, Decision
from nongxin.core.db import UnitOfWork
from nongxin.core.scaffold import new
from nongxin.core.testing import file_application
from nongxin.plugins.province_scorecards import SALARIED
from nongxin.sdk.identity import make_resident_id
from nongxin.sdk.scorecards import spec_to_json
from tests.templates.test_bake_scorecard import sample_spec

PACKAGE = "jinan_shadow_card"
CODE = "JNRCB-SC-SALARIED"


@pytest.fixture(scope="module")
def card_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The baked package's plugin module, imported from the folder `nongxin new` wrote."""
    folder = tmp_path_factory.mktemp("card")
    (folder / "spec.json").write_text(spec_to_json(sample_spec(CODE, "salaried")), encoding="utf-8")
    result = CliRunner().invoke(new, ["scorecard", "--no-input", "--from", str(folder / "spec.json"),
                                      "--output-dir", str(folder), f"package_name={PACKAGE}", "institution=JNRCB"])
    assert result.exit_code == 0, result.output
    root = str(folder / PACKAGE.replace("_", "-"))
    sys.path.insert(0, root)
    try:
        yield importlib.import_module(f"{PACKAGE}.plugin")
    finally:
        sys.path.remove(root)
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def nongxin_plugins(card_module: ModuleType) -> list[Any]:
    return [card_module]


def decided_by(app: Any, client: Any, serial: int, place: str = "JNRCB-LX", user: str = "jinan.cm") -> str | None:
    """File and decide a salaried (信e贷) application; the code of the card that scored it."""
    app_id = file_application(app, place=place, filed_by=user,
                              id_number=make_resident_id("370102", date(1986, 4, 2), 900 + serial))
    resp = client.as_user(user).post(f"/api/applications/{app_id}/decide")
    assert resp.status_code == 200, resp.get_json()
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(Decision.scorecard_code).join(Application)
                                    .where(Application.id == app_id)).scalar_one()


def test_the_baked_card_is_champion_at_its_bank_until_set_to_challenger(
        nongxin_app: Any, nongxin_client: Any, nongxin_enable: Any, card_module: ModuleType) -> None:
    assert card_module.SPEC.code == CODE and Path(card_module.__file__).parent.joinpath("spec.json").is_file()
    assert decided_by(nongxin_app, nongxin_client, 1) == SALARIED.code  # not enabled yet: the province's card
    nongxin_enable(PACKAGE, "JNRCB")
    assert decided_by(nongxin_app, nongxin_client, 2) == CODE  # champion by default
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        state = runtime.plugins.set_settings(unit, province_operator(unit), PACKAGE, "JNRCB", {"role": "challenger"})
        unit.commit()
    assert state.settings["role"] == "challenger"
    assert decided_by(nongxin_app, nongxin_client, 3) == SALARIED.code  # pick_scorecard skips challengers
    with UnitOfWork(runtime.sessions) as unit:
        runtime.plugins.set_settings(unit, province_operator(unit), PACKAGE, "JNRCB", {"role": "champion"})
        unit.commit()
    assert decided_by(nongxin_app, nongxin_client, 4) == CODE  # promoted back
    assert decided_by(nongxin_app, nongxin_client, 5, place="LYRCB-LS", user="linyi.cm") == SALARIED.code

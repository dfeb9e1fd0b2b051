"""Batch pre-credit as a service: the set-wise frame, the run, offers by outcome, supersession and
expiry, through the API and the CLI."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from nongxin.core.audit.models import AuditEntry
from nongxin.core.cli import Console, main
from nongxin.core.credit.lines import exposure
from nongxin.core.credit.models import CreditLine
from nongxin.core.customers.models import Customer
from nongxin.core.customers.services import customer_facts
from nongxin.core.db import UnitOfWork
from nongxin.core.institutions.services import get_by_code
from nongxin.core.testing import make_test_village, open_test_line
from nongxin.core.village import engine
from nongxin.core.village.models import OfferStatus, PrecreditOffer
from nongxin.core.village.precredit import expire_offers, households_frame

COLOURS = ["green", "white", "grey", "black", None, "green", "white"]


def make_village(app, **kwargs):
    """``make_test_village`` with every member born in the 1980s: its birth years depend on how many
    villages the process made before, and some runs of years are too old for the scorecard's grades,
    which would make a test's outcome depend on the tests before it."""
    village = make_test_village(app, **kwargs)
    with UnitOfWork(app.extensions["nongxin"].sessions) as unit:
        for n, customer_id in enumerate(village.members):
            unit.session.get(Customer, customer_id).birth_date = date(1980 + n % 10, 1 + n % 12, 1 + n % 28)
        unit.commit()
    return village


@pytest.fixture
def village(nongxin_app, nongxin_demo, nongxin_enable):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    return make_village(nongxin_app, households=7, colours=COLOURS, spouses=True)


def offers_of(app, village_id):
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return list(unit.session.execute(sa.select(PrecreditOffer).where(PrecreditOffer.village_id == village_id)
                                         .order_by(PrecreditOffer.id)).scalars())


def run_api(client, village_id, user="linyi.admin", **extra):
    return client.as_user(user).post("/api/precredit/runs", json={"village": village_id, "product": "YMYD", **extra})


def test_the_sql_frame_is_the_one_record_facts_frame(nongxin_app, village):
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    with UnitOfWork(runtime.sessions, write=False) as unit:
        head = unit.session.get(Customer, village.heads[0])
        number = head.id_number
    open_test_line(nongxin_app, place="LYRCB-LS-G01", manager="linyi.cm", id_number=number, amount="120000.00",
                   products=("YMYD",))  # the first head holds a line: less room under the cap
    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = get_by_code(unit.session, "LYRCB")
        got = households_frame(unit.session, bank, today, village_id=village.village_id)
        heads = [unit.session.get(Customer, i) for i, colour in zip(village.heads, COLOURS) if colour in ("green", "white")]
        expected = engine.facts_frame([
            {"customer_id": c.id, "household_id": c.household_id, **customer_facts(c, today),
             "exposure_room": exposure(unit.session, bank, c.id, today).room} for c in heads])
    assert list(got["customer_id"]) == [c.id for c in heads]  # heads only, green and white only
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected)
    assert got["exposure_room_fen"].iloc[0] < got["exposure_room_fen"].iloc[1]


def test_a_run_offers_by_outcome_and_no_line_exists_before_accept(nongxin_app, nongxin_client, village):
    resp = run_api(nongxin_client, village.village_id)
    assert resp.status_code == 201, resp.get_json()
    [run] = resp.get_json()
    assert (run["households"], run["county_bank"], run["product"]) == (4, "LYRCB", "YMYD")
    offers = offers_of(nongxin_app, village.village_id)
    by_household = {o.household_id: o for o in offers}
    credited = [h for h, c in zip(village.households, COLOURS) if c in ("green", "white")]
    assert sorted(by_household) == sorted(credited)  # grey, black and never-reviewed get nothing
    expected = {"approved": OfferStatus.OFFERED, "manual_review": OfferStatus.REFERRED,
                "rejected": OfferStatus.REJECTED}
    assert all(o.status is expected[o.outcome] for o in offers)
    green = by_household[village.households[0]]
    assert green.status is OfferStatus.OFFERED and green.limit > 0 and green.rate > 0 and green.grade
    runtime = nongxin_app.extensions["nongxin"]
    today = runtime.clock.business_date()
    assert green.expires_on == today + timedelta(days=90)  # village.offer_days' default
    assert run["offered"] == sum(o.status is OfferStatus.OFFERED for o in offers)
    assert run["offered"] + run["referred"] + run["rejected"] == 4
    with UnitOfWork(runtime.sessions, write=False) as unit:
        assert unit.session.execute(sa.select(sa.func.count()).select_from(CreditLine)).scalar_one() == 0
        entry = unit.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "precredit.run")).scalar_one()
        assert entry.after["households"] == 4
    # the same answers as the one-record reference for those households
    with UnitOfWork(runtime.sessions, write=False) as unit:
        bank = get_by_code(unit.session, "LYRCB")
        frame = households_frame(unit.session, bank, today, village_id=village.village_id)
        ctx = engine.batch_context(unit.session, runtime, get_by_code(unit.session, "LYRCB-LS-G01"), "YMYD", today)
        reference = engine.evaluate_one_by_one(frame[[c for c in frame.columns if c not in ("village_id", "grid_id")]],
                                               ctx)
    assert [by_household[h].outcome for h in frame["household_id"]] == list(reference["outcome"])


def test_a_rerun_supersedes_and_expiry_expires(nongxin_app, nongxin_client, village):
    assert run_api(nongxin_client, village.village_id).status_code == 201
    first = offers_of(nongxin_app, village.village_id)
    assert run_api(nongxin_client, village.village_id).status_code == 201
    offers = offers_of(nongxin_app, village.village_id)
    old, new = offers[:len(first)], offers[len(first):]
    assert len(new) == len(first)
    assert all(o.status is OfferStatus.SUPERSEDED for o in old if o.outcome != "rejected")
    assert all(o.status is OfferStatus.REJECTED for o in old if o.outcome == "rejected")
    runtime = nongxin_app.extensions["nongxin"]
    later = new[0].expires_on + timedelta(days=1)
    with UnitOfWork(runtime.sessions) as unit:
        assert expire_offers(unit, new[0].expires_on) == 0  # valid through its last day
        n = expire_offers(unit, later)
        unit.commit()
    assert n == sum(o.outcome != "rejected" for o in new)
    assert {o.status for o in offers_of(nongxin_app, village.village_id)[len(first):] if o.outcome != "rejected"} \
        == {OfferStatus.EXPIRED}


def test_scope_product_and_roles(nongxin_app, nongxin_client, village):
    assert run_api(nongxin_client, village.village_id, user="jinan.admin").status_code == 404
    assert run_api(nongxin_client, 999999).status_code == 404
    assert run_api(nongxin_client, village.village_id, user="linyi.cm").status_code == 403
    wrong = run_api(nongxin_client, village.village_id, product="NOSUCH")
    assert wrong.status_code == 422 and "product" in wrong.get_json()["fields"]
    both = nongxin_client.as_user("linyi.admin").post("/api/precredit/runs", json={"village": village.village_id,
                                                                                   "institution": "LYRCB"})
    assert both.status_code == 422 and "village" in both.get_json()["fields"]
    grid = nongxin_client.as_user("linyi.admin").post("/api/precredit/runs", json={"institution": "LYRCB-LS-G01",
                                                                                   "product": "YMYD"})
    assert grid.status_code == 422 and "institution" in grid.get_json()["fields"]
    assert offers_of(nongxin_app, village.village_id) == []
    county = nongxin_client.as_user("linyi.approver").post("/api/precredit/runs",
                                                           json={"institution": "LYRCB", "product": "YMYD"})
    assert county.status_code == 201 and county.get_json()[0]["households"] >= 4
    run_id = county.get_json()[0]["id"]
    assert nongxin_client.as_user("linyi.pm").get(f"/api/precredit/runs/{run_id}").status_code == 200
    assert nongxin_client.as_user("linyi.cm").get(f"/api/precredit/runs/{run_id}").status_code == 404  # a branch
    assert nongxin_client.as_user("jinan.admin").get(f"/api/precredit/runs/{run_id}").status_code == 404


def test_listing_and_showing_offers(nongxin_app, nongxin_client, village):
    run_api(nongxin_client, village.village_id)
    cm = nongxin_client.as_user("linyi.cm")
    listed = cm.get(f"/api/precredit/offers?village={village.village_id}&status=offered").get_json()
    assert listed and {o["status"] for o in listed} == {"offered"}
    assert all(o["customer"]["id_number"] for o in listed)
    one = cm.get(f"/api/precredit/offers/{listed[0]['id']}")
    assert one.status_code == 200 and one.get_json()["limit"] == listed[0]["limit"]
    assert nongxin_client.as_user("jinan.cm").get(f"/api/precredit/offers/{listed[0]['id']}").status_code == 404
    assert nongxin_client.as_user("jinan.cm").get(f"/api/precredit/offers?village={village.village_id}").get_json() == []
    assert cm.get("/api/precredit/offers?institution=JNRCB").status_code == 404
    assert cm.get("/api/precredit/offers?status=nonsense").status_code == 422


def cli(settings, *args):
    return CliRunner().invoke(main, list(args), obj=Console(settings), catch_exceptions=False)


def test_the_cli_runs_lists_and_expires(nongxin_settings, nongxin_app, village):
    out = cli(nongxin_settings, "village", "precredit", str(village.village_id), "--product", "YMYD",
              "--user", "linyi.admin", "--json")
    assert out.exit_code == 0, out.output
    [summary] = json.loads(out.output)
    assert summary["households"] == 4 and summary["county_bank"] == "LYRCB"
    table = cli(nongxin_settings, "village", "precredit", "--county", "LYRCB", "--product", "YMYD",
                "--user", "linyi.admin")
    assert table.exit_code == 0 and "LYRCB" in table.output and "superseded" in table.output
    listed = cli(nongxin_settings, "village", "offers", "--user", "linyi.cm", "--village", str(village.village_id),
                 "--status", "offered")
    assert listed.exit_code == 0 and "offered" in listed.output
    offer_id = listed.output.split()[0]
    shown = cli(nongxin_settings, "village", "offer", offer_id, "--user", "linyi.cm")
    assert shown.exit_code == 0 and "outcome   approved" in shown.output
    refused = cli(nongxin_settings, "village", "precredit", str(village.village_id), "--user", "linyi.cm")
    assert refused.exit_code != 0 and "Traceback" not in refused.output
    neither = cli(nongxin_settings, "village", "precredit", "--user", "linyi.admin")
    assert neither.exit_code != 0 and "village" in neither.output
    declined = cli(nongxin_settings, "village", "decline", offer_id, "--user", "linyi.cm", "--reason", "不需要")
    assert declined.exit_code == 0 and "declined" in declined.output
    again = cli(nongxin_settings, "village", "decline", offer_id, "--user", "linyi.cm")
    assert again.exit_code != 0 and "is declined" in again.output
    assert cli(nongxin_settings, "village", "expire-offers").exit_code == 0

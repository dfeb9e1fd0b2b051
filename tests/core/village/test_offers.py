"""Accepting and declining pre-credit offers: consent first, then an application filed and decided
through the credit services; an offer alone is never a line."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.bureau.models import BureauQueryLog
from nongxin.core.bureau.services import SubjectInput, record_authorization
from nongxin.core.credit.models import Application, CreditLine
from nongxin.core.customers.models import Customer
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.institutions import users
from nongxin.core.village.models import OfferStatus, PrecreditOffer

from .test_precredit import make_village

COLOURS = ["green", "green", "white", "grey"]


@pytest.fixture
def offer_ids(nongxin_app, nongxin_demo, nongxin_enable, nongxin_client):
    nongxin_enable("yimeng_cloud_loan", "LYRCB")
    # clean bureau files: an offer's acceptance decides with a real (simulated) bureau report, and
    # a head drawing a court record would be rejected whatever the test checks
    village = make_village(nongxin_app, households=4, colours=COLOURS, clean_bureau=True)
    resp = nongxin_client.as_user("linyi.admin").post("/api/precredit/runs",
                                                      json={"village": village.village_id, "product": "YMYD"})
    assert resp.status_code == 201, resp.get_json()
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        return {o.status: o.id for o in unit.session.execute(
            sa.select(PrecreditOffer).where(PrecreditOffer.village_id == village.village_id)
            .order_by(PrecreditOffer.id.desc())).scalars()}


def consent(app, offer_id, purposes=("02",)):
    """The head's bureau authorization, recorded through the bureau service by the customer manager."""
    runtime = app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        offer = unit.session.get(PrecreditOffer, offer_id)
        head = unit.session.get(Customer, offer.customer_id)
        record_authorization(unit, users.principal_named(unit.session, "linyi.cm"), runtime.settings,
                             subject=SubjectInput("resident_id", head.id_number, head.name), purposes=list(purposes),
                             channel="paper", evidence_ref="archive://village.pdf", evidence_sha256="ab" * 32,
                             granted_at=utcnow() - timedelta(days=1))
        unit.commit()


def count(app, model):
    with UnitOfWork(app.extensions["nongxin"].sessions, write=False) as unit:
        return unit.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def accept(client, offer_id, user="linyi.cm", **body):
    return client.as_user(user).post(f"/api/precredit/offers/{offer_id}/accept",
                                     json={"signature_ref": "esign://contract/1", **body})


def test_accept_without_consent_is_422_and_writes_nothing(nongxin_app, nongxin_client, offer_ids):
    offer_id = offer_ids[OfferStatus.OFFERED]
    resp = accept(nongxin_client, offer_id)
    assert resp.status_code == 422 and resp.get_json()["error"] == "consent"
    assert "consent" in resp.get_json()["fields"] and "02" in resp.get_json()["fields"]["consent"][0]
    assert count(nongxin_app, Application) == 0 and count(nongxin_app, BureauQueryLog) == 0
    consent(nongxin_app, offer_id, purposes=("03",))  # another purpose is not the consent
    assert accept(nongxin_client, offer_id).status_code == 422
    shown = nongxin_client.as_user("linyi.cm").get(f"/api/precredit/offers/{offer_id}").get_json()
    assert shown["status"] == "offered" and shown["application"] is None


def test_accept_with_consent_files_decides_and_grants(nongxin_app, nongxin_client, offer_ids):
    offer_id = offer_ids[OfferStatus.OFFERED]
    assert count(nongxin_app, CreditLine) == 0  # an offer is not a line
    consent(nongxin_app, offer_id)
    missing = nongxin_client.as_user("linyi.cm").post(f"/api/precredit/offers/{offer_id}/accept", json={})
    assert missing.status_code == 422 and "signature_ref" in missing.get_json()["fields"]
    resp = accept(nongxin_client, offer_id)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["offer"]["status"] == "accepted" and body["offer"]["application"] == body["application"]["id"]
    assert body["application"]["outcome"] == "approved"  # the simulated bureau's clean profile
    with UnitOfWork(nongxin_app.extensions["nongxin"].sessions, write=False) as unit:
        app = unit.session.get(Application, body["application"]["id"])
        assert app.channel.value == "batch_precredit" and app.channel_ref == f"offer:{offer_id}"
        assert app.amount == unit.session.get(PrecreditOffer, offer_id).limit
        logs = list(unit.session.execute(sa.select(BureauQueryLog)).scalars())
        assert [log.purpose for log in logs] == ["02"] and logs[0].for_ref == app.number  # queried with consent
        line = unit.session.execute(sa.select(CreditLine).where(CreditLine.application_id == app.id)).scalar_one_or_none()
    assert line is not None and body["credit_line"] == {"id": line.id, "number": line.number, "status": "active",
                                                        "amount": body["application"]["approved_amount"]}
    assert count(nongxin_app, CreditLine) == 1
    again = accept(nongxin_client, offer_id)
    assert again.status_code == 409 and "accepted" in again.get_json()["message"]


def test_only_an_open_unexpired_offer_moves(nongxin_app, nongxin_client, offer_ids):
    referred = offer_ids.get(OfferStatus.REFERRED) or offer_ids.get(OfferStatus.REJECTED)
    if referred is not None:
        assert accept(nongxin_client, referred).status_code == 409
    offer_id = offer_ids[OfferStatus.OFFERED]
    consent(nongxin_app, offer_id)
    runtime = nongxin_app.extensions["nongxin"]
    with UnitOfWork(runtime.sessions) as unit:
        unit.session.get(PrecreditOffer, offer_id).expires_on = runtime.clock.business_date() - timedelta(days=1)
        unit.commit()
    expired = accept(nongxin_client, offer_id)
    assert expired.status_code == 409 and "expired" in expired.get_json()["message"]
    assert count(nongxin_app, Application) == 0


def test_decline_scope_and_roles(nongxin_app, nongxin_client, offer_ids):
    offer_id = offer_ids[OfferStatus.OFFERED]
    assert accept(nongxin_client, offer_id, user="jinan.cm").status_code == 404
    assert nongxin_client.as_user("jinan.cm").post(f"/api/precredit/offers/{offer_id}/decline",
                                                   json={"reason": "x"}).status_code == 404
    assert accept(nongxin_client, offer_id, user="linyi.admin").status_code == 403
    resp = nongxin_client.as_user("linyi.cm").post(f"/api/precredit/offers/{offer_id}/decline", json={"reason": "外出务工"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "declined"
    assert resp.get_json()["decided_by"] == "linyi.cm"
    assert accept(nongxin_client, offer_id).status_code == 409


def test_concurrent_accepts_of_one_offer_file_one_application(nongxin_app, nongxin_demo, offer_ids):
    offer_id = offer_ids[OfferStatus.OFFERED]
    consent(nongxin_app, offer_id)
    body = {"signature_ref": "esign://contract/1"}
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        ("linyi.cm", "POST", f"/api/precredit/offers/{offer_id}/accept", body, {}) for _ in range(3)])
    assert sorted(status for status, _ in answers) == [200, 409, 409], answers
    assert count(nongxin_app, Application) == 1 and count(nongxin_app, CreditLine) == 1


def test_the_cli_accepts_with_consent_only(nongxin_settings, nongxin_app, offer_ids):
    from click.testing import CliRunner

    from nongxin.core.cli import Console, main

    def cli(*args):
        return CliRunner().invoke(main, list(args), obj=Console(nongxin_settings), catch_exceptions=False)

    offer_id = str(offer_ids[OfferStatus.OFFERED])
    refused = cli("village", "accept", offer_id, "--signature", "paper://contract/7", "--user", "linyi.cm")
    assert refused.exit_code != 0 and "consent" in refused.output and "Traceback" not in refused.output
    assert count(nongxin_app, Application) == 0
    consent(nongxin_app, int(offer_id))
    out = cli("village", "accept", offer_id, "--signature", "paper://contract/7", "--user", "linyi.cm")
    assert out.exit_code == 0, out.output
    assert "application LYRCB-A" in out.output and "approved" in out.output and "credit line LYRCB-C" in out.output

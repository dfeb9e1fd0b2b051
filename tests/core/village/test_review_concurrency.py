"""Two closers of one round at the same moment, through a real server on whichever database the
suite runs on: one closes it (200), the other waits and is told it is closed (409), never a 500,
and the households' results are written once."""

from __future__ import annotations

import sqlalchemy as sa

from nongxin.core import loadgen
from nongxin.core.testing import make_test_village
from nongxin.core.village.models import HouseholdReview

from .test_review import add_reviewers, open_round, rate


def test_two_closers_at_once_one_closes_one_conflicts(nongxin_app, nongxin_demo, nongxin_client, nongxin_uow):
    village = make_test_village(nongxin_app, households=3)
    round_id = open_round(nongxin_client, village.village_id)
    reviewers = add_reviewers(nongxin_client, round_id, 3)
    for household in village.households:
        for reviewer in reviewers:
            assert rate(nongxin_client, round_id, reviewer, household, "green").status_code == 200
    answers = loadgen.race(nongxin_app, nongxin_demo.tokens, [
        (user, "POST", f"/api/review-rounds/{round_id}/close", None, None)
        for user in ("linyi.admin", "linyi.approver")])
    assert sorted(status for status, _ in answers) == [200, 409], answers
    conflict = next(body for status, body in answers if status == 409)
    assert conflict["error"] == "invalid_state"  # type: ignore[index]
    assert nongxin_uow.session.execute(sa.select(sa.func.count()).select_from(HouseholdReview).where(
        HouseholdReview.round_id == round_id)).scalar_one() == 3

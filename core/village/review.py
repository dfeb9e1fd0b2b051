"""Back-to-back peer review (背靠背评议): rounds, reviewers, ratings and the close (验收).

The promises:

* A round covers one village, or every village of one grid; its ``min_reviewers`` and
  ``aggregation`` are the county's settings when it opened, kept on the round. A village is in at
  most one open round (409), and openers of one village queue (its row is locked).
* A caller sees a round only when its grid lies in their subtree (another county bank's round is
  404, like a missing one), then the role (403).
* Ratings are entered on a reviewer's behalf (paper forms at the village meeting) by the logged-in
  user, who is recorded: black needs a reason; a reviewer never rates their own household; the
  household must be in the round's village(s); the round must be open (409). Entering again
  replaces the reviewer's rating of that household. A file of ratings loads all or nothing, every
  bad row named with its line.
* Back to back: while a round is open, nothing here returns a colour or a score, to anyone:
  ``progress`` counts only. After the close, ``results`` shows each household's outcome and the
  individual ratings.
* Closing locks the round (a second closer waits, then gets 409), aggregates every household at
  once (``review_domain``), overrides to black for a member's non-performing loan at the bank, a
  court list or a negative credit report (queried only for members with a live authorization of
  the bank for purpose 23, customer admission review; the others are recorded as not checked),
  writes one ``HouseholdReview`` per household, sets the colour that stands on each household that
  has one, and audits the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

import pandas as pd
import sqlalchemy as sa

from nongxin.core.audit.services import record
from nongxin.core.auth import Principal
from nongxin.core.bureau import services as bureau
from nongxin.core.bureau.models import BureauAuthorization
from nongxin.core.credit.models import OPEN_STATUSES, Loan
from nongxin.core.customers.models import Customer, CustomerKind, Household
from nongxin.core.customers.services import checked_text, customer_manager, shows_full_id
from nongxin.core.db import UnitOfWork, utcnow
from nongxin.core.early_warning.domain import NON_PERFORMING
from nongxin.core.early_warning.models import LoanClass, WatchlistEntry
from nongxin.core.errors import Conflict, Forbidden, NongxinError, NotFound, ValidationFailed, field_error, invalid
from nongxin.core.importing import Table
from nongxin.core.institutions import services as institutions
from nongxin.core.institutions.models import Institution, Level
from nongxin.core.parameters.services import value
from nongxin.core.permissions import Action, may, require
from nongxin.core.runtime import Runtime
from nongxin.core.schemas import CONTROL
from nongxin.core.scoping import PAGE, page
from nongxin.core.village import review_domain as domain
from nongxin.core.village.villages import visible_village
from nongxin.core.village.models import COLOURS, HouseholdReview, PeerRating, ReviewRound, RoundReviewer, RoundStatus, Village
from nongxin.sdk.bureau import BureauSubject, Purpose
from nongxin.sdk.identity import IdentityKind, InvalidIdentity, mask_identity, validate_resident_id

__all__ = [
    "COLUMNS", "RatingInput", "RatingsRejected", "RoundFilters", "add_reviewer", "close_round", "import_ratings",
    "list_rounds", "open_round", "rate", "reviewer_shown", "show", "visible_round",
]

#: The purpose a peer review's bureau check is made for (客户准入资格审查).
PURPOSE = Purpose.CUSTOMER_ADMISSION_REVIEW
#: The columns of a ratings file (any order).
COLUMNS = ("reviewer", "household", *domain.SCORES, "colour", "reason")


# -- scope ----------------------------------------------------------------------------------------

def visible_round(uow: UnitOfWork, principal: Principal, round_id: int, action: Action, *,
                  lock: bool = False) -> ReviewRound:
    """The round if its grid lies in the caller's subtree, else 404; then 403 unless the caller may
    ``action``. ``lock`` takes the round's row for the transaction (closers and raters queue)."""
    stmt = sa.select(ReviewRound).where(ReviewRound.id == round_id)
    if lock:
        stmt = stmt.with_for_update()
    row = uow.session.execute(stmt).scalar_one_or_none()
    grid = uow.session.get(Institution, row.grid_id) if row is not None else None
    if row is None or grid is None or not principal.can_see(grid):
        raise NotFound(f"review round {round_id} not found", fields={"review_round": ["not found"]})
    require(principal, action)
    return row


def _must_be_open(rnd: ReviewRound) -> None:
    if rnd.status is not RoundStatus.OPEN:
        raise Conflict(f"review round {rnd.id} is {rnd.status.value}", code="invalid_state",
                       fields={"status": [rnd.status.value]})


def _villages(uow: UnitOfWork, rnd: ReviewRound) -> list[int]:
    if rnd.village_id is not None:
        return [rnd.village_id]
    return list(uow.session.execute(sa.select(Village.id).where(Village.grid_id == rnd.grid_id)).scalars())


def _households(uow: UnitOfWork, rnd: ReviewRound) -> list[int]:
    """The households of the round's village(s), in id order."""
    return list(uow.session.execute(sa.select(Household.id).where(
        Household.village_id.in_(_villages(uow, rnd))).order_by(Household.id)).scalars())


# -- opening --------------------------------------------------------------------------------------

def open_round(uow: UnitOfWork, principal: Principal, *, village_id: int | None = None, grid: str | None = None,
               name: str = "", today: date) -> ReviewRound:
    """Open a round of one village (``village_id``) or of every village of ``grid``."""
    session = uow.session
    if (village_id is None) == (grid is None):
        raise invalid("village", "name either a village (id) or a grid (code)")
    if village_id is not None:
        village = visible_village(uow, principal, village_id, Action.VILLAGE_REVIEW)
        where = session.get(Institution, village.grid_id)
        assert where is not None
        covered = [village_id]
    else:
        assert grid is not None
        where = institutions.get_by_code(session, grid.strip())
        if where is None or not principal.can_see(where):
            raise NotFound(f"grid {grid} not found", fields={"grid": ["not found"]})
        require(principal, Action.VILLAGE_REVIEW)
        if where.level is not Level.GRID:
            raise invalid("grid", f"{where.code} is a {where.level.value}, not a grid")
        covered = list(session.execute(sa.select(Village.id).where(Village.grid_id == where.id)).scalars())
        if not covered:
            raise invalid("grid", f"grid {where.code} has no villages")
    # openers of one village queue here; then at most one open round covers it
    session.execute(sa.select(Village.id).where(Village.id.in_(covered)).with_for_update())
    grids = set(session.execute(sa.select(Village.grid_id).where(Village.id.in_(covered))).scalars())
    clash = session.execute(sa.select(ReviewRound.id).where(
        ReviewRound.status == RoundStatus.OPEN,
        sa.or_(ReviewRound.village_id.in_(covered),
               sa.and_(ReviewRound.village_id.is_(None), ReviewRound.grid_id.in_(grids)))).limit(1)).scalar()
    if clash is not None:
        raise Conflict(f"review round {clash} is still open for this village", code="round_open",
                       fields={"village" if village_id is not None else "grid": [f"round {clash} is open"]})
    bank = institutions.county_bank_of(session, where)
    assert bank is not None
    rnd = ReviewRound(county_bank_id=bank.id, grid_id=where.id, village_id=village_id, name=checked_text("name", name, ReviewRound.name),
                      status=RoundStatus.OPEN, min_reviewers=int(value(session, bank, "village.min_reviewers", today)),
                      aggregation=str(value(session, bank, "village.aggregation", today)),
                      opened_by=principal.username, opened_on=today)
    session.add(rnd)
    uow.flush()
    record(session, actor=principal.username, action="village.review.open", target=f"review_round:{rnd.id}",
           institution_code=bank.code,
           after={"village": village_id, "grid": where.code, "name": rnd.name, "min_reviewers": rnd.min_reviewers,
                  "aggregation": rnd.aggregation})
    return rnd


# -- reviewers ------------------------------------------------------------------------------------

def add_reviewer(uow: UnitOfWork, principal: Principal, round_id: int, *, kind: str, name: str, id_number: str,
                 username: str | None = None, today: date) -> RoundReviewer:
    """Add a reviewer to an open round; their own household is found among the bank's files."""
    session = uow.session
    rnd = visible_round(uow, principal, round_id, Action.VILLAGE_REVIEW, lock=True)
    _must_be_open(rnd)
    if kind not in domain.KINDS:
        raise invalid("kind", f"{kind!r} is not one of {', '.join(domain.KINDS)}")
    if not checked_text("name", name, RoundReviewer.name):
        raise invalid("name", "must not be empty")
    try:
        number = validate_resident_id(id_number.strip().upper(), today=today)
    except InvalidIdentity as exc:
        raise field_error("id_number", exc) from None
    bank = session.get(Institution, rnd.county_bank_id)
    assert bank is not None
    user_id = None
    if kind == "manager":
        user_id = customer_manager(uow, username or "", bank, "username").id
    elif username:
        raise invalid("username", "only a reviewer of kind manager names a user")
    if session.execute(sa.select(RoundReviewer.id).where(RoundReviewer.round_id == rnd.id,
                                                         RoundReviewer.id_number == number)).scalar() is not None:
        raise Conflict(f"{mask_identity(number)} is a reviewer of round {rnd.id} already", code="duplicate",
                       fields={"id_number": ["already a reviewer of this round"]})
    household = session.execute(sa.select(Customer.household_id).where(
        Customer.county_bank_id == bank.id, Customer.id_number == number)).scalars().first()
    reviewer = RoundReviewer(round_id=rnd.id, kind=kind, name=name.strip(), id_number=number,
                             household_id=household, user_id=user_id)
    session.add(reviewer)
    uow.flush()
    record(session, actor=principal.username, action="village.review.reviewer", target=f"review_round:{rnd.id}",
           institution_code=bank.code,
           after={"reviewer": reviewer.id, "kind": kind, "id_number": mask_identity(number),
                  "household": household, "user": username if user_id else None})
    return reviewer


# -- ratings --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RatingInput:
    reviewer: int
    household: int
    integrity: int
    income: int
    assets: int
    business: int
    health: int
    colour: str
    reason: str = ""


@dataclass
class _Roll:
    """What checking a rating against its round needs, read once per request or file."""

    reviewers: dict[int, RoundReviewer]
    households: set[int]
    bank_id: int
    known: set[int] = field(default_factory=set)  # households of the bank (outside the round: 422, not 404)


def _roll(uow: UnitOfWork, rnd: ReviewRound, households: Sequence[int]) -> _Roll:
    reviewers = {r.id: r for r in uow.session.execute(
        sa.select(RoundReviewer).where(RoundReviewer.round_id == rnd.id)).scalars()}
    ids = [h for h in households]
    known = set(uow.session.execute(sa.select(Customer.household_id).where(
        Customer.county_bank_id == rnd.county_bank_id, Customer.household_id.in_(ids))).scalars()) if ids else set()
    inside = set(uow.session.execute(sa.select(Household.id).where(
        Household.id.in_(ids), Household.village_id.in_(_villages(uow, rnd)))).scalars()) if ids else set()
    return _Roll(reviewers, inside, rnd.county_bank_id, known)


def _check(roll: _Roll, rating: RatingInput) -> tuple[str, str, int] | None:
    """The first thing wrong with ``rating`` as (field, reason, status), or None."""
    if rating.reviewer not in roll.reviewers:
        return "reviewer", f"reviewer {rating.reviewer} is not a reviewer of this round", 404
    if rating.household not in roll.known:
        return "household", f"household {rating.household} not found", 404
    if rating.household not in roll.households:
        return "household", f"household {rating.household} is not in the round's village(s)", 422
    if roll.reviewers[rating.reviewer].household_id == rating.household:
        return "household", "a reviewer may not rate their own household", 422
    for score in domain.SCORES:
        if not 1 <= getattr(rating, score) <= 4:
            return score, "must be 1 to 4", 422
    if rating.colour not in COLOURS:
        return "colour", f"{rating.colour!r} is not one of {', '.join(COLOURS)}", 422
    if rating.colour == "black" and not rating.reason.strip():
        return "reason", "a black rating needs a reason", 422
    if len(rating.reason) > 500:
        return "reason", "at most 500 characters", 422
    if CONTROL.search(rating.reason) is not None:
        return "reason", "must not contain control or direction characters", 422
    return None


def _store(uow: UnitOfWork, principal: Principal, rnd: ReviewRound, ratings: Sequence[RatingInput]) -> None:
    """Write ``ratings`` (checked), each replacing that reviewer's rating of that household."""
    session = uow.session
    keys = [(r.reviewer, r.household) for r in ratings]
    existing = {(p.reviewer_id, p.household_id): p for p in session.execute(sa.select(PeerRating).where(
        PeerRating.round_id == rnd.id, PeerRating.reviewer_id.in_({k[0] for k in keys}),
        PeerRating.household_id.in_({k[1] for k in keys}))).scalars()}
    now = utcnow()
    for r in ratings:
        values = {"integrity": r.integrity, "income": r.income, "assets": r.assets, "business": r.business,
                  "health": r.health, "colour": r.colour, "reason": r.reason.strip(),
                  "entered_by": principal.username, "entered_at": now}
        row = existing.get((r.reviewer, r.household))
        if row is None:
            row = PeerRating(round_id=rnd.id, reviewer_id=r.reviewer, household_id=r.household, **values)
            session.add(row)
            existing[(r.reviewer, r.household)] = row
        else:
            for key, val in values.items():
                setattr(row, key, val)
    uow.flush()


def rate(uow: UnitOfWork, principal: Principal, round_id: int, rating: RatingInput) -> PeerRating:
    """Enter one reviewer's rating of one household on their behalf (replacing an earlier one)."""
    rnd = visible_round(uow, principal, round_id, Action.VILLAGE_REVIEW, lock=True)
    _must_be_open(rnd)
    wrong = _check(_roll(uow, rnd, [rating.household]), rating)
    if wrong is not None:
        name, reason, status = wrong
        if status == 404:
            raise NotFound(f"{name}: {reason}", fields={name: [reason]})
        raise invalid(name, reason)
    _store(uow, principal, rnd, [rating])
    bank = uow.session.get(Institution, rnd.county_bank_id)
    record(uow.session, actor=principal.username, action="village.review.rate", target=f"review_round:{rnd.id}",
           institution_code=bank.code if bank else None,
           after={"reviewer": rating.reviewer, "household": rating.household})  # never the colour: back to back
    return uow.session.execute(sa.select(PeerRating).where(
        PeerRating.round_id == rnd.id, PeerRating.reviewer_id == rating.reviewer,
        PeerRating.household_id == rating.household)).scalar_one()


class RatingsRejected(ValidationFailed):
    """Bad rows stopped the load; nothing was written. Carries every row's reason."""

    code = "import_rejected"

    def __init__(self, errors: Sequence[str], source: str) -> None:
        shown = "; ".join(errors[:50]) + (f"; and {len(errors) - 50} more" if len(errors) > 50 else "")
        super().__init__(f"{source}: {len(errors)} bad row(s), nothing loaded: {shown}",
                         fields={e.split(":", 1)[0]: [e.split(":", 1)[1].strip()] for e in errors})
        self.errors = list(errors)


def _parse_row(values: dict[str, str]) -> RatingInput | str:
    """A row's rating, or why it is not one."""
    numbers: dict[str, int] = {}
    for name in ("reviewer", "household", *domain.SCORES):
        text = values.get(name, "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            return f"{name}: {text!r} is not a whole number"
        numbers[name] = int(text)
    return RatingInput(colour=values.get("colour", "").strip().lower(), reason=values.get("reason", "").strip(),
                       **numbers)


def import_ratings(uow: UnitOfWork, principal: Principal, round_id: int, table: Table, *, source: str) -> int:
    """Load a file of ratings into an open round, all or nothing; how many were entered."""
    rnd = visible_round(uow, principal, round_id, Action.VILLAGE_REVIEW, lock=True)
    _must_be_open(rnd)
    parsed: list[tuple[int, RatingInput | str]] = [
        (row.line, row.error if row.error else _parse_row(row.values)) for row in table.rows]
    good = [r for _, r in parsed if isinstance(r, RatingInput)]
    roll = _roll(uow, rnd, sorted({r.household for r in good}))
    errors, seen = [], dict[tuple[int, int], int]()
    for line, rating in parsed:
        if isinstance(rating, str):
            errors.append(f"line {line}: {rating}")
            continue
        wrong = _check(roll, rating)
        if wrong is not None:
            errors.append(f"line {line}: {wrong[0]}: {wrong[1]}")
        elif (rating.reviewer, rating.household) in seen:
            errors.append(f"line {line}: reviewer {rating.reviewer} rated household {rating.household} "
                          f"on line {seen[(rating.reviewer, rating.household)]} already")
        else:
            seen[(rating.reviewer, rating.household)] = line
    if not table.rows:
        errors.append("line 2: the file has no ratings")
    if errors:
        raise RatingsRejected(errors, source)
    _store(uow, principal, rnd, good)
    bank = uow.session.get(Institution, rnd.county_bank_id)
    record(uow.session, actor=principal.username, action="village.review.import", target=f"review_round:{rnd.id}",
           institution_code=bank.code if bank else None, after={"ratings": len(good), "source": source[:100]})
    return len(good)


# -- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RoundFilters:
    village_id: int | None = None
    status: RoundStatus | None = None
    limit: int = PAGE
    offset: int = 0


def list_rounds(uow: UnitOfWork, principal: Principal, filters: RoundFilters = RoundFilters()) -> list[ReviewRound]:
    """Rounds on grids of the caller's subtree, newest first."""
    require(principal, Action.VILLAGE_READ)
    stmt = (sa.select(ReviewRound).join(Institution, Institution.id == ReviewRound.grid_id)
            .where(Institution.path.startswith(principal.institution_path, autoescape=True)))
    if filters.village_id is not None:
        grid_of = sa.select(Village.grid_id).where(Village.id == filters.village_id).scalar_subquery()
        stmt = stmt.where(sa.or_(ReviewRound.village_id == filters.village_id,
                                 sa.and_(ReviewRound.village_id.is_(None), ReviewRound.grid_id == grid_of)))
    if filters.status is not None:
        stmt = stmt.where(ReviewRound.status == filters.status)
    return list(uow.session.execute(page(stmt.order_by(ReviewRound.id.desc()), filters.limit, filters.offset)).scalars())


def summary(uow: UnitOfWork, rnd: ReviewRound) -> dict[str, Any]:
    """What listing a round tells (nothing of any rating)."""
    grid = uow.session.get(Institution, rnd.grid_id)
    bank = uow.session.get(Institution, rnd.county_bank_id)
    return {"id": rnd.id, "name": rnd.name, "status": rnd.status.value, "county_bank": bank.code if bank else "",
            "grid": grid.code if grid else "", "village": rnd.village_id, "min_reviewers": rnd.min_reviewers,
            "aggregation": rnd.aggregation, "opened_by": rnd.opened_by, "opened_on": rnd.opened_on,
            "closed_by": rnd.closed_by, "closed_on": rnd.closed_on}


def show(uow: UnitOfWork, principal: Principal, rnd: ReviewRound) -> dict[str, Any]:
    """The round, its reviewers and per household its progress; the results and the individual
    ratings only once it is closed (back to back: never a colour or a score while open)."""
    session = uow.session
    full = shows_full_id(principal)
    households = _households(uow, rnd) if rnd.status is RoundStatus.OPEN else list(session.execute(
        sa.select(HouseholdReview.household_id).where(HouseholdReview.round_id == rnd.id)
        .order_by(HouseholdReview.household_id)).scalars())
    per_household = dict(session.execute(sa.select(PeerRating.household_id, sa.func.count()).where(
        PeerRating.round_id == rnd.id).group_by(PeerRating.household_id)).all())
    per_reviewer = dict(session.execute(sa.select(PeerRating.reviewer_id, sa.func.count()).where(
        PeerRating.round_id == rnd.id).group_by(PeerRating.reviewer_id)).all())
    names = _household_names(uow, households)
    reviewers = [reviewer_shown(r, full, per_reviewer.get(r.id, 0))
                 for r in session.execute(sa.select(RoundReviewer).where(RoundReviewer.round_id == rnd.id)
                                          .order_by(RoundReviewer.id)).scalars()]
    shown = {**summary(uow, rnd), "reviewers": reviewers}
    if rnd.status is not RoundStatus.CLOSED:
        shown["households"] = [{"household": h, "name": names.get(h, ""), "rated": per_household.get(h, 0),
                                "enough": per_household.get(h, 0) >= rnd.min_reviewers} for h in households]
        return shown
    ratings: dict[int, list[dict[str, Any]]] = {}
    for p in session.execute(sa.select(PeerRating).where(PeerRating.round_id == rnd.id)
                             .order_by(PeerRating.household_id, PeerRating.reviewer_id)).scalars():
        ratings.setdefault(p.household_id, []).append(
            {"reviewer": p.reviewer_id, "colour": p.colour, "reason": p.reason, "entered_by": p.entered_by,
             **{s: getattr(p, s) for s in domain.SCORES}})
    shown["households"] = [
        {"household": r.household_id, "name": names.get(r.household_id, ""), "rated": r.reviewers,
         "enough": r.review_colour is not None or r.reviewers >= rnd.min_reviewers,
         "review_colour": r.review_colour, "override": r.override, "override_reason": r.override_reason,
         "colour": r.colour, "tally": r.tally, "ratings": ratings.get(r.household_id, [])}
        for r in session.execute(sa.select(HouseholdReview).where(HouseholdReview.round_id == rnd.id)
                                 .order_by(HouseholdReview.household_id)).scalars()]
    return shown


def reviewer_shown(reviewer: RoundReviewer, full_id: bool, rated: int) -> dict[str, Any]:
    """One reviewer as shown: the identity number masked unless ``full_id``; ``rated``: how many
    households they rated (a count, never what)."""
    return {"id": reviewer.id, "kind": reviewer.kind, "name": reviewer.name,
            "id_number": reviewer.id_number if full_id else mask_identity(reviewer.id_number),
            "household": reviewer.household_id, "rated": rated}


def _household_names(uow: UnitOfWork, households: Sequence[int]) -> dict[int, str]:
    """Each household's head (or first member) by name, for the village meeting's lists."""
    if not households:
        return {}
    rows = uow.session.execute(sa.select(Customer.household_id, Customer.name, Customer.relation).where(
        Customer.household_id.in_(list(households))).order_by(Customer.id)).all()
    names: dict[int, str] = {}
    for household, name, relation in rows:
        if household not in names or relation == "head":
            names[household] = name
    return names


# -- closing --------------------------------------------------------------------------------------

@dataclass
class _Override:
    kind: str  # npl | court | bureau
    reasons: list[str]


def close_round(uow: UnitOfWork, principal: Principal, rt: Runtime, round_id: int, *, today: date) -> ReviewRound:
    """Close (accept, 验收) an open round: aggregate, override, write the results, set the colours."""
    session = uow.session
    rnd = visible_round(uow, principal, round_id, Action.VILLAGE_REVIEW_CLOSE, lock=True)
    _must_be_open(rnd)
    bank = session.get(Institution, rnd.county_bank_id)
    assert bank is not None
    households = _households(uow, rnd)
    ratings = pd.DataFrame(session.execute(sa.select(
        PeerRating.household_id, PeerRating.colour, *[getattr(PeerRating, s) for s in domain.SCORES]).where(
        PeerRating.round_id == rnd.id)).all(), columns=["household_id", "colour", *domain.SCORES])
    frame = domain.aggregate_frame(ratings, households, rnd.aggregation, rnd.min_reviewers)
    members = pd.DataFrame(session.execute(sa.select(
        Customer.household_id, Customer.id_number, Customer.name, Customer.kind).where(
        Customer.household_id.in_(households), Customer.county_bank_id == bank.id)).all(),
        columns=["household_id", "id_number", "name", "kind"]) if households else \
        pd.DataFrame(columns=["household_id", "id_number", "name", "kind"])
    overrides, notes = _overrides(uow, principal, rt, rnd, bank, members, today)
    rows, counts = [], {c: 0 for c in (*COLOURS, "none")}
    for r in frame.reset_index().to_dict("records"):
        household = int(r["household_id"])
        reviewed = r["review_colour"] if isinstance(r["review_colour"], str) else None
        over = overrides.get(household)
        colour = "black" if over is not None else reviewed
        counts[colour or "none"] += 1
        tally: dict[str, Any] = {c: int(r[c]) for c in COLOURS}
        tally["means"] = {s: (None if pd.isna(r[s]) else round(float(r[s]), 2)) for s in domain.SCORES}
        if reviewed is None:
            tally["note"] = "not enough reviewers"
        tally["checks"] = notes.get(household, [])
        rows.append({"round_id": rnd.id, "household_id": household, "county_bank_id": bank.id,
                     "reviewers": int(r["reviewers"]), "tally": tally, "review_colour": reviewed,
                     "override": over.kind if over else None,
                     "override_reason": "; ".join(over.reasons)[:500] if over else "", "colour": colour,
                     "business_date": today})
    if rows:
        session.execute(sa.insert(HouseholdReview), rows)
    for colour in COLOURS:
        ids = [row["household_id"] for row in rows if row["colour"] == colour]
        if ids:
            session.execute(sa.update(Household).where(Household.id.in_(ids))
                            .values(peer_review=colour, peer_review_on=today), execution_options={"synchronize_session": False})
    rnd.status, rnd.closed_by, rnd.closed_on = RoundStatus.CLOSED, principal.username, today
    record(session, actor=principal.username, action="village.review.close", target=f"review_round:{rnd.id}",
           institution_code=bank.code,
           after={"households": len(rows), "colours": counts,
                  "overrides": {k: sum(1 for o in overrides.values() if o.kind == k) for k in ("npl", "court", "bureau")},
                  "aggregation": rnd.aggregation, "min_reviewers": rnd.min_reviewers})
    uow.flush()
    return rnd


def _overrides(uow: UnitOfWork, principal: Principal, rt: Runtime, rnd: ReviewRound, bank: Institution,
               members: pd.DataFrame, today: date) -> tuple[dict[int, _Override], dict[int, list[str]]]:
    """Per household, the black override (non-performing loan, court list, credit report) and the
    notes of what was checked (a member without consent is not queried: "bureau: not checked")."""
    session = uow.session
    overrides: dict[int, _Override] = {}
    notes: dict[int, list[str]] = {}
    if members.empty:
        return overrides, notes
    numbers = sorted(set(members["id_number"]))
    home = {n: int(h) for n, h in zip(members["id_number"], members["household_id"])}

    def flag(number: str, kind: str, reason: str) -> None:
        household = home[number]
        over = overrides.setdefault(household, _Override(kind, []))
        over.reasons.append(f"{mask_identity(number)}: {reason}")

    npl = session.execute(sa.select(Loan.borrower_id_number, Loan.loan_no, LoanClass.tier)
                          .join(LoanClass, LoanClass.loan_id == Loan.id).where(
        Loan.county_bank_id == bank.id, Loan.borrower_id_number.in_(numbers), Loan.status.in_(OPEN_STATUSES),
        LoanClass.tier.in_(sorted(NON_PERFORMING)))).all()
    for number, loan_no, tier in npl:
        flag(number, "npl", f"loan {loan_no} classed {tier}")
    court = session.execute(sa.select(WatchlistEntry.id_number, WatchlistEntry.kind, WatchlistEntry.case_no).where(
        WatchlistEntry.id_number.in_(numbers),
        sa.or_(WatchlistEntry.county_bank_id == bank.id, WatchlistEntry.county_bank_id.is_(None)),
        WatchlistEntry.listed_on <= today,
        sa.or_(WatchlistEntry.delisted_on.is_(None), WatchlistEntry.delisted_on > today))).all()
    for number, kind, case_no in court:
        flag(number, "court", f"on the court list ({kind} {case_no})".strip())
    consenting = _consenting(uow, bank, members)
    if consenting and not may(principal, Action.BUREAU_QUERY):
        raise Forbidden(f"closing review round {rnd.id} queries the credit bureau for {len(consenting)} member(s) "
                        f"who consented; {principal.username} may not query the bureau (an approver may close it)",
                        code="bureau_query_needed")
    for number, name, kind in members[["id_number", "name", "kind"]].itertuples(index=False):
        household = home[number]
        if number not in consenting:
            notes.setdefault(household, []).append(f"bureau: not checked for {mask_identity(number)}, no consent")
            continue
        subject = bureau.SubjectInput(CustomerKind(kind).id_kind, number, name)
        try:
            result = bureau.query(uow, principal, rt.plugins, rt.settings, subject=subject, purpose=PURPOSE.value,
                                  for_kind="review_round", for_ref=str(rnd.id), today=today)
        except NongxinError as exc:
            notes.setdefault(household, []).append(f"bureau: refused for {mask_identity(number)} ({exc.code})")
            continue
        if result.summary is None:
            notes.setdefault(household, []).append(
                f"bureau: no report for {mask_identity(number)} ({result.entry.outcome})")
            continue
        negative = domain.bureau_negative(result.summary)
        notes.setdefault(household, []).append(
            f"bureau: checked {mask_identity(number)}, {'negative' if negative else 'clean'}")
        if negative:
            over = overrides.get(household)
            if over is None or over.kind == "bureau":
                flag(number, "bureau", "credit report: " + ", ".join(negative))
            else:
                over.reasons.append(f"{mask_identity(number)}: credit report: " + ", ".join(negative))
    return overrides, notes


def _consenting(uow: UnitOfWork, bank: Institution, members: pd.DataFrame) -> set[str]:
    """The members' identity numbers a live authorization of ``bank`` covers for ``PURPOSE`` now:
    all their authorizations read in one query, each checked by the one rule (``AuthorizationRef``)."""
    names = dict(zip(members["id_number"], members["name"]))
    now = utcnow()
    live = set()
    for row in uow.session.execute(sa.select(BureauAuthorization).where(
            BureauAuthorization.county_bank_id == bank.id,
            BureauAuthorization.id_number.in_(list(names)))).scalars():
        subject = BureauSubject(IdentityKind(row.subject_kind), row.id_number, names[row.id_number])
        if bureau.authorization_ref(row).refusal(subject, PURPOSE, now) is None:
            live.add(row.id_number)
    return live

"""The lending arithmetic of collateral: pure functions over the SDK's dataclasses, exact in Decimal.

* An item lends ``value x (1 - haircut)`` (its *lendable* value), rounded down to the fen; a value
  no valuation vouches for on the day is zero (``current_value``).
* Ranks: the claims on one item are served in rank order (1 first). A line's claim on an item is
  what is left of the item's lendable value after the **exposure** of every line ranked above it
  on that item (never below zero). A senior line secured by several items is counted in full
  against each of them: the conservative reading, since a senior creditor may enforce on
  whichever item it likes.
* A line's *eligible value* is the sum of its perfected claims (registered, or of a kind that
  needs no registration). Its *limit* is the sum of each claim times its own kind's maximum
  loan-to-value, so the line's loan-to-value limit is the mix of its items' kinds (never the first
  item's limit, a known defect of Frappe Lending); ``ltv = exposure / eligible``.
* A line is in *shortfall* when its exposure exceeds its limit; the shortfall is the difference.
  Releasing an item is allowed only when the line's loan-to-value after release stays within its
  limit after release (``release_problem``).

Every figure here is reproduced in integer fen and millionths by the nightly scan's frame
(``nongxin.core.collateral.positions``); tests hold the two together. Rounding is always in the
bank's favour: lendable values and limits down, loan-to-value up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Iterable, Mapping, Sequence

from nongxin.sdk.collateral import Claim, Holding

__all__ = ["FEN", "LTV_PLACES", "Cover", "ItemCover", "Valued", "covers", "current_value", "lendable",
           "release_problem"]

FEN = Decimal("0.01")
#: Loan-to-value figures are kept to the millionth (as rates are), rounded up.
LTV_PLACES = Decimal("0.000001")


@dataclass(frozen=True, slots=True)
class Valued:
    """One row of an item's valuation history, as ``current_value`` reads it."""

    value: Decimal
    valued_on: date
    valid_until: date


def current_value(history: Iterable[Valued], on: date) -> Decimal:
    """The value of the latest valuation made on or before ``on`` that is still valid on ``on``
    (``valid_until`` inclusive); zero when none is: an expired valuation lends nothing. Of two made
    the same day, the later in ``history`` (recorded later: a same-day correction) wins."""
    valid = [v for v in history if v.valued_on <= on <= v.valid_until]
    if not valid:
        return Decimal("0.00")
    return max(reversed(valid), key=lambda v: v.valued_on).value


def lendable(holding: Holding) -> Decimal:
    """``value x (1 - haircut)``, rounded down to the fen."""
    return (holding.value * (1 - holding.haircut)).quantize(FEN, rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class ItemCover:
    """What one item lends one line."""

    item_id: int
    kind: str
    rank: int
    perfected: bool
    lendable: Decimal  # the item's value after its haircut
    prior: Decimal  # exposure of the lines ranked above this one on the item
    eligible: Decimal  # max(0, lendable - prior) when perfected, else 0
    ltv_max: Decimal
    limit: Decimal  # eligible x ltv_max, rounded down


@dataclass(frozen=True, slots=True)
class Cover:
    """One credit line's collateral on a day."""

    line_id: int
    exposure: Decimal
    items: tuple[ItemCover, ...]

    @property
    def eligible(self) -> Decimal:
        return sum((i.eligible for i in self.items), Decimal("0.00"))

    @property
    def limit(self) -> Decimal:
        """The most the line may have outstanding against its collateral."""
        return sum((i.limit for i in self.items), Decimal("0.00"))

    @property
    def ltv(self) -> Decimal | None:
        """exposure / eligible value, rounded up to the millionth; None when there is exposure and no
        eligible value (unsecured), 0 when there is no exposure."""
        if self.exposure <= 0:
            return Decimal("0")
        if self.eligible <= 0:
            return None
        return (self.exposure / self.eligible).quantize(LTV_PLACES, rounding=ROUND_UP)

    @property
    def ltv_limit(self) -> Decimal | None:
        """The loan-to-value the line's kind mix allows (limit / eligible, rounded down); None with
        no eligible value."""
        if self.eligible <= 0:
            return None
        return (self.limit / self.eligible).quantize(LTV_PLACES, rounding=ROUND_DOWN)

    @property
    def shortfall(self) -> Decimal:
        """How far the exposure is above the limit (0 when within it)."""
        return max(self.exposure - self.limit, Decimal("0.00"))


def covers(holdings: Sequence[Holding], claims: Sequence[Claim], exposures: Mapping[int, Decimal]) -> dict[int, Cover]:
    """Every line's ``Cover`` from the items (``holdings``), the pledges (``claims``) and each
    line's exposure (outstanding principal; a line missing from ``exposures`` has none).

    Lines without claims are not in the answer; claims on an unknown item lend nothing. Two claims
    of one item with the same rank are served in line-id order (the service never makes them)."""
    items = {h.item_id: h for h in holdings}
    by_item: dict[int, list[Claim]] = {}
    for claim in claims:
        by_item.setdefault(claim.item_id, []).append(claim)
    per_line: dict[int, list[ItemCover]] = {}
    for item_id, ranked in by_item.items():
        holding = items.get(item_id)
        prior = Decimal("0.00")
        for claim in sorted(ranked, key=lambda c: (c.rank, c.line_id)):
            exposure = Decimal(exposures.get(claim.line_id, Decimal("0.00")))
            if holding is None:
                cover = ItemCover(item_id, "", claim.rank, claim.perfected, Decimal("0.00"), prior,
                                  Decimal("0.00"), Decimal("0"), Decimal("0.00"))
            else:
                value = lendable(holding)
                eligible = max(value - prior, Decimal("0.00")) if claim.perfected else Decimal("0.00")
                cover = ItemCover(item_id, holding.kind, claim.rank, claim.perfected, value, prior, eligible,
                                  holding.ltv_max, (eligible * holding.ltv_max).quantize(FEN, rounding=ROUND_DOWN))
            per_line.setdefault(claim.line_id, []).append(cover)
            prior += exposure
    return {line_id: Cover(line_id, Decimal(exposures.get(line_id, Decimal("0.00"))),
                           tuple(sorted(found, key=lambda c: c.item_id)))
            for line_id, found in per_line.items()}


def release_problem(holdings: Sequence[Holding], claims: Sequence[Claim], exposures: Mapping[int, Decimal],
                    line_id: int, item_id: int) -> str | None:
    """Why ``item_id`` may not be released from ``line_id`` (the sentence names the figures), or
    None when the line stays within its limit afterwards. Only the line losing the item is judged:
    the lines ranked below it on the item gain from the release, never lose."""
    after = [c for c in claims if not (c.line_id == line_id and c.item_id == item_id)]
    cover = covers(holdings, after, exposures).get(line_id)
    exposure = Decimal(exposures.get(line_id, Decimal("0.00")))
    if exposure <= 0:
        return None
    if cover is None or cover.eligible <= 0:
        return (f"after the release the line would have {exposure} yuan outstanding and no eligible collateral "
                "(eligible value 0.00)")
    if cover.shortfall > 0:
        return (f"after the release the line's loan-to-value would be {cover.ltv} (exposure {exposure} yuan over "
                f"eligible value {cover.eligible} yuan), above its limit of {cover.ltv_limit} "
                f"(at most {cover.limit} yuan outstanding)")
    return None

"""Which rules apply to an institution on a given day.

Rules flow down the hierarchy: a county sees its province's, its city's and its own rules. A lower
institution may add stricter rules but may never disable or redefine a rule owned above it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Iterable, Sequence

from .errors import DuplicateRuleError, RuleOverrideError
from .rule import Rule

__all__ = ["effective_rules", "check_unique_codes", "check_disable_allowed", "drop_rules"]


def check_unique_codes(rules: Iterable[Rule]) -> None:
    """A pack must not hold one code twice: silently keeping either would change decisions."""
    seen: dict[str, tuple[int, Rule]] = {}
    for i, r in enumerate(rules, 1):
        if r.code in seen:
            j, first = seen[r.code]
            raise DuplicateRuleError(
                f"duplicate rule code {r.code}: rule #{j} {first.describe()} and rule #{i} {r.describe()}",
                code=r.code,
            )
        seen[r.code] = (i, r)


def effective_rules(rules: Iterable[Rule], ancestry: Sequence[str], on: _dt.date) -> list[Rule]:
    """Rules owned by ``ancestry`` (province first, down to the institution) in force ``on``.

    Several versions of one code by the same owner: the highest version in force wins (equal
    versions are an error). One code owned by two institutions: the lower one is trying to
    redefine a higher rule, which is an error.
    """
    rank = {code: i for i, code in enumerate(ancestry)}
    chosen: dict[str, Rule] = {}
    for r in rules:
        if r.owner not in rank or not r.effective_on(on):
            continue
        prev = chosen.get(r.code)
        if prev is None:
            chosen[r.code] = r
        elif prev.owner != r.owner:
            hi, lo = (prev, r) if rank[prev.owner] < rank[r.owner] else (r, prev)
            raise RuleOverrideError(
                f"{lo.owner} may not redefine rule {r.code} owned by {hi.owner}: "
                f"{hi.describe()} vs {lo.describe()}", code=r.code,
            )
        elif prev.version == r.version:
            raise DuplicateRuleError(
                f"duplicate rule code {r.code} in force on {on}: {prev.describe()} and {r.describe()}",
                code=r.code,
            )
        elif r.version > prev.version:
            chosen[r.code] = r
    return sorted(chosen.values(), key=lambda r: (rank[r.owner], r.code))


def check_disable_allowed(rule: Rule, institution: str, ancestry: Sequence[str]) -> None:
    """Raise unless ``institution`` owns ``rule``: nobody may switch off a rule set above them."""
    if rule.owner == institution:
        return
    if rule.owner in ancestry:
        raise RuleOverrideError(
            f"{institution} may not disable rule {rule.code} owned by {rule.owner} ({rule.level} level); "
            f"add a stricter rule of its own instead", code=rule.code,
        )
    raise RuleOverrideError(f"{institution} may not disable rule {rule.code}: it belongs to {rule.owner}",
                            code=rule.code)


def drop_rules(rules: Sequence[Rule], codes: Iterable[str], institution: str,
               ancestry: Sequence[str]) -> list[Rule]:
    """The effective set minus ``codes``, after checking the institution owns each dropped rule."""
    drop = set(codes)
    for r in rules:
        if r.code in drop:
            check_disable_allowed(r, institution, ancestry)
    return [r for r in rules if r.code not in drop]

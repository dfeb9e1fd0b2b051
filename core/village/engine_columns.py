"""The pre-credit engine's vectorized path: ``engine.evaluate_batch`` computed column by column.

The promise: for every row, every result column equals what ``engine.evaluate_one_by_one`` (the
decision's own ``evaluate``, row by row) gives: the outcome, the refusal category, the graded limit,
the approved amount, the rate, the score and grade, the rule hits in hit order and the reasons in
the same words and order as ``credit.domain.combine`` writes them. Money stays int64 fen and rates
int64 millionths throughout; no float touches either.

The steps, each over whole columns:

1. the facts: the frame's columns plus the application's terms (``engine.base_facts``) as constant
   columns in frame form; a fact no column holds is an all-missing column;
2. the admission rules through the book's compiled rule set's frame evaluator. A rule reading a
   constant fact the frame form cannot hold exactly (an LPR of 0.0345 is not a whole number of fen)
   is judged by the record evaluator once per distinct combination of the row facts it reads. An
   unusable book fails closed on every row, in the decision's words;
3. the segment's scorecard: ``sdk.scorecards.score_frame`` (exactly ``score`` per row);
4. the product's terms: the plugin's ``nongxin_batch_terms`` through the dispatch layer (a failure,
   or an answer of the wrong shape, fails closed on every row naming the plugin); a product without
   the hook is asked row by row through ``nongxin_assess_application``, ``nongxin_credit_limit`` and
   ``nongxin_price``, as the decision does (correct, slow);
5. the graded limit, floor(limit x coefficient) to the yuan in integers (the coefficient as an exact
   fraction), then ``combine``'s checks as masks, its reasons written only for the rows that have
   any.

Cases the columns cannot hold exactly (product terms finer than a fen, an LPR finer than a
millionth, a scorecard ``score_frame`` cannot read) are handed to the reference whole: slower,
never different.

What the batch hook cannot say is documented in the README ("How it computes"): it stands for the
product plugin's findings, limit and price; other plugins' ``nongxin_assess_application`` findings
about the same product are not asked on the batch path.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from nongxin.core.credit import domain
from nongxin.core.credit.decision import ask_product, conclude, pick_scorecard
from nongxin.core.village import engine
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.rules import CompiledRuleSet, FieldType, Rule, compile_rule_set
from nongxin.sdk.scorecards import FrameScores, score_frame
from nongxin.sdk.types import BatchTerms

__all__ = ["evaluate_frame", "product_frame"]

MILLION = 1_000_000
HUNDRED = 100
BATCH_HOOK = "nongxin_batch_terms"
FINDING_OUTCOMES = frozenset({"", "pass", "tag", "manual_review", "reject"})


class _Exotic(Exception):
    """The columns cannot hold this batch exactly: the reference computes it."""


def evaluate_frame(frame: pd.DataFrame, ctx: engine.BatchContext) -> pd.DataFrame:
    """``engine.evaluate_batch`` (module docstring)."""
    try:
        return _evaluate(frame, ctx)
    except _Exotic:
        return engine.evaluate_one_by_one(frame, ctx)


# -- helpers -----------------------------------------------------------------------------------

def _scaled(value: Decimal, scale: int, rounding: str) -> int:
    return int(Decimal(value).scaleb(scale).to_integral_value(rounding=rounding))


def _exact(value: Decimal, scale: int) -> int:
    """``value`` times 10**scale, which must be whole (else the batch is exotic)."""
    scaled = Decimal(value).scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise _Exotic(f"{value} is finer than 10^-{scale}")
    return int(scaled)


def _yuan(fen: int) -> str:
    """Fen as ``Decimal.quantize(FEN)`` prints the amount."""
    return str(Decimal(int(fen)).scaleb(-2))


def _joined(n: int, rows: np.ndarray, which: np.ndarray, words: np.ndarray, sep: str = "; ") -> np.ndarray:
    """Per row, the ``sep``-join of ``words[which]`` at that row's entries of ``rows`` (sorted by
    row, in order within a row); "" where a row has none."""
    out = np.full(n, "", dtype=object)
    if not rows.size:
        return out
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    if starts.size == rows.size:  # one entry per row
        out[rows] = words[which]
        return out
    later = np.ones(rows.size, dtype=bool)
    later[starts] = False
    prefixed = np.array([sep + w for w in words.tolist()], dtype=object)
    parts = np.where(later, prefixed[which], words[which])
    out[rows[starts]] = np.add.reduceat(parts, starts)
    return out


class _Reasons:
    """Reasons per row, "; "-joined in the order they are added; ``has``: the rows with any."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)
        self.has = np.zeros(n, dtype=bool)

    def add(self, mask: np.ndarray, text: Any) -> None:
        """Add ``text`` (a constant, or a per-row array) to the rows of ``mask``."""
        idx = np.flatnonzero(mask)
        if not idx.size:
            return
        add = text[idx] if isinstance(text, np.ndarray) else np.full(idx.size, text, dtype=object)
        had = self.has[idx]
        current = self.text[idx]
        current[had] = current[had] + "; " + add[had]
        current[~had] = add[~had]
        self.text[idx] = current
        self.has[idx] = True


def _present(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


# -- 1. facts as columns -------------------------------------------------------------------------

def _constant(kind: FieldType, value: Any, n: int) -> Any:
    """A fact equal on every row, in frame form (text as a one-category column: free to compare)."""
    if kind is FieldType.DECIMAL:
        return np.full(n, _exact(value, 2), dtype=np.int64)
    if kind is FieldType.INTEGER:
        return np.full(n, int(value), dtype=np.int64)
    if kind is FieldType.STRING:
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value])
    return pd.Series(np.full(n, value, dtype=object), dtype=object)


def _absent(kind: FieldType, n: int) -> Any:
    """A fact no row has, in frame form."""
    if kind in (FieldType.DECIMAL, FieldType.INTEGER):
        return pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if kind is FieldType.NUMBER:
        return np.full(n, np.nan)
    if kind is FieldType.DATE:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if kind is FieldType.STRING:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), ["-"])
    return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))


def _inexact(base: Mapping[str, Any]) -> frozenset[str]:
    """The base facts frame form cannot hold exactly (a decimal finer than a fen)."""
    out = set()
    for name, value in base.items():
        if ADMISSION[name].type is FieldType.DECIMAL:
            try:
                _exact(value, 2)
            except _Exotic:
                out.add(name)
    return frozenset(out)


def product_frame(frame: pd.DataFrame, ctx: engine.BatchContext) -> pd.DataFrame:
    """The frame a product's ``nongxin_batch_terms`` reads: the frame's columns (a lazy copy) with
    ``term_months``, ``lpr_1y`` and ``lpr_5y`` as constant columns (the LPRs in fen, truncated
    where finer: price with ``spread_bp`` and the core adds the LPR exactly)."""
    n = len(frame)
    base = engine.base_facts(ctx)
    return frame.assign(term_months=np.full(n, int(base["term_months"]), dtype=np.int64),
                        **{k: np.full(n, int(Decimal(base[k]).scaleb(2)), dtype=np.int64) for k in ("lpr_1y", "lpr_5y")})


# -- 2. admission rules ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Split:
    frame_set: CompiledRuleSet | None  # rules the frame form holds exactly
    frame_index: np.ndarray  # their positions in the book
    record_set: CompiledRuleSet | None  # rules reading an inexact constant
    record_index: dict[str, int]  # their codes -> positions in the book
    record_reads: tuple[str, ...]  # the row facts they read


_SPLITS: weakref.WeakKeyDictionary[CompiledRuleSet, dict[frozenset[str], _Split]] = weakref.WeakKeyDictionary()


def _split(compiled: CompiledRuleSet, inexact: frozenset[str]) -> _Split:
    known = _SPLITS.setdefault(compiled, {})
    if inexact in known:
        return known[inexact]
    rules: Sequence[Rule] = compiled.rules
    slow = [i for i, r in enumerate(rules) if inexact & set(compiled.reads[r.code])]
    fast = [i for i in range(len(rules)) if i not in set(slow)]
    if not slow:
        split = _Split(compiled, np.arange(len(rules)), None, {}, ())
    else:
        reads = sorted({f for i in slow for f in compiled.reads[rules[i].code]} - inexact)
        split = _Split(compile_rule_set([rules[i] for i in fast], ADMISSION) if fast else None, np.array(fast, dtype=np.int64),
                       compile_rule_set([rules[i] for i in slow], ADMISSION), {rules[i].code: i for i in slow},
                       tuple(reads))
    known[inexact] = split
    return split


def _rule_hits(facts: pd.DataFrame, base: Mapping[str, Any], compiled: CompiledRuleSet | None) -> tuple[np.ndarray, np.ndarray]:
    """(rows, rule positions) of every hit, ordered by row then rule."""
    empty = np.empty(0, dtype=np.int64)
    if compiled is None or not compiled.rules:
        return empty, empty
    n = len(facts)
    split = _split(compiled, _inexact(base))
    rows_parts, rule_parts = [], []
    if split.frame_set is not None and len(split.frame_set.rules):
        hits = split.frame_set.evaluate_frame(facts).hits
        position = {r.code: i for i, r in enumerate(split.frame_set.rules)}
        codes = hits["rule_code"]
        lookup = np.array([position[c] for c in codes.cat.categories], dtype=np.int64)
        rows_parts.append(hits.iloc[:, 0].to_numpy(dtype=np.int64))
        rule_parts.append(split.frame_index[lookup[codes.cat.codes.to_numpy()]] if len(hits) else empty)
    if split.record_set is not None:
        if split.record_reads:
            groups = facts.groupby(list(split.record_reads), dropna=False, sort=False).ngroup().to_numpy()
        else:
            groups = np.zeros(n, dtype=np.int64)
        _, first = np.unique(groups, return_index=True)
        for g, at in zip(groups[first].tolist(), first.tolist()):
            record = dict(engine.row_facts(facts.iloc[at].to_dict()))
            record.update(base)
            found = [split.record_index[h.code] for h in split.record_set.evaluate(record)]
            if found:
                members = np.flatnonzero(groups == g)
                for i in found:
                    rows_parts.append(members)
                    rule_parts.append(np.full(members.size, i, dtype=np.int64))
    if not rows_parts:
        return empty, empty
    if len(rows_parts) == 1:  # the frame evaluator's own order: by row, then rule
        return rows_parts[0], rule_parts[0]
    rows, rules = np.concatenate(rows_parts), np.concatenate(rule_parts)
    order = np.lexsort((rules, rows))
    return rows[order], rules[order]


def _facts_columns(frame: pd.DataFrame, base: Mapping[str, Any], fields: Sequence[str]) -> pd.DataFrame:
    """The columns the rules read: the frame's own (not copied), the terms as constants, the rest
    absent."""
    n = len(frame)
    inexact = _inexact(base)
    columns: dict[str, Any] = {}
    for name in fields:
        kind = ADMISSION[name].type
        if name in base:
            columns[name] = _absent(kind, n) if name in inexact else _constant(kind, base[name], n)
        elif name in frame:
            columns[name] = frame[name]
        else:
            columns[name] = _absent(kind, n)
    return pd.DataFrame({k: pd.Series(v, copy=False, index=frame.index) if not isinstance(v, pd.Series) else v
                         for k, v in columns.items()}, index=frame.index, copy=False)


# -- 4. the product's terms --------------------------------------------------------------------

@dataclass
class _Product:
    limit_fen: np.ndarray  # int64, -1: none
    rate_ppm: np.ndarray  # int64, -1: none
    rate_text: Any  # callable(row indices) -> texts of the rates, as Decimal prints them
    reject: np.ndarray  # bool: a finding rejects
    reject_text: np.ndarray  # object: the reject findings' reasons joined
    review_text: np.ndarray  # object: the manual-review findings' reasons joined
    failed_text: np.ndarray  # object: "failed: ..." of the product's own failures, joined
    review: np.ndarray  # bool: a finding asks for manual review
    failed: np.ndarray  # bool: the product failed on the row


def _fail_all(n: int, failure: domain.Failure) -> _Product:
    none = np.full(n, -1, dtype=np.int64)
    blank = np.full(n, "", dtype=object)
    no = np.zeros(n, dtype=bool)
    return _Product(none, none.copy(), lambda idx: [], no, blank, blank.copy(),
                    np.full(n, f"failed: {failure.text()}", dtype=object), no, np.ones(n, dtype=bool))


def _int_array(value: Any, n: int, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.shape != (n,):
        raise ValueError(f"{name} holds {array.size} entries for a frame of {n} rows")
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} is {array.dtype}, not an integer array")
    return array.astype(np.int64)


def _text_array(value: Any, n: int, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=object)
    if array.shape != (n,):
        raise ValueError(f"{name} holds {array.size} entries for a frame of {n} rows")
    if any(v is None or v is pd.NA or (isinstance(v, float) and v != v) for v in pd.unique(array)):
        array = np.where(pd.isna(array), "", array).astype(object)
    return array


def _ppm_text(ppm: int) -> str:
    """A rate in millionths as a plugin's Decimal would print it: four places when whole basis
    points (``quantize(Decimal("0.0001"))``, as products price), else six."""
    places = 4 if ppm % 100 == 0 else 6
    return str(Decimal(ppm).scaleb(-6).quantize(Decimal(1).scaleb(-places)))


def _from_hook(answer: BatchTerms, plugin: str, n: int, lpr: Decimal) -> _Product:
    limit = _int_array(answer.limit_fen, n, "limit_fen")
    if (limit < -1).any():
        raise ValueError("limit_fen holds a negative amount (-1 alone means no limit)")
    if (answer.spread_bp is None) == (answer.annual_rate_ppm is None):
        raise ValueError("give one of spread_bp and annual_rate_ppm")
    if answer.spread_bp is not None:
        spread = _int_array(answer.spread_bp, n, "spread_bp")
        lpr_ppm = _exact(lpr, 6)
        rate = lpr_ppm + spread * 100

        def rate_text(idx: np.ndarray) -> list[str]:
            return [str(domain.priced_rate(None, int(s), lpr)) for s in spread[idx]]
    else:
        rate = _int_array(answer.annual_rate_ppm, n, "annual_rate_ppm")

        def rate_text(idx: np.ndarray) -> list[str]:
            return [_ppm_text(int(r)) for r in rate[idx]]
    blank = np.full(n, "", dtype=object)
    reject, reject_text, review_text = np.zeros(n, dtype=bool), blank, blank.copy()
    review = reject.copy()
    if answer.outcome is not None:
        outcome = _text_array(answer.outcome, n, "outcome")
        reason = _text_array(answer.reason, n, "reason") if answer.reason is not None else blank
        code = _text_array(answer.code, n, "code") if getattr(answer, "code", None) is not None else blank
        unknown = set(pd.unique(outcome)) - FINDING_OUTCOMES
        if unknown:
            raise ValueError(f"outcome holds {sorted(map(str, unknown))[0]!r}, not one of tag, manual_review, reject")
        reject = outcome == "reject"
        review = outcome == "manual_review"
        reject_text, review_text = blank.copy(), blank.copy()
        words: dict[tuple[str, str, str], str] = {}
        for mask, target, verb in ((reject, reject_text, "rejects"), (review, review_text, "asks for manual review")):
            idx = np.flatnonzero(mask)
            target[idx] = [words.get(key) or words.setdefault(key, f"finding {key[0]} of {plugin} {verb}: {key[1]}")
                           for key in zip(code[idx].tolist(), reason[idx].tolist(), [verb] * idx.size)]
    return _Product(limit, rate, rate_text, reject, reject_text, review_text, blank.copy(), review,
                    np.zeros(n, dtype=bool))


def _row_by_row(frame: pd.DataFrame, ctx: engine.BatchContext) -> _Product:
    """A product without the batch hook: its hooks asked per row, as the decision does."""
    n = len(frame)
    limit = np.full(n, -1, dtype=np.int64)
    rate = np.full(n, -1, dtype=np.int64)
    rates = np.full(n, None, dtype=object)
    reject = np.zeros(n, dtype=bool)
    texts = {k: np.full(n, "", dtype=object) for k in ("reject", "review", "failed")}
    for i, row in enumerate(frame.to_dict("records")):
        application, facts, terms, _ = engine.row_application(row, ctx)
        answers = ask_product(ctx.view, application, facts)
        _, plain, priced, _, every = conclude(facts, terms, application.term_months, (), None, answers, [])
        if plain is not None:  # no grade given: the limit as the plugin answered it, checked
            limit[i] = _exact(plain, 2)
        if priced is not None:
            rate[i], rates[i] = _exact(priced, 6), priced
        findings = [(c.provenance.plugin, c.value) for c in answers.findings]
        rejecting = [f"finding {f.code} of {p} rejects: {f.reason}" for p, f in findings if f.outcome.value == "reject"]
        reviewing = [f"finding {f.code} of {p} asks for manual review: {f.reason}" for p, f in findings
                     if f.outcome.value == "manual_review"]
        reject[i] = bool(rejecting)
        texts["reject"][i] = "; ".join(rejecting)
        texts["review"][i] = "; ".join(reviewing)
        texts["failed"][i] = "; ".join(f"failed: {f.text()}" for f in every)
    return _Product(limit, rate, lambda idx: [str(r) for r in rates[idx]], reject, texts["reject"], texts["review"],
                    texts["failed"], texts["review"] != "", texts["failed"] != "")


def _product(frame: pd.DataFrame, ctx: engine.BatchContext, lpr: Decimal) -> _Product:
    n = len(frame)
    asked = ctx.view.first(BATCH_HOOK, expect=BatchTerms, product_code=ctx.product.code,
                           frame=product_frame(frame, ctx))
    if asked.failures:
        f = asked.failures[0]
        return _fail_all(n, domain.Failure(BATCH_HOOK, f.plugin, f.error))
    if not asked.values:
        return _row_by_row(frame, ctx)
    plugin = asked.owners[0].plugin
    try:
        return _from_hook(asked.values[0], plugin, n, lpr)
    except _Exotic:
        raise
    except Exception as exc:  # an answer of the wrong shape fails closed like a failing plugin
        return _fail_all(n, domain.Failure(BATCH_HOOK, plugin, f"{type(exc).__name__}: {exc}"))


# -- 3. and 5.: the scorecard, the limit, the outcome -------------------------------------------------

def _scores(frame: pd.DataFrame, ctx: engine.BatchContext, base: Mapping[str, Any]) -> tuple[FrameScores | None, list[domain.Failure]]:
    card, failures = pick_scorecard(ctx.scorecards, ctx.product.segment)
    if card is None:
        return None, failures
    facts = frame[[name for name in frame.columns if name in ADMISSION]]
    decimals = [name for name in facts.columns if ADMISSION[name].type is FieldType.DECIMAL]
    try:
        return score_frame(card.value, facts, decimals, base), failures
    except Exception as exc:  # the reference then reports the scorecard's failure in its words
        raise _Exotic(str(exc)) from exc


def _graded(limit: np.ndarray, grade: np.ndarray, coefficients: Sequence[Decimal]) -> np.ndarray:
    """floor(limit x coefficient) to the yuan, in fen, per row (-1 where no limit or no grade)."""
    out = np.full(limit.shape, -1, dtype=np.int64)
    for g, coefficient in enumerate(coefficients):
        num, den = Decimal(coefficient).as_integer_ratio()
        rows = np.flatnonzero((grade == g) & (limit >= 0))
        if not rows.size:
            continue
        values = limit[rows]
        if int(values.max()) * abs(num) >= 2**62 or den * HUNDRED >= 2**62:
            exact = [((int(v) * num) // (den * HUNDRED)) * HUNDRED for v in values.tolist()]
            out[rows] = np.array(exact, dtype=np.int64)
        else:
            out[rows] = np.floor_divide(values * num, den * HUNDRED) * HUNDRED
    return out


def _evaluate(frame: pd.DataFrame, ctx: engine.BatchContext) -> pd.DataFrame:
    n = len(frame)
    index = frame.index
    frame = frame.reset_index(drop=True)
    spec = ctx.product
    amount, term, _ = engine.precredit_terms(spec)
    base = engine.base_facts(ctx)
    amount_fen = _exact(amount, 2)
    ceiling_floor = _scaled(spec.auto_approval_ceiling, 2, ROUND_FLOOR)
    minimum_ceil = _scaled(spec.amount.minimum, 2, ROUND_CEILING)
    low, high = spec.annual_rate
    low_ppm, high_ppm = _scaled(low, 6, ROUND_CEILING), _scaled(high, 6, ROUND_FLOOR)
    lpr = ctx.lpr.for_term(term)

    # 2. rules
    failures: list[domain.Failure] = []
    if not ctx.book.usable:
        failures.append(domain.Failure("rules", "", f"the admission rule book is unusable: {ctx.book.problem}"))
    compiled = ctx.book.compiled
    facts = _facts_columns(frame, base, compiled.fields if compiled is not None else ())
    hit_rows, hit_rules = _rule_hits(facts, base, compiled)
    rules: Sequence[Rule] = compiled.rules if compiled is not None else ()
    codes = np.array([r.code for r in rules], dtype=object)
    outcomes = np.array([r.outcome for r in rules], dtype=object)
    category = np.array([r.category or domain.OTHER for r in rules], dtype=object)
    reject_words = np.array([f"rule {r.code} v{r.version} rejects ({r.category or domain.OTHER}): {r.reason or r.expression}"
                             for r in rules], dtype=object)
    review_words = np.array([f"rule {r.code} v{r.version} asks for manual review: {r.reason or r.expression}"
                             for r in rules], dtype=object)
    rule_hits = _joined(n, hit_rows, hit_rules, codes, ",")
    hit_outcome = outcomes[hit_rules]
    rejecting = hit_outcome == "reject"
    reviewing = hit_outcome == "manual_review"
    rule_reject = _joined(n, hit_rows[rejecting], hit_rules[rejecting], reject_words)
    rule_review = _joined(n, hit_rows[reviewing], hit_rules[reviewing], review_words)
    first_category = np.full(n, None, dtype=object)
    if rejecting.any():
        r_rows = hit_rows[rejecting]
        firsts = np.flatnonzero(np.r_[True, r_rows[1:] != r_rows[:-1]])
        first_category[r_rows[firsts]] = category[hit_rules[rejecting][firsts]]

    # 3. scorecard
    scores, card_failures = _scores(frame, ctx, base)
    failures += card_failures

    # 4. product
    product = _product(frame, ctx, lpr)

    # 5. limit and outcome
    if scores is not None:
        total = scores.total
        grade = scores.grade
        graded = _graded(product.limit_fen, grade, scores.coefficients)
        names = np.array(list(scores.names) + [None], dtype=object)
        grade_name = names[grade]  # -1 takes the trailing None
    else:
        total, grade, graded = None, np.full(n, -1, dtype=np.intp), np.full(n, -1, dtype=np.int64)
        grade_name = np.full(n, None, dtype=object)
    has_grade = grade >= 0
    has_limit = product.limit_fen >= 0
    limit_out = np.where(has_grade, graded, product.limit_fen)
    granted = np.where(has_limit & has_grade, np.minimum(amount_fen, graded), -1)
    has_granted = granted >= 0
    has_rate = product.rate_ppm >= 0

    rejecting_rows = _present(n, hit_rows[rejecting])
    rejected = rejecting_rows | product.reject
    review = _Reasons(n)
    review.add(_present(n, hit_rows[reviewing]), rule_review)
    review.add(product.review, product.review_text)
    if failures:
        review.add(np.ones(n, dtype=bool), "; ".join(f"failed: {f.text()}" for f in failures))
    review.add(product.failed, product.failed_text)
    review.add(~has_grade, "no scorecard grade (no limit coefficient)")
    review.add(~has_limit, "no credit limit")
    review.add(~has_rate, "no price")
    outside = has_rate & ((product.rate_ppm < low_ppm) | (product.rate_ppm > high_ppm))
    if outside.any():
        idx = np.flatnonzero(outside)
        words = np.full(n, "", dtype=object)
        words[idx] = [f"rate {r} is outside the product's range {low}-{high}" for r in product.rate_text(idx)]
        review.add(outside, words)
    if amount > spec.auto_approval_ceiling:
        review.add(np.ones(n, dtype=bool), f"amount {amount} is above the auto-approval ceiling "
                                           f"{spec.auto_approval_ceiling}")
    room = frame["exposure_room_fen"] if "exposure_room_fen" in frame else pd.Series(pd.NA, index=frame.index,
                                                                                   dtype="Int64")
    room_known = room.notna().to_numpy()
    room_fen = room.to_numpy(dtype=np.int64, na_value=0)
    checks = (
        (has_granted & (granted > ceiling_floor), "limit {g} is above the auto-approval ceiling "
                                                  f"{spec.auto_approval_ceiling}"),
        (has_granted & (granted < minimum_ceil), f"limit {{g}} is below the product's minimum amount {spec.amount.minimum}"),
        (has_granted & room_known & (granted > room_fen), "limit {g} is above the {r} left under the customer's exposure cap"),
    )
    for mask, say in checks:
        if mask.any():
            review.add(mask, _worded(n, mask, say, granted, room_fen))
    manual = ~rejected & review.has
    approved = ~rejected & ~manual

    outcome = np.full(n, domain.APPROVED, dtype=object)
    outcome[manual] = domain.MANUAL_REVIEW
    outcome[rejected] = domain.REJECTED
    reasons = np.full(n, "", dtype=object)
    reasons[manual] = review.text[manual]
    refused = _Reasons(n)
    refused.add(rejecting_rows, rule_reject)
    refused.add(product.reject, product.reject_text)
    reasons[rejected] = refused.text[rejected]
    noted = approved & (granted != amount_fen)
    if noted.any():
        reasons[noted] = _worded(n, noted, f"approved {{g}} of the {amount} requested (the limit)", granted,
                                 room_fen)[noted]
    refusal = np.full(n, None, dtype=object)
    refusal[rejected] = domain.OTHER
    with_category = rejected & (first_category != None)  # noqa: E711
    refusal[with_category] = first_category[with_category]
    return pd.DataFrame({
        "outcome": pd.Series(outcome, dtype=object, copy=False),
        "refusal_category": pd.Series(refusal, dtype=object, copy=False),
        "limit_fen": pd.arrays.IntegerArray(np.where(limit_out >= 0, limit_out, 0), limit_out < 0),
        "approved_fen": pd.arrays.IntegerArray(np.where(approved, granted, 0), ~approved),
        "rate_ppm": pd.arrays.IntegerArray(np.where(has_rate, product.rate_ppm, 0), ~has_rate),
        "score": (pd.arrays.IntegerArray(total, np.zeros(n, dtype=bool)) if total is not None
                  else pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))),
        "grade": pd.Series(grade_name, dtype=object, copy=False),
        "rule_hits": pd.Series(rule_hits, dtype=object, copy=False),
        "reasons": pd.Series(reasons, dtype=object, copy=False)}).set_axis(index)


def _worded(n: int, mask: np.ndarray, say: str, granted: np.ndarray, room: np.ndarray) -> np.ndarray:
    """``say`` with ``{g}`` (the granted amount) and ``{r}`` (the exposure room) filled per row of
    ``mask``, each distinct pair worded once."""
    out = np.full(n, "", dtype=object)
    idx = np.flatnonzero(mask)
    if "{r}" in say:
        _, at, codes = np.unique(np.stack([granted[idx], room[idx]], axis=1), axis=0, return_index=True,
                                 return_inverse=True)
        first = idx[at]
    else:  # factorize numbers codes in order of first appearance
        codes, _ = pd.factorize(granted[idx])
        fresh = np.r_[True, codes[1:] > np.maximum.accumulate(codes)[:-1]] if codes.size else np.zeros(0, bool)
        first = idx[fresh]
    codes = codes.reshape(-1)
    words = np.array([say.format(g=_yuan(granted[i]), r=_yuan(room[i])) for i in first.tolist()], dtype=object)
    out[idx] = words[codes]
    return out

"""The pure arithmetic of fitting a scorecard, without files, toad or the database: points scaling,
weights of evidence, the monotonic merge of numeric bins, grade floors and the quality figures.

Conventions (the usual ones, so a card reads as any credit modeller expects):

* odds are good:bad; ``factor = pdo / ln 2``, ``offset = base_score - factor * ln(base_odds)``: a
  score of ``base_score`` means odds of ``base_odds`` to 1, and ``pdo`` more points double them;
* WOE of a bin = ``ln((bads_i / bads) / (goods_i / goods))`` (0.5 added to an empty count), so a
  risky bin has a positive WOE and the regression of bad on WOE positive coefficients;
* a bin's points = ``round(-factor * coef * woe)``; base points = ``round(offset - factor * intercept)``;
* scores are "higher is better": KS and AUC are computed with goods scoring high. AUC is the
  Mann-Whitney probability (ties count half), KS the largest gap between the cumulative score
  distributions of bads and goods, Gini = 2 AUC - 1. Floats in memory, as statistics may be.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

__all__ = ["auc", "base_points", "bin_points", "decile_edges", "grade_floors", "ks", "monotonic_merge", "roc",
           "scaling", "woe_iv"]


def scaling(base_score: float, base_odds: float, pdo: float) -> tuple[float, float]:
    """(factor, offset) of the points scale."""
    if base_odds <= 0 or pdo <= 0:
        raise ValueError("base odds and pdo must be positive")
    factor = pdo / math.log(2)
    return factor, base_score - factor * math.log(base_odds)


def bin_points(factor: float, coefficient: float, woe: float) -> int:
    return int(round(-factor * coefficient * woe))


def base_points(offset: float, factor: float, intercept: float) -> int:
    return int(round(offset - factor * intercept))


def woe_iv(bads: Sequence[int], goods: Sequence[int]) -> tuple[list[float], float]:
    """Each bin's WOE and the variable's information value (empty counts smoothed by 0.5)."""
    total_bad = max(sum(bads), 1)
    total_good = max(sum(goods), 1)
    woes: list[float] = []
    iv = 0.0
    for b, g in zip(bads, goods):
        if b == 0 and g == 0:
            woes.append(0.0)
            continue
        share_bad = (b or 0.5) / total_bad
        share_good = (g or 0.5) / total_good
        w = math.log(share_bad / share_good)
        woes.append(w)
        iv += (share_bad - share_good) * w
    return woes, iv


def monotonic_merge(edges: Sequence[int], bads: Sequence[int], goods: Sequence[int]) -> list[int]:
    """The inner edges left after merging adjacent numeric bins until their bad rate only rises or
    only falls (the direction of the trend over all bins, weighted by size). A U shape is never
    kept: for a numeric fact of this platform (days overdue, income, queries, age) a card whose
    points turn back is harder to defend to the risk committee than the little IV it gains."""
    edges, bads, goods = list(edges), list(bads), list(goods)
    if len(bads) != len(edges) + 1 or len(goods) != len(bads):
        raise ValueError("one count per bin: len(edges) + 1")
    while len(bads) > 1:
        rates = [b / (b + g) if b + g else 0.0 for b, g in zip(bads, goods)]
        sizes = [b + g for b, g in zip(bads, goods)]
        mean_i = sum(i * n for i, n in enumerate(sizes)) / max(sum(sizes), 1)
        slope = sum(n * (i - mean_i) * r for i, (n, r) in enumerate(zip(sizes, rates)))
        rising = slope >= 0
        broken = next((i for i in range(len(rates) - 1)
                       if (rates[i + 1] < rates[i] if rising else rates[i + 1] > rates[i])), None)
        if broken is None:
            break
        bads[broken:broken + 2] = [bads[broken] + bads[broken + 1]]
        goods[broken:broken + 2] = [goods[broken] + goods[broken + 1]]
        del edges[broken]
    return edges


def grade_floors(train_scores: Any, shares: Sequence[float]) -> list[int]:
    """Each grade's ``min_score``: the first grade takes the top ``shares[0]`` of the train scores,
    the next the following ``shares[1]``, and so on (scores below the last floor earn no grade).
    A floor is the lowest integer whose band, with those above, holds at most its cumulative share
    (ties at the cut stay below it); floors strictly fall (a floor that would not moves one point
    down)."""
    import numpy as np

    scores = np.sort(np.asarray(train_scores))[::-1]
    n = len(scores)
    floors: list[int] = []
    top = 0.0
    for share in shares:
        top = min(top + float(share), 1.0)
        allowed = int(math.floor(top * n + 1e-9))
        if allowed == 0:
            floor = int(scores[0]) + 1
        else:
            cut = int(scores[allowed - 1])
            floor = cut if int((scores >= cut).sum()) <= allowed else cut + 1
        if floors and floor >= floors[-1]:
            floor = floors[-1] - 1
        floors.append(floor)
    return floors


def decile_edges(scores: Any) -> tuple[int, ...]:
    """The distinct integer deciles of ``scores``: the inner edges of the development score bands."""
    import numpy as np

    qs = np.quantile(np.asarray(scores), [i / 10 for i in range(1, 10)], method="higher")
    return tuple(sorted({int(q) for q in qs}))


def _class_counts(target: Any, scores: Any) -> tuple[Any, Any, Any]:
    """Distinct scores ascending and, per score, the bads and goods."""
    import numpy as np

    y = np.asarray(target)
    s = np.asarray(scores)
    values, inverse = np.unique(s, return_inverse=True)
    bads = np.bincount(inverse, weights=(y == 1), minlength=len(values))
    goods = np.bincount(inverse, weights=(y == 0), minlength=len(values))
    return values, bads, goods


def auc(target: Any, scores: Any) -> float:
    """P(a good scores above a bad), ties half."""
    _, bads, goods = _class_counts(target, scores)
    nb, ng = bads.sum(), goods.sum()
    if nb == 0 or ng == 0:
        return float("nan")
    below = 0.0
    bads_below = 0.0
    for b, g in zip(bads, goods):
        below += g * (bads_below + b / 2)
        bads_below += b
    return float(below / (nb * ng))


def ks(target: Any, scores: Any) -> float:
    """max over thresholds of |share of bads at or below - share of goods at or below|."""
    import numpy as np

    _, bads, goods = _class_counts(target, scores)
    if bads.sum() == 0 or goods.sum() == 0:
        return float("nan")
    return float(np.max(np.abs(np.cumsum(bads) / bads.sum() - np.cumsum(goods) / goods.sum())))


def roc(target: Any, scores: Any, points: int = 101) -> list[tuple[float, float]]:
    """The ROC curve (share of goods refused, share of bads refused) as the cut-off rises, at most
    ``points`` points, from (0, 0) to (1, 1)."""
    import numpy as np

    _, bads, goods = _class_counts(target, scores)
    fpr = np.concatenate([[0.0], np.cumsum(goods) / max(goods.sum(), 1)])
    tpr = np.concatenate([[0.0], np.cumsum(bads) / max(bads.sum(), 1)])
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(points, len(fpr))).round().astype(int))
    return [(float(fpr[i]), float(tpr[i])) for i in keep]

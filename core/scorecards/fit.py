"""Fitting a segment scorecard (评分卡开发) from a checked data set: binning, WOE, logistic regression,
points, grades and the development counts, giving a ``ScorecardSpec`` that
``nongxin.sdk.scorecards.score`` scores exactly as the fit did.

The steps, each deterministic in the seed (same data, same card, byte for byte):

1. a stratified train/test split (scikit-learn);
2. per variable, toad's ``Combiner`` (chi-merge, or decision tree) on the train rows that have a
   value, with a minimum bin share; numeric variables (money in integer fen, integers) get integer
   edges ``[lower, upper)`` and are merged until their bad rate is monotonic (never U-shaped:
   ``fit_domain.monotonic_merge``); text variables keep toad's groups of values;
3. WOE per bin from the train counts (``fit_domain.woe_iv``); a missing value has its own WOE in the
   regression; variables below the minimum IV are left out;
4. logistic regression of bad on the WOEs (scikit-learn); a variable whose coefficient comes out
   negative (collinearity turning its evidence around) is left out and the rest refitted;
5. points by the usual convention (``fit_domain``). A variable that was missing often enough in
   the train rows (``missing_enough``: at least 1% of them and ``min_class`` rows)
   keeps its missing bin's own points (``ScorecardSpec.missing_by_field``): a missing income is
   evidence, weighed like any bin. Any other missing or unseen value earns the card's
   ``missing_points``: the least favourable bin's points over the whole card, so a thin file never
   outscores a known one;
6. grade bands at quantiles of the train scores; development counts over the whole sample counted
   with ``bin_index``/``band_index`` (as the stability monitor counts production).

toad and scikit-learn are imported here only, inside functions: the core starts without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from nongxin.core.clock import Clock
from nongxin.core.scorecards import fit_domain as dom
from nongxin.core.scorecards.data import BadRow, DataProblem, Dataset, fact_value, scale_of
from nongxin.sdk.rules.fields import FieldType
from nongxin.sdk.scorecards import band_index, bin_index, bin_label
from nongxin.sdk.types import ScorecardBin, ScorecardDevelopment, ScorecardGrade, ScorecardSpec

__all__ = ["BinRow", "FitOptions", "FitResult", "GradeOption", "GradeRow", "Metrics", "VariableFit", "fit", "missing_enough",
           "parse_grades"]

NUMERIC = (FieldType.DECIMAL, FieldType.INTEGER)
METHODS = ("chi", "dt")
NO_GRADE = "-"  # the last row of FitResult.grades: the scores below every band


@dataclass(frozen=True)
class GradeOption:
    name: str
    coefficient: Decimal
    share: float  # of the train scores, taken from the top down


DEFAULT_SHARES = (0.20, 0.30, 0.30, 0.15)
DEFAULT_GRADES = (GradeOption("A", Decimal("1.2"), 0.20), GradeOption("B", Decimal("1.0"), 0.30),
                  GradeOption("C", Decimal("0.8"), 0.30), GradeOption("D", Decimal("0.5"), 0.15))


def parse_grades(text: str) -> tuple[GradeOption, ...]:
    """``A:1.2,B:1.0,C:0.8,D:0.5`` (optionally ``A:1.2:20``: the share in percent). Without
    shares: 20/30/30/15% for four grades, else equal shares of 95% (the rest: no grade)."""
    from decimal import InvalidOperation

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise DataProblem("--grades names no grade (write e.g. A:1.2,B:1.0,C:0.8,D:0.5)", fields={"grades": ["empty"]})
    out: list[tuple[str, Decimal, float | None]] = []
    for part in parts:
        bits = part.split(":")
        try:
            if len(bits) not in (2, 3) or not bits[0].strip():
                raise ValueError
            coefficient = Decimal(bits[1])
            share = float(Decimal(bits[2])) / 100 if len(bits) == 3 else None
            if not coefficient.is_finite() or coefficient < 0 or (share is not None and not 0 < share <= 1):
                raise ValueError
        except (InvalidOperation, ValueError):
            raise DataProblem(f"--grades: {part!r} is not NAME:COEFFICIENT[:SHARE%] (e.g. A:1.2 or A:1.2:20)",
                              fields={"grades": [part]}) from None
        out.append((bits[0].strip(), coefficient, share))
    if len({n for n, _, _ in out}) != len(out):
        raise DataProblem("--grades repeats a grade name", fields={"grades": ["repeated name"]})
    given = [s for _, _, s in out if s is not None]
    if given and len(given) != len(out):
        raise DataProblem("--grades: give a share for every grade or for none", fields={"grades": ["shares"]})
    shares = given if given else (list(DEFAULT_SHARES) if len(out) == 4 else [0.95 / len(out)] * len(out))
    if sum(shares) > 1 + 1e-9:
        raise DataProblem("--grades: the shares add up to more than 100%", fields={"grades": ["shares"]})
    return tuple(GradeOption(n, c, s) for (n, c, _), s in zip(out, shares))


@dataclass(frozen=True)
class FitOptions:
    code: str
    segment: str
    name: str = ""
    test_size: float = 0.3
    seed: int = 42
    base_score: int = 600
    base_odds: float = 50.0
    pdo: float = 20.0
    grades: tuple[GradeOption, ...] = DEFAULT_GRADES
    method: str = "chi"
    min_bin_share: float = 0.05
    max_bins: int = 6
    min_iv: float = 0.02
    min_class: int = 30  # bads and goods each, in the train set
    fitted_on: date | None = None  # when None: today in China (``Clock``: a fit reads no books)


@dataclass(frozen=True)
class Metrics:
    ks: float
    auc: float
    gini: float
    rows: int
    bads: int


@dataclass(frozen=True)
class BinRow:
    label: str  # as ``bin_label`` shows it, or "missing"
    rows: int  # train rows
    bads: int
    woe: float
    points: int  # the card's points (missing: the variable's own, else the card's missing_points)

    @property
    def bad_rate(self) -> float:
        return self.bads / self.rows if self.rows else 0.0


@dataclass
class VariableFit:
    name: str
    kind: FieldType
    iv: float
    bins: list[BinRow]
    coefficient: float | None = None  # None: left out
    left_out: str = ""  # why


@dataclass(frozen=True)
class GradeRow:
    name: str
    min_score: int
    coefficient: Decimal
    train_rows: int
    train_bads: int
    test_rows: int
    test_bads: int


@dataclass
class FitResult:
    spec: ScorecardSpec
    train: Metrics
    test: Metrics
    variables: list[VariableFit]
    grades: list[GradeRow]
    totals: Any  # every row's score (int64), the data set's order
    is_train: Any  # bool mask
    target: Any
    roc_train: list[tuple[float, float]]
    roc_test: list[tuple[float, float]]
    options: FitOptions
    dropped: list[BadRow] = field(default_factory=list)
    intercept: float = 0.0

    def used(self) -> list[VariableFit]:
        return [v for v in self.variables if v.coefficient is not None]


# -- binning ---------------------------------------------------------------------------------------

@dataclass
class _Binning:
    """One variable's bins: numeric inner edges (in frame units) or text groups; ``index`` maps
    every row to its bin (the last index: missing or unseen)."""

    kind: FieldType
    edges: list[int] = field(default_factory=list)
    groups: list[list[str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.groups) if self.kind not in NUMERIC else len(self.edges) + 1

    def index(self, column: Any) -> Any:
        import numpy as np

        missing = column.isna().to_numpy()
        out = np.full(len(column), self.size, dtype=np.intp)
        if self.kind in NUMERIC:
            values = column.to_numpy(dtype=np.int64, na_value=0)
            out[~missing] = np.searchsorted(np.asarray(self.edges, dtype=np.int64), values[~missing], side="right")
        else:
            where = {v: i for i, group in enumerate(self.groups) for v in group}
            out[~missing] = [where.get(str(v), self.size) for v in column[~missing].tolist()]
        return out


def _toad_bins(values: Any, target: Any, options: FitOptions, numeric: bool) -> list[Any]:
    import warnings

    from toad.transform import Combiner

    extra: dict[str, Any] = {"constraint_mode": "all"} if options.method == "chi" else {}
    combiner = Combiner()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        combiner.fit(values, target, method=options.method, min_samples=options.min_bin_share,
                     n_bins=options.max_bins, **extra)
    rules = list(combiner.export().values())[0]
    return list(rules)


def _bin_variable(column: Any, kind: FieldType, target: Any, options: FitOptions) -> _Binning:
    import math

    import numpy as np

    present = column.notna().to_numpy()
    if present.sum() == 0:
        return _Binning(kind)
    if kind in NUMERIC:
        values = column[present].to_numpy(dtype=np.int64)
        if len(np.unique(values)) == 1:
            return _Binning(kind)
        splits = _toad_bins(values.astype(np.float64), target[present], options, numeric=True)
        edges = sorted({math.ceil(s) for s in splits if s == s})  # x >= s <=> x >= ceil(s) for integers
        binning = _Binning(kind, edges=edges)
        idx = binning.index(column)[present]
        y = target[present]
        bads = np.bincount(idx, weights=y, minlength=binning.size).astype(int).tolist()
        goods = np.bincount(idx, weights=1 - y, minlength=binning.size).astype(int).tolist()
        binning.edges = dom.monotonic_merge(edges, bads, goods)
        return binning
    texts = np.array([str(v) for v in column[present].tolist()], dtype=object)
    groups = _toad_bins(texts, target[present], options, numeric=False)
    return _Binning(kind, groups=[sorted(str(v) for v in g) for g in groups if len(g)])


def _spec_bins(name: str, binning: _Binning, points: list[int]) -> list[ScorecardBin]:
    if binning.kind not in NUMERIC:
        return [ScorecardBin(name, None, None, p, values=tuple(g)) for g, p in zip(binning.groups, points)]
    scale = scale_of(name) if binning.kind is FieldType.DECIMAL else 0
    bounds = [Decimal(e).scaleb(-scale) for e in binning.edges]
    lowers: list[Decimal | None] = [None, *bounds]
    uppers: list[Decimal | None] = [*bounds, None]
    return [ScorecardBin(name, lo, up, p) for lo, up, p in zip(lowers, uppers, points)]


# -- the fit ---------------------------------------------------------------------------------------

def _metrics(target: Any, totals: Any) -> Metrics:
    a = dom.auc(target, totals)
    return Metrics(dom.ks(target, totals), a, 2 * a - 1, int(len(target)), int(target.sum()))


def _split(data: Dataset, options: FitOptions) -> Any:
    import numpy as np
    from sklearn.model_selection import train_test_split

    rows = len(data.target)
    bads = int(data.target.sum())
    need = options.min_class / (1 - options.test_size)
    if bads < need or rows - bads < need:
        raise DataProblem(f"too few bads or goods to fit: {bads} bad and {rows - bads} good row(s); the train set "
                          f"needs at least {options.min_class} of each", fields={"target": ["too few bads or goods"]})
    train, _ = train_test_split(np.arange(rows), test_size=options.test_size, stratify=data.target,
                                random_state=options.seed)
    mask = np.zeros(rows, dtype=bool)
    mask[train] = True
    return mask


def _regress(woe: Any, y: Any, names: list[str]) -> tuple[list[str], list[float], float]:
    """Logistic regression on the WOE columns; drop a negative coefficient and refit."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    kept = list(range(len(names)))
    while kept:
        model = LogisticRegression(C=1e6, max_iter=1000)
        model.fit(woe[:, kept], y)
        coefs = model.coef_[0]
        worst = int(np.argmin(coefs))
        if coefs[worst] >= 0:
            return [names[i] for i in kept], [float(c) for c in coefs], float(model.intercept_[0])
        del kept[worst]
    raise DataProblem("no variable carries evidence in the direction of risk; nothing to fit",
                      fields={"data": ["no usable variable"]})


def fit(data: Dataset, options: FitOptions) -> FitResult:
    """Fit the card (see the module's docstring)."""
    import numpy as np

    if options.method not in METHODS:
        raise DataProblem(f"--method must be one of {', '.join(METHODS)}", fields={"method": ["unknown"]})
    if not 0 < options.test_size < 1:
        raise DataProblem("--test-size must be between 0 and 1", fields={"test_size": ["out of range"]})
    try:
        factor, offset = dom.scaling(options.base_score, options.base_odds, options.pdo)
    except ValueError as exc:
        raise DataProblem(f"points scale: {exc}", fields={"pdo": [str(exc)]}) from None
    is_train = _split(data, options)
    y = data.target
    y_train = y[is_train]
    variables: list[VariableFit] = []
    binnings: dict[str, _Binning] = {}
    indexes: dict[str, Any] = {}
    woes: dict[str, list[float]] = {}
    for name, kind in data.kinds.items():
        binning = _bin_variable(data.frame[name][is_train].reset_index(drop=True), kind, y_train, options)
        idx = binning.index(data.frame[name])
        bads = np.bincount(idx[is_train], weights=y_train, minlength=binning.size + 1).astype(int)
        rows = np.bincount(idx[is_train], minlength=binning.size + 1).astype(int)
        w, iv = dom.woe_iv(bads.tolist(), (rows - bads).tolist())
        binnings[name], indexes[name], woes[name] = binning, idx, w
        rows_list = [BinRow("", int(r), int(b), wi, 0) for r, b, wi in zip(rows, bads, w)]
        left_out = "" if binning.size > 1 else "a single bin"
        if not left_out and iv < options.min_iv:
            left_out = f"IV {iv:.4f} below {options.min_iv}"
        variables.append(VariableFit(name, kind, iv, rows_list, left_out=left_out))
    candidates = [v.name for v in variables if not v.left_out]
    if not candidates:
        raise DataProblem("no variable is informative enough to fit (every IV below "
                          f"{options.min_iv} or a single bin)", fields={"data": ["no usable variable"]})
    matrix = np.column_stack([np.asarray(woes[n])[indexes[n]] for n in candidates])
    kept, coefs, intercept = _regress(matrix[is_train], y_train, candidates)
    coefficient = dict(zip(kept, coefs))
    card_bins: list[ScorecardBin] = []
    points: dict[str, list[int]] = {}
    for v in variables:
        if v.name in candidates and v.name not in coefficient:
            v.left_out = "coefficient against the direction of risk (collinear)"
        if v.name not in coefficient:
            continue
        v.coefficient = coefficient[v.name]
        points[v.name] = [dom.bin_points(factor, v.coefficient, w) for w in woes[v.name]]
        card_bins.extend(_spec_bins(v.name, binnings[v.name], points[v.name][:-1]))
    missing_points = min(b.points for b in card_bins)
    train_rows = int(is_train.sum())
    own_missing = {v.name: points[v.name][-1] for v in variables
                   if v.name in points and missing_enough(v.bins[-1].rows, train_rows, options)}
    base = dom.base_points(offset, factor, intercept)
    totals = np.full(len(y), base, dtype=np.int64)
    for v in variables:
        binning = binnings[v.name]
        labels = [bin_label(b) for b in _spec_bins(v.name, binning, [0] * binning.size)] + ["missing"]
        table = [0] * (binning.size + 1)
        if v.name in points:
            table = [*points[v.name][:-1], own_missing.get(v.name, missing_points)]
            totals += np.asarray(table, dtype=np.int64)[indexes[v.name]]
        v.bins = [BinRow(label, r.rows, r.bads, r.woe, p) for label, r, p in zip(labels, v.bins, table)]
    grades = _grades(totals, is_train, y, options)
    spec = ScorecardSpec(
        code=options.code, segment=options.segment, base_points=base, bins=tuple(card_bins),
        missing_points=missing_points, missing_by_field=own_missing,
        grades=tuple(ScorecardGrade(g.name, g.min_score, g.coefficient) for g in grades[:-1]), name=options.name,
        development=None)
    spec = _with_development(spec, data, totals, is_train, options)
    return FitResult(spec=spec, train=_metrics(y_train, totals[is_train]), test=_metrics(y[~is_train], totals[~is_train]),
                     variables=variables, grades=grades, totals=totals, is_train=is_train, target=y,
                     roc_train=dom.roc(y_train, totals[is_train]), roc_test=dom.roc(y[~is_train], totals[~is_train]),
                     options=options, dropped=list(data.dropped), intercept=intercept)


def missing_enough(missing_rows: int, train_rows: int, options: FitOptions) -> bool:
    """Whether a variable's missing values are many enough in the train rows to earn points of
    their own: at least 1% of the rows and ``min_class`` rows (a WOE over fewer is noise)."""
    return missing_rows >= max(options.min_class, MISSING_SHARE * train_rows)


#: The least share of the train rows a variable's missing values need to earn their own points.
MISSING_SHARE = 0.01


def _grades(totals: Any, is_train: Any, y: Any, options: FitOptions) -> list[GradeRow]:
    floors = dom.grade_floors(totals[is_train], [g.share for g in options.grades])
    rows: list[GradeRow] = []
    for i, (g, floor) in enumerate(zip(options.grades, floors)):
        ceiling = floors[i - 1] if i else None
        band = (totals >= floor) & (totals < ceiling if ceiling is not None else True)
        tr, te = band & is_train, band & ~is_train
        rows.append(GradeRow(g.name, floor, g.coefficient, int(tr.sum()), int(y[tr].sum()), int(te.sum()),
                             int(y[te].sum())))
    rest = totals < floors[-1]
    rows.append(GradeRow(NO_GRADE, int(totals.min()), Decimal(0), int((rest & is_train).sum()), int(y[rest & is_train].sum()),
                         int((rest & ~is_train).sum()), int(y[rest & ~is_train].sum())))
    return rows


def _with_development(spec: ScorecardSpec, data: Dataset, totals: Any, is_train: Any,
                      options: FitOptions) -> ScorecardSpec:
    """The development counts over the whole sample, with the SDK's own ``bin_index`` and
    ``band_index`` (each distinct value looked up once)."""
    import dataclasses

    import numpy as np
    import pandas as pd

    counts: dict[str, tuple[int, ...]] = {}
    names = dict.fromkeys(b.field for b in spec.bins)
    for name in names:
        size = sum(1 for b in spec.bins if b.field == name) + 1
        codes, uniques = pd.factorize(data.frame[name], use_na_sentinel=True)
        lookup = np.array([bin_index(spec, name, fact_value(data.kinds[name], u, scale_of(name))) for u in uniques] + [size - 1],
                          dtype=np.intp)
        counts[name] = tuple(int(c) for c in np.bincount(lookup[np.asarray(codes)], minlength=size))
    edges = dom.decile_edges(totals[is_train])
    distinct, inverse = np.unique(totals, return_inverse=True)
    bands = np.array([band_index(edges, int(t)) for t in distinct], dtype=np.intp)[inverse]
    development = ScorecardDevelopment(
        rows=int(len(totals)), bads=int(data.target.sum()), score_edges=edges,
        score_counts=tuple(int(c) for c in np.bincount(bands, minlength=len(edges) + 1)), bin_counts=counts,
        fitted_on=(options.fitted_on or Clock().business_date()).isoformat())
    return dataclasses.replace(spec, development=development)

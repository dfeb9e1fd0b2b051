"""`nongxin scorecard fit DATA --target COLUMN --segment NAME` and `nongxin scorecard sample-data OUT.csv`:
the modelling staff's loop from a history file to a scorecard spec and its report, without the
database. A refusal (a bad row, an unknown column, too few bads) is a message naming the line and
column, exit status 1, and nothing written: the spec and the report are both rendered before
either file is written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from nongxin.core.clock import Clock
from nongxin.core.clikit import fail
from nongxin.core.errors import NongxinError
from nongxin.sdk.errors import NongxinSdkError

__all__ = ["register"]

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SUFFIXES = (".csv", ".xlsx", ".parquet")


def _refuse(exc: NongxinError | NongxinSdkError) -> None:
    fail(exc, status=1)


def _default_code(segment: str, data: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{segment}_{data.stem}").strip("_.-")[:64] or "scorecard"


def _print(result: object) -> None:
    from rich.console import Console as Rich
    from rich.table import Table

    from nongxin.core.scorecards.fit import FitResult
    from nongxin.core.scorecards.report import fmt

    assert isinstance(result, FitResult)
    out = Rich(width=None if sys.stdout.isatty() else 200)
    quality = Table(title=f"{result.spec.code} ({result.spec.segment})")
    for head in ("", "KS", "AUC", "Gini", "rows", "bads"):
        quality.add_column(head, justify="right")
    for label, m in (("train", result.train), ("test", result.test)):
        quality.add_row(label, fmt(m.ks), fmt(m.auc), fmt(m.gini), str(m.rows), str(m.bads))
    out.print(quality)
    values = Table(title="information value (IV)")
    for head in ("variable", "IV", "coefficient", "bins", "note"):
        values.add_column(head, justify="left" if head in ("variable", "note") else "right")
    for v in result.variables:
        values.add_row(v.name, fmt(v.iv), fmt(v.coefficient) if v.coefficient is not None else "-",
                       str(len(v.bins) - 1), v.left_out or "in the card")
    out.print(values)
    grades = ", ".join(f"{g.name}>={g.min_score}" for g in result.spec.grades)
    out.print(f"base points {result.spec.base_points}, missing points {result.spec.missing_points}; grades {grades}")


def register(scorecard: click.Group) -> None:
    """Add ``fit`` and ``sample-data`` to the ``nongxin scorecard`` group."""

    @scorecard.command("fit")
    @click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--target", required=True, help="The column saying whether the loan went bad.")
    @click.option("--segment", required=True, help="The customer segment the card scores (farmer, merchant, ...).")
    @click.option("--exclude", multiple=True, help="A column to leave out (repeatable).")
    @click.option("--bad", default=None, help="The target's bad label (default: 1, bad or 坏, whichever appears).")
    @click.option("--code", default=None, help="The card's code (default: SEGMENT_DATASTEM); names the files.")
    @click.option("--name", default="", help="The card's display name (名称).")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Where to write the spec and report (default: beside the data).")
    @click.option("--test-size", type=click.FloatRange(0.05, 0.95), default=0.3, show_default=True)
    @click.option("--seed", type=int, default=42, show_default=True)
    @click.option("--base-score", type=int, default=600, show_default=True)
    @click.option("--base-odds", type=click.FloatRange(min=0, min_open=True), default=50.0, show_default=True,
                  help="Good:bad odds at the base score.")
    @click.option("--pdo", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
                  help="Points to double the odds.")
    @click.option("--grades", "grades_text", default="A:1.2,B:1.0,C:0.8,D:0.5", show_default=True,
                  help="NAME:COEFFICIENT[:SHARE%] from the best grade down.")
    @click.option("--method", type=click.Choice(["chi", "dt"]), default="chi", show_default=True,
                  help="toad binning: chi-merge or decision tree.")
    @click.option("--drop-bad-rows", is_flag=True, help="Fit without the bad rows (listed) instead of refusing.")
    def fit_command(data: Path, target: str, segment: str, exclude: tuple[str, ...], bad: str | None,
                    code: str | None, name: str, out_dir: Path | None, test_size: float, seed: int,
                    base_score: int, base_odds: float, pdo: float, grades_text: str, method: str,
                    drop_bad_rows: bool) -> None:
        """Fit a segment scorecard from a history file (CSV, .xlsx or .parquet): prints KS, AUC, Gini
        and each variable's IV, writes CODE.spec.json and CODE.report.html."""
        try:
            _fit(data, target=target, segment=segment, exclude=exclude, bad=bad, code=code, name=name,
                 out_dir=out_dir, test_size=test_size, seed=seed, base_score=base_score, base_odds=base_odds,
                 pdo=pdo, grades_text=grades_text, method=method, drop_bad_rows=drop_bad_rows)
        except (NongxinError, NongxinSdkError) as exc:
            _refuse(exc)

    @scorecard.command("sample-data")
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--rows", type=click.IntRange(100, 1_000_000), default=5000, show_default=True)
    @click.option("--seed", type=int, default=42, show_default=True)
    def sample_data(out: Path, rows: int, seed: int) -> None:
        """Write a synthetic farmer loan history (target column: bad) to try `scorecard fit` on."""
        from nongxin.core.scorecards.synthetic import history

        history(rows, seed).to_csv(out, index=False)
        click.echo(f"wrote {rows} rows to {out}; try: nongxin scorecard fit {out} --target bad --segment farmer")


def _fit(data: Path, *, target: str, segment: str, exclude: tuple[str, ...], bad: str | None, code: str | None,
         name: str, out_dir: Path | None, test_size: float, seed: int, base_score: int, base_odds: float,
         pdo: float, grades_text: str, method: str, drop_bad_rows: bool) -> None:
    from rich.progress import Progress

    from nongxin.core.errors import invalid
    from nongxin.core.scorecards import fit as fitting
    from nongxin.core.scorecards.data import read_dataset
    from nongxin.core.scorecards.report import render
    from nongxin.sdk.scorecards import spec_to_json

    if data.suffix.lower() not in SUFFIXES:
        raise invalid("data", f"{data.name}: expected a .csv, .xlsx or .parquet file")
    if not data.is_file():
        raise invalid("data", f"{data}: no such file")
    code = code or _default_code(segment, data)
    if not CODE.fullmatch(code):
        raise invalid("code", f"{code!r}: letters, digits, '_', '.' or '-', at most 64, starting with a letter or digit")
    if not segment.strip():
        raise invalid("segment", "must not be blank")
    options = fitting.FitOptions(code=code, segment=segment.strip(), name=name, test_size=test_size, seed=seed,
                                 base_score=base_score, base_odds=base_odds, pdo=pdo,
                                 grades=fitting.parse_grades(grades_text), method=method, fitted_on=Clock().business_date())
    with Progress(transient=True, disable=not sys.stdout.isatty()) as bar:
        task = bar.add_task(f"reading {data.name}", total=3)
        dataset = read_dataset(data, target=target, exclude=exclude, bad=bad, drop_bad_rows=drop_bad_rows)
        bar.update(task, advance=1, description="binning and regression (toad, scikit-learn)")
        result = fitting.fit(dataset, options)
        bar.update(task, advance=1, description="writing the report")
        spec_text, report_text = spec_to_json(result.spec), render(result, source=data.name)
        bar.update(task, advance=1)
    if dataset.dropped:
        lines = dataset.dropped_lines()
        click.echo(f"dropped {len(lines)} bad row(s) (--drop-bad-rows): lines "
                   f"{', '.join(map(str, lines[:50]))}{', ...' if len(lines) > 50 else ''}")
    _print(result)
    folder = out_dir or data.parent
    folder.mkdir(parents=True, exist_ok=True)
    spec_path, report_path = folder / f"{code}.spec.json", folder / f"{code}.report.html"
    spec_path.write_text(spec_text, encoding="utf-8")
    report_path.write_text(report_text, encoding="utf-8")
    click.echo(f"wrote {spec_path} and {report_path}")

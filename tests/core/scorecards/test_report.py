"""The fit's HTML report: self-contained (no request of any kind) and showing the fit's own figures."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest

from nongxin.core.scorecards.data import read_frame
from nongxin.core.scorecards.fit import NO_GRADE, FitOptions, fit
from nongxin.core.scorecards.report import fmt, render
from nongxin.core.scorecards.synthetic import history


class _Tables(HTMLParser):
    """Every table's rows as cell texts, every attribute, and the text outside tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.extend((tag, k, v) for k, v in attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def fitted():
    data = read_frame(history(2500, 11), target="bad")
    result = fit(data, FitOptions(code="farmer_report", segment="farmer", name="农户<卡>", fitted_on=date(2026, 11, 2)))
    page = _Tables()
    page.feed(render(result, source="history.csv"))
    return result, page


def test_quality_figures_are_the_fits_own(fitted):
    result, page = fitted
    quality = page.tables[0]
    assert quality[0][:4] == ["", "KS", "AUC", "Gini"]
    assert quality[1] == ["训练 train", fmt(result.train.ks), fmt(result.train.auc), fmt(result.train.gini),
                          str(result.train.rows), str(result.train.bads)]
    assert quality[2] == ["测试 test", fmt(result.test.ks), fmt(result.test.auc), fmt(result.test.gini),
                          str(result.test.rows), str(result.test.bads)]


def test_iv_bins_and_points_are_the_cards(fitted):
    result, page = fitted
    ivs = {row[0]: row[1] for row in page.tables[1][1:]}
    assert ivs == {v.name: fmt(v.iv) for v in result.variables}
    bins_tables = page.tables[2:2 + len(result.used())]
    for v, table in zip(result.used(), bins_tables):
        spec_bins = [b for b in result.spec.bins if b.field == v.name]
        assert [row[0] for row in table[1:]][:-1] == [b.label for b in v.bins][:-1]
        assert [int(row[-1]) for row in table[1:-1]] == [b.points for b in spec_bins]
        own = result.spec.missing_by_field.get(v.name, result.spec.missing_points)
        assert table[-1][0] == "missing" and int(table[-1][-1]) == own
        assert sum(int(row[1]) for row in table[1:]) == result.train.rows


def test_grade_bands_with_bad_rates(fitted):
    result, page = fitted
    grades = page.tables[-1]
    assert [row[0] for row in grades[1:]] == [g.name for g in result.spec.grades] + ["无等级 no grade"]
    for row, g in zip(grades[1:], result.grades):
        if g.name != NO_GRADE:
            assert row[1] == str(g.min_score) and row[2] == str(g.coefficient)
        assert row[3] == str(g.train_rows) and row[4] == f"{g.train_bads / g.train_rows * 100:.2f}%"
        assert row[5] == str(g.test_rows)


def test_self_contained_no_request(fitted):
    result, page = fitted
    html = render(result, source="history.csv")
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [a for a in page.attributes if a[1] in ("src", "href") or "url(" in (a[2] or "")]
    assert "@import" not in html and "url(" not in html
    outside_text = re.sub(r">[^<]*<", "><", html)
    assert "http" not in outside_text
    assert html.count("<svg") == 2 and "<rect" in html and "<polyline" in html  # histogram and ROC
    assert "农户&lt;卡&gt;" in html  # names are escaped

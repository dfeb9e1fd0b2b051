"""The fit's report (评分卡开发报告): one self-contained HTML file, charts drawn here as inline SVG and
CSS, so it opens offline and makes no request (no CDN, no font, no script).

It shows, labelled in Chinese and English: KS, AUC and Gini on train and test; each variable's IV
and coefficient (or why it was left out); every bin with its train rows, bad rate, WOE and points;
the score distribution of goods and bads; the grade bands with their bad rates on train and test;
the ROC curve. Figures are formatted from the fit's own numbers (``fmt``), so a test can read them
back. The data set's rows are never printed: no identity number or name can reach the report.
"""

from __future__ import annotations

from html import escape
from nongxin.core.scorecards.fit import NO_GRADE, FitResult

__all__ = ["fmt", "render"]

STYLE = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.bar{display:inline-block;height:.8em;background:#4a7ab5}
.neg{background:#c0504d}.note{color:#666;font-size:.9em}svg{background:#fff;border:1px solid #ddd}
"""


def fmt(value: float, places: int = 4) -> str:
    """A figure as the report prints it."""
    return f"{value:.{places}f}"


def _table(head: list[str], rows: list[list[str]], left: int = 1) -> str:
    cells = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>"
                                   for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _bar(share: float, negative: bool = False, width: int = 120) -> str:
    px = max(0, min(width, round(share * width)))
    return f'<span class="bar{" neg" if negative else ""}" style="width:{px}px"></span>'


def _histogram(result: FitResult, bins: int = 20) -> str:
    import numpy as np

    totals, y = result.totals, result.target
    lo, hi = int(totals.min()), int(totals.max()) + 1
    edges = np.linspace(lo, hi, bins + 1)
    goods = np.histogram(totals[y == 0], edges)[0] / max(int((y == 0).sum()), 1)
    bads = np.histogram(totals[y == 1], edges)[0] / max(int((y == 1).sum()), 1)
    w, h, pad = 640, 240, 30
    top = max(goods.max(), bads.max(), 1e-9)
    step = (w - 2 * pad) / bins
    parts = [f'<svg width="{w}" height="{h + 40}" role="img" '
             'aria-label="score distribution">']
    for i in range(bins):
        for k, (series, colour) in enumerate(((goods, "#4a7ab5"), (bads, "#c0504d"))):
            bh = series[i] / top * h
            x = pad + i * step + k * step / 2
            parts.append(f'<rect x="{x:.1f}" y="{pad / 2 + h - bh:.1f}" width="{step / 2 - 1:.1f}" height="{bh:.1f}" '
                         f'fill="{colour}"><title>{int(edges[i])}-{int(edges[i + 1])}: {fmt(series[i] * 100, 1)}%</title></rect>')
    parts.append(f'<text x="{pad}" y="{h + 35}" font-size="12">{lo}</text>'
                 f'<text x="{w - pad - 30}" y="{h + 35}" font-size="12">{hi - 1}</text>'
                 f'<text x="{w / 2 - 80}" y="{h + 35}" font-size="12" fill="#4a7ab5">好 good</text>'
                 f'<text x="{w / 2}" y="{h + 35}" font-size="12" fill="#c0504d">坏 bad</text></svg>')
    return "".join(parts)


def _roc(result: FitResult) -> str:
    size, pad = 300, 30
    span = size - 2 * pad

    def path(points: list[tuple[float, float]]) -> str:
        return " ".join(f"{pad + x * span:.1f},{size - pad - y * span:.1f}" for x, y in points)

    return (f'<svg width="{size}" height="{size}" role="img" aria-label="ROC">'
            f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#bbb" stroke-dasharray="4"/>'
            f'<polyline fill="none" stroke="#4a7ab5" stroke-width="2" points="{path(result.roc_train)}"/>'
            f'<polyline fill="none" stroke="#c0504d" stroke-width="2" points="{path(result.roc_test)}"/>'
            f'<text x="{pad}" y="{pad - 10}" font-size="12" fill="#4a7ab5">训练 train</text>'
            f'<text x="{pad + 80}" y="{pad - 10}" font-size="12" fill="#c0504d">测试 test</text>'
            f'<text x="{pad}" y="{size - 8}" font-size="11">拒绝的好客户 goods refused →</text></svg>')


def _rate(bads: int, rows: int) -> str:
    return fmt(bads / rows * 100, 2) + "%" if rows else "-"


def render(result: FitResult, *, source: str = "") -> str:
    """The report as HTML text."""
    spec, o = result.spec, result.options
    title = f"评分卡开发报告 Scorecard report: {escape(spec.code)}"
    out = [f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
           f"<style>{STYLE}</style></head><body><h1>{title}</h1>"]
    named = f" · 名称 name {escape(spec.name)}" if spec.name else ""
    out.append(f'<p class="note">客群 segment {escape(spec.segment)}{named} · 数据 data '
               f"{escape(source)} · {result.train.rows + result.test.rows} 行 rows · 拟合日期 fitted on "
               f"{escape(spec.development.fitted_on if spec.development else '')} · 分箱 binning toad {escape(o.method)}"
               f" · 种子 seed {o.seed} · 基准分 base score {o.base_score} @ odds {o.base_odds:g}:1, PDO {o.pdo:g}</p>")
    if result.dropped:
        lines = sorted({b.line for b in result.dropped})
        out.append(f'<p class="note">剔除的坏行 rows dropped: {len(lines)} (lines {escape(", ".join(map(str, lines[:50])))}'
                   f'{", ..." if len(lines) > 50 else ""})</p>')
    out.append('<h2>模型效果 Quality</h2>')
    out.append(_table(["", "KS", "AUC", "Gini", "行数 rows", "坏 bads"], [
        [label, fmt(m.ks), fmt(m.auc), fmt(m.gini), str(m.rows), str(m.bads)]
        for label, m in (("训练 train", result.train), ("测试 test", result.test))]))
    top_iv = max((v.iv for v in result.variables), default=1.0) or 1.0
    out.append('<h2>变量信息值 Information value (IV)</h2>')
    out.append(_table(["变量 variable", "IV", "", "系数 coefficient", "说明 note"], [
        [escape(v.name), fmt(v.iv), _bar(v.iv / top_iv), fmt(v.coefficient) if v.coefficient is not None else "-",
         escape(v.left_out or "入模 in the card")] for v in result.variables]))
    out.append(f'<h2>分箱与分值 Bins and points</h2><p class="note">基础分 base points {spec.base_points}; '
               f"缺失分 missing points {spec.missing_points} (the least favourable bin of the card: a missing or unseen "
               "value never outscores a known one), except for variables missing often enough in the train rows to "
               "earn their own: " + (escape(", ".join(f"{k} {v}" for k, v in spec.missing_by_field.items()))
                                     or "none") + "</p>")
    for v in result.used():
        out.append(f"<h3>{escape(v.name)} (IV {fmt(v.iv)})</h3>")
        out.append(_table(["分箱 bin", "行数 rows", "坏 bads", "坏账率 bad rate", "", "WOE", "分值 points"], [
            [escape(b.label), str(b.rows), str(b.bads), _rate(b.bads, b.rows), _bar(b.bad_rate), fmt(b.woe),
             str(b.points)] for b in v.bins]))
    out.append("<h2>分数分布 Score distribution (goods and bads)</h2>" + _histogram(result))
    out.append("<h2>等级 Grade bands</h2>")
    out.append(_table(["等级 grade", "最低分 min score", "系数 coefficient", "训练行数 train rows", "训练坏账率 train bad rate",
                       "测试行数 test rows", "测试坏账率 test bad rate"], [
        [escape(g.name if g.name != NO_GRADE else "无等级 no grade"), str(g.min_score) if g.name != NO_GRADE else "-",
         str(g.coefficient) if g.name != NO_GRADE else "-", str(g.train_rows), _rate(g.train_bads, g.train_rows),
         str(g.test_rows), _rate(g.test_bads, g.test_rows)] for g in result.grades]))
    out.append("<h2>ROC 曲线 ROC curve</h2>" + _roc(result))
    out.append("</body></html>\n")
    return "".join(out)

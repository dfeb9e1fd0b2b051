"""A scorecard spec file as a county developer ships it: what stops it being baked into a plugin
(``spec_problems``), and the card as Markdown tables for the package's README (``card_markdown``).

In the SDK, not the core: ``nongxin new scorecard --from`` and the template's own cookiecutter
hooks (run without the core) apply the same checks and write the same tables.
"""

from __future__ import annotations

import json

from nongxin.sdk.types import ScorecardSpec

__all__ = ["card_markdown", "spec_problems"]


def spec_problems(text: str) -> tuple[ScorecardSpec | None, list[str]]:
    """The spec in ``text`` and what stops it being baked: not JSON, a bad value (named by its
    path, ``spec.bins[3].points``), no bins, or variables the admission stage does not fill (the
    decision would score them as missing on every application)."""
    from nongxin.sdk.facts import ADMISSION
    from nongxin.sdk.scorecards import spec_from_json, variables

    try:
        spec = spec_from_json(text)
    except json.JSONDecodeError as exc:
        return None, [f"not a JSON spec file: {exc}"]
    except (ValueError, TypeError) as exc:  # InvalidValue names the path; a missing key is a TypeError
        return None, [str(exc) if str(exc).startswith("spec") else f"spec: {exc}"]
    found = [f"spec.{key}: must not be empty" for key in ("code", "segment") if not getattr(spec, key).strip()]
    if not spec.bins:
        found.append("spec.bins: a scorecard needs at least one bin")
    foreign = [name for name in variables(spec) if name not in ADMISSION]
    if foreign:
        found.append(f"spec.bins: {', '.join(foreign)} "
                     f"{'is not an admission fact' if len(foreign) == 1 else 'are not admission facts'} "
                     "(nongxin.sdk.facts.ADMISSION), so the decision could never score "
                     f"{'it' if len(foreign) == 1 else 'them'}: fit the card again on admission facts only "
                     "(name the data set's columns after them), or have the fact added to ADMISSION and filled "
                     "by the core or a connector first")
    found += [f"spec.missing_by_field.{name}: not a variable of the card"
              for name in spec.missing_by_field if name not in variables(spec)]
    found += _development_problems(spec)
    return (None if found else spec), found


def _development_problems(spec: ScorecardSpec) -> list[str]:
    """Counts the stability monitor could not compare with production: per variable one count per
    bin plus the missing count, each adding up to the sample's rows; one count per score band."""
    from nongxin.sdk.scorecards import variables

    dev = spec.development
    if dev is None:
        return []
    found = [] if 0 <= dev.bads <= dev.rows else [f"spec.development.bads: {dev.bads} is not within 0..{dev.rows} rows"]
    if list(dev.score_edges) != sorted(set(dev.score_edges)):
        found.append("spec.development.score_edges: must be strictly ascending")
    if len(dev.score_counts) != len(dev.score_edges) + 1 or sum(dev.score_counts) != dev.rows \
            or min(dev.score_counts, default=0) < 0:
        found.append(f"spec.development.score_counts: need {len(dev.score_edges) + 1} counts (one per score band) "
                     f"adding up to {dev.rows} rows")
    found += [f"spec.development.bin_counts.{name}: not a variable of the card"
              for name in dev.bin_counts if name not in variables(spec)]
    for name in variables(spec):
        counts, bins = dev.bin_counts.get(name, ()), sum(b.field == name for b in spec.bins)
        if len(counts) != bins + 1 or sum(counts) != dev.rows or min(counts, default=0) < 0:
            found.append(f"spec.development.bin_counts.{name}: need {bins + 1} counts (one per bin, then missing) "
                         f"adding up to {dev.rows} rows")
    return found


def card_markdown(spec: ScorecardSpec) -> str:
    """The card as Markdown tables for its package's README: variables, bins, points, grades."""
    from nongxin.sdk.facts import ADMISSION
    from nongxin.sdk.scorecards import bin_label

    lines = [f"**{spec.name or spec.code}**: code `{spec.code}`, version {spec.version}, segment "
             f"`{spec.segment}`; base points {spec.base_points}, a missing value (or one no bin holds) "
             f"earns {spec.missing_points}" + (", except " + ", ".join(f"`{k}` {v}" for k, v in spec.missing_by_field.items())
                                               if spec.missing_by_field else "") + ".", "", "| variable | fact | bin | points |", "|---|---|---|---|"]
    for b in spec.bins:
        field = ADMISSION.resolve(b.field)
        label = field.label if field is not None else ""
        shown = bin_label(b).replace("|", "\\|")  # a text value may hold the table's separator
        lines.append(f"| `{b.field}` | {label} | `{shown}` | {b.points} |")
    if spec.grades:
        lines += ["", "| grade | from score | limit coefficient |", "|---|---|---|"]
        lines += [f"| {g.name} | {g.min_score} | {g.limit_coefficient} |"
                  for g in sorted(spec.grades, key=lambda g: -g.min_score)]
    dev = spec.development
    if dev is not None:
        lines += ["", f"Development sample: {dev.rows} rows, {dev.bads} bads"
                      f"{f', fitted on {dev.fitted_on}' if dev.fitted_on else ''}."]
    return "\n".join(lines)

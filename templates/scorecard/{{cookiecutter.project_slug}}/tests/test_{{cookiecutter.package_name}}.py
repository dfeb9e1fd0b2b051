"""The scorecard of {{ cookiecutter.institution }} as shipped: the spec file loads and reads admission facts
only, every bin scores exactly its points, the development counts add up, and the role setting makes
the card champion or challenger (checked directly and through the core's API, as installed)."""

import dataclasses
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from nongxin.sdk import HookContext, PluginKind
from nongxin.sdk.facts import ADMISSION
from nongxin.sdk.scorecards import bin_label, score, variables
from {{ cookiecutter.package_name }} import plugin

NAME = "{{ cookiecutter.package_name }}"
HOME = "{{ cookiecutter.institution }}"
OTHER = "{% if cookiecutter.institution == 'LYRCB' %}JNRCB{% else %}LYRCB{% endif %}"
SPEC = plugin.SPEC


def inside(b):
    """Values the bin holds: each text value; a numeric bin's lower bound, or 1 fen under its upper."""
    if b.values is not None:
        return list(b.values)
    if b.lower is not None:
        return [b.lower]
    return [Decimal(0) if b.upper is None else b.upper - Decimal("0.01")]


CASES = [(b, value) for b in SPEC.bins for value in inside(b)]


def test_the_spec_loads_and_reads_admission_facts_only():
    assert SPEC.code and SPEC.segment and SPEC.bins
    assert [v for v in variables(SPEC) if v not in ADMISSION] == []
    assert plugin.PLUGIN.kind is PluginKind.SCORECARD and plugin.PLUGIN.allowed_institutions == (HOME,)


@pytest.mark.parametrize(("b", "value"), CASES, ids=[f"{b.field}{bin_label(b)}={v}" for b, v in CASES])
def test_every_bin_scores_its_points(b, value):
    result = score(SPEC, {b.field: value})
    [line] = [line for line in result.lines if line.field == b.field]
    assert (line.bin, line.points) == (bin_label(b), b.points)
    others = sum(missing(v) for v in variables(SPEC) if v != b.field)
    assert result.total == SPEC.base_points + b.points + others


def missing(field):
    """The points a missing value of ``field`` earns by the spec: its own, else the card's."""
    return SPEC.missing_by_field[field] if field in SPEC.missing_by_field else SPEC.missing_points


def test_a_missing_value_scores_missing_points():
    result = score(SPEC, {})
    assert [(line.bin, line.points) for line in result.lines] == [("missing", missing(v)) for v in variables(SPEC)]
    assert result.total == SPEC.base_points + sum(missing(v) for v in variables(SPEC))
    assert result.missing == variables(SPEC)


def test_the_development_counts_are_consistent():
    dev = SPEC.development
    if dev is None:
        pytest.skip("a card typed by hand: no development sample (the monitor lists it without a PSI)")
    assert 0 <= dev.bads <= dev.rows
    assert list(dev.score_edges) == sorted(set(dev.score_edges))
    assert len(dev.score_counts) == len(dev.score_edges) + 1 and sum(dev.score_counts) == dev.rows
    assert set(dev.bin_counts) == set(variables(SPEC))
    for name in variables(SPEC):
        counts = dev.bin_counts[name]
        assert len(counts) == sum(b.field == name for b in SPEC.bins) + 1, name
        assert sum(counts) == dev.rows and min(counts) >= 0, name


def card(settings):
    [spec] = plugin.nongxin_scorecards(ctx=HookContext(HOME, settings=settings))
    return spec


def test_the_role_setting_makes_it_champion_or_challenger():
    assert card({}) == SPEC and not card({}).challenger
    assert not card({"role": "champion"}).challenger
    challenger = card({"role": "challenger"})
    assert challenger.challenger and dataclasses.replace(challenger, challenger=False) == SPEC
    with pytest.raises(ValidationError):
        plugin.Settings().load({"role": "boss"})


@pytest.fixture
def admin(nongxin_client):
    """The province admin; the home county is added to the demo province if it is not there."""
    admin = nongxin_client.as_user("province.admin")
    if admin.get(f"/api/institutions/{HOME}").status_code == 404:
        resp = admin.post("/api/institutions", json={"code": HOME, "name": HOME, "level": "county", "parent": "SD"})
        assert resp.status_code == 201, resp.get_json()
    return admin


def test_discovered_as_a_scorecard_enabled_at_home_only(admin, nongxin_enable):
    listed = {p["name"]: p for p in admin.get(f"/api/plugins?institution={HOME}").get_json()["plugins"]}
    assert listed[NAME]["kind"] == "scorecard"
    nongxin_enable(NAME, HOME, settings={"role": "challenger"})
    bad = admin.put(f"/api/plugins/{NAME}/settings", json={"institution": HOME, "settings": {"role": "boss"}})
    assert bad.status_code == 422 and "role" in bad.get_json()["fields"]
    refused = admin.post(f"/api/plugins/{NAME}/enable", json={"institution": OTHER})
    assert refused.status_code == 422 and refused.get_json()["error"] == "plugin_not_allowed"

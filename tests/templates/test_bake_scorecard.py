"""`nongxin new scorecard --from spec.json` bakes a reviewed spec into an installable plugin whose
own tests pass in a fresh venv; a bad spec (not JSON, a float, a variable the admission stage does
not fill) or no spec at all is refused with nothing written.

The spec is built here from the province's farmer card with a code, segment and development sample
of our own, written with ``spec_to_json`` as ``nongxin scorecard fit`` writes one.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nongxin.core.scaffold import new
from nongxin.plugins.province_scorecards import FARMER
from nongxin.sdk.scorecards import bin_label, spec_to_json, variables
from nongxin.sdk.types import ScorecardBin, ScorecardDevelopment, ScorecardSpec
from tests.templates.test_bake import ROOT, clean_env

PACKAGE = "jinan_salaried_card"


def sample_spec(code: str = "JNRCB-SC-SALARIED", segment: str = "salaried") -> ScorecardSpec:
    """The farmer card's bins under our own code and segment, with a consistent development sample."""
    def counts(name: str) -> tuple[int, ...]:
        bins = sum(b.field == name for b in FARMER.bins)
        return tuple(range(1, bins + 1)) + (1000 - bins * (bins + 1) // 2,)

    return dataclasses.replace(FARMER, code=code, segment=segment, name="济南工薪评分卡", version=2,
                               development=ScorecardDevelopment(
                                   rows=1000, bads=70, score_edges=(500, 560, 620, 680), score_counts=(50, 150, 400, 300, 100),
                                   bin_counts={name: counts(name) for name in variables(FARMER)}, fitted_on="2026-11-01"))


def write_spec(folder: Path, text: str | None = None, **kw: str) -> Path:
    path = folder / "spec.json"
    path.write_text(spec_to_json(sample_spec(**kw)) if text is None else text, encoding="utf-8")
    return path


def bake(spec: Path | None, out: Path, *values: str) -> object:
    args = ["scorecard", "--no-input", "--output-dir", str(out), *values]
    return CliRunner().invoke(new, args if spec is None else [*args, "--from", str(spec)])


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scorecard")
    result = bake(write_spec(folder), folder / "out", f"package_name={PACKAGE}", "institution=JNRCB")
    assert result.exit_code == 0, result.output
    return folder / "out" / PACKAGE.replace("_", "-")


def test_the_package_ships_the_reviewed_file_and_describes_it(baked: Path) -> None:
    for path in baked.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text and "{%" not in text and "<!-- the card" not in text, path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert (baked / PACKAGE / "spec.json").read_bytes() == (baked.parent.parent / "spec.json").read_bytes()
    setup = (baked / "setup.cfg").read_text(encoding="utf-8")
    assert f"{PACKAGE} = {PACKAGE}.plugin" in setup and f"{PACKAGE} = spec.json" in setup
    plugin = (baked / PACKAGE / "plugin.py").read_text(encoding="utf-8")
    assert 'OWNER = "JNRCB"' in plugin and "PluginKind.SCORECARD" in plugin and "import nongxin.core" not in plugin
    assert "from nongxin.core" not in plugin and "from nongxin.plugins" not in plugin  # the SDK only
    readme = (baked / "README.md").read_text(encoding="utf-8")
    assert "JNRCB-SC-SALARIED" in readme and "role=challenger" in readme
    for b in FARMER.bins:
        assert f"| `{b.field}` |" in readme and f"`{bin_label(b)}` | {b.points} |" in readme


def test_names_and_version_default_from_the_spec(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, code="LYRCB-SC-FARMER-2", segment="farmer")
    result = bake(spec, tmp_path / "out")
    assert result.exit_code == 0, result.output
    root = tmp_path / "out" / "lyrcb-sc-farmer-2-scorecard"
    assert 'OWNER = "LYRCB"' in (root / "lyrcb_sc_farmer_2_scorecard" / "plugin.py").read_text(encoding="utf-8")
    assert "version = 2.0.0" in (root / "setup.cfg").read_text(encoding="utf-8")


def test_template_syntax_in_the_spec_is_shipped_verbatim(tmp_path: Path) -> None:
    """The spec's text is data, never a template: a name or value holding Jinja survives byte for byte."""
    hostile = dataclasses.replace(sample_spec(), name='卡 {{ cookiecutter.package_name }} {% raw %} """',
                                  bins=(*FARMER.bins, ScorecardBin("main_business", None, None, 5, ("{{ x }}", "a|b"))))
    hostile = dataclasses.replace(hostile, development=None)
    spec = write_spec(tmp_path, spec_to_json(hostile))
    result = bake(spec, tmp_path / "out", f"package_name={PACKAGE}")
    assert result.exit_code == 0, result.output
    root = tmp_path / "out" / PACKAGE.replace("_", "-")
    assert (root / PACKAGE / "spec.json").read_bytes() == spec.read_bytes()
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert '**卡 {{ cookiecutter.package_name }} {% raw %} """**' in readme and "`{{{ x }}, a\\|b}` | 5 |" in readme


BAD_POINTS = json.loads(spec_to_json(sample_spec()))
BAD_POINTS["bins"][3]["points"] = 12.5
UNKNOWN = json.loads(spec_to_json(sample_spec()))
UNKNOWN["bins"][0]["field"] = UNKNOWN["bins"][1]["field"] = "favourite_colour"
UNCOUNTED = json.loads(spec_to_json(sample_spec()))
UNCOUNTED["development"]["bin_counts"]["age"] = UNCOUNTED["development"]["bin_counts"]["age"][:-1]
EXTRA = json.loads(spec_to_json(sample_spec()))
EXTRA["development"]["bin_counts"]["tax_grade"] = [1000]


@pytest.mark.parametrize(("text", "said"), [
    ("{not json", "not a JSON spec file"),
    (json.dumps(BAD_POINTS), "spec.bins[3].points: expected int, got float"),
    (json.dumps(UNKNOWN), "favourite_colour is not an admission fact"),
    (json.dumps({"code": "X"}), "missing 3 required"),
    (json.dumps(UNCOUNTED), "spec.development.bin_counts.age: need 6 counts"),
    (json.dumps(EXTRA), "spec.development.bin_counts.tax_grade: not a variable of the card"),
], ids=["not-json", "float-points", "unknown-variable", "incomplete", "development-counts", "development-extra"])
def test_a_bad_spec_is_refused_naming_the_bad_value(tmp_path: Path, text: str, said: str) -> None:
    spec = write_spec(tmp_path, text)
    out = tmp_path / "out"
    result = bake(spec, out, f"package_name={PACKAGE}")
    assert result.exit_code == 1, result.output
    assert f"error: {spec}: " in result.output and said in result.output and "nothing was generated" in result.output
    assert not out.exists()


def test_no_spec_says_to_fit_one_first_and_bad_names_are_refused(tmp_path: Path) -> None:
    result = bake(None, tmp_path / "out")
    assert result.exit_code == 2 and "nongxin scorecard fit" in result.output and "--from SPEC" in result.output
    missing = bake(tmp_path / "nowhere.json", tmp_path / "out")
    assert missing.exit_code == 1 and "cannot read the spec" in missing.output
    spec = write_spec(tmp_path)
    for value in ("package_name=my-card", "institution=jnrcb", "colour=red", "_spec_json={}"):
        refused = bake(spec, tmp_path / "out", value)
        assert refused.exit_code == 2 and "nothing was generated" in refused.output, (value, refused.output)
    assert not (tmp_path / "out").exists()


def test_the_templates_own_hook_refuses_a_missing_or_foreign_spec(tmp_path: Path) -> None:
    """Someone running cookiecutter on the template directly gets the same refusals."""
    from importlib.resources import as_file, files

    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    for spec in ("", json.dumps(UNKNOWN)):
        with as_file(files("nongxin.templates") / "scorecard") as template, pytest.raises(FailedHookException):
            cookiecutter(str(template), no_input=True, output_dir=str(tmp_path), default_config=True,
                         extra_context={"_spec_json": spec})
    assert not any(tmp_path.iterdir())


def test_the_baked_package_tests_pass_in_a_fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The one slow test, as a county developer works: the core installed (not editable) in a new
    venv, the package baked by that venv's `nongxin new scorecard` (the templates and hooks the
    wheel carries), installed, its own tests run there, and `nongxin plugins check` loading it."""
    env_dir = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python, nongxin = env_dir / "bin" / "python", env_dir / "bin" / "nongxin"

    def run(*args: str | Path, cwd: Path = env_dir, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(list(map(str, args)), cwd=cwd, capture_output=True, text=True, env={**clean_env(), **env})
        assert done.returncode == 0, (args, done.stdout[-4000:] + done.stderr[-2000:])
        return done

    run(python, "-m", "pip", "install", "-q", ROOT, "pytest")
    spec = write_spec(env_dir)
    run(nongxin, "new", "scorecard", "--from", spec, "--no-input", "--output-dir", env_dir / "out",
        f"package_name={PACKAGE}", "institution=JNRCB")
    baked = env_dir / "out" / PACKAGE.replace("_", "-")
    assert (baked / PACKAGE / "spec.json").read_bytes() == spec.read_bytes()
    run(python, "-m", "pip", "install", "-q", baked)
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=baked)
    assert f"\n{len(FARMER.bins) + 5} passed in " in tests.stdout and "skipped" not in tests.stdout, tests.stdout[-2000:]
    check = run(nongxin, "plugins", "check", NONGXIN_DATABASE_URL=f"sqlite:///{env_dir / 'check.db'}")
    assert f"ok      {PACKAGE} 2.0.0" in check.stdout, check.stdout

def test_help_lists_every_key_and_the_from_option() -> None:
    from importlib.resources import files

    spec = json.loads((files("nongxin.templates") / "scorecard" / "cookiecutter.json").read_text(encoding="utf-8"))
    result = CliRunner().invoke(new, ["scorecard", "--help"])
    assert result.exit_code == 0 and "--from SPEC" in result.output, result.output
    listed = result.output.split("Keys this template takes:", 1)[1]
    for key in (k for k in spec if not k.startswith("_")):
        assert f"  {key} " in listed and spec["__prompts__"][key] in listed, key
    assert "_spec_json" not in listed

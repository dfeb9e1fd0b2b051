"""`nongxin new` really bakes installable plugins: each one's own tests pass in a fresh venv.

One virtual environment for the session (the core installed from this checkout, not editable, plus
the three baked packages), because a county developer gets the templates from an installed core,
never from a checkout; pip's cache keeps it quick.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nongxin.core.scaffold import new

ROOT = Path(__file__).resolve().parents[2]
BAKES = {
    "product": ("jinan_salary_loan", ["institution=JNRCB", "product_name=工薪贷", "ceiling=200000"]),
    "connector": ("taian_court_connector", ["institution=TARCB", "description=法院执行信息"]),
    "rules": ("zibo_rules", ["institution=ZBRCB", "rule_prefix=ZB"]),  # a county not in the demo tree
}


def bake(kind: str, out: Path, *values: str) -> object:
    return CliRunner().invoke(new, [kind, "--no-input", "--output-dir", str(out), *values])


def clean_env() -> dict[str, str]:
    """The baked tests must use their own SQLite files, whatever database this session uses."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("NONGXIN_", "PYTEST_", "PYTHONPATH"))}


@pytest.fixture(scope="session")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("baked")
    made = {}
    for kind, (package, values) in BAKES.items():
        result = bake(kind, out, f"package_name={package}", *values)
        assert result.exit_code == 0, result.output
        made[kind] = out / package.replace("_", "-")
    return made


@pytest.fixture(scope="session")
def venv(baked: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(ROOT), "pytest", *map(str, baked.values())],
        capture_output=True, text=True, env=clean_env())
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


@pytest.mark.parametrize("kind", sorted(BAKES))
def test_baked_files_are_rendered(baked: dict[str, Path], kind: str) -> None:
    root = baked[kind]
    package = BAKES[kind][0]
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "{{" not in text and "{%" not in text, path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert f"{package} = {package}.plugin" in (root / "setup.cfg").read_text(encoding="utf-8")
    assert (root / "tests" / f"test_{package}.py").is_file()


@pytest.mark.parametrize("value", [
    "package_name=my loan",       # a space
    "package_name=1st_loan",      # a leading digit
    "package_name=my-loan",       # a hyphen in a package name
    "package_name=nongxin",       # would shadow the core
    "project_slug=my loan",
    "institution=jnrcb",
])
def test_bad_names_are_refused_before_anything_is_written(tmp_path: Path, value: str) -> None:
    out = tmp_path / "out"
    result = bake("product", out, value)
    assert result.exit_code == 2, result.output
    key = value.partition("=")[0]
    assert f"error: {key} " in result.output and "nothing was generated" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_unknown_key_and_existing_folder_are_refused(tmp_path: Path) -> None:
    result = bake("rules", tmp_path, "colour=red")
    assert result.exit_code == 2 and "unknown key 'colour'" in result.output
    assert bake("rules", tmp_path).exit_code == 0
    again = bake("rules", tmp_path)
    assert again.exit_code == 2 and "already exists" in again.output
    assert bake("rules", tmp_path, "not-an-assignment").exit_code == 2


def test_the_templates_own_hook_refuses_bad_names(tmp_path: Path) -> None:
    """Someone running cookiecutter on the template directly gets the same refusal."""
    from importlib.resources import as_file, files

    from cookiecutter.exceptions import FailedHookException
    from cookiecutter.main import cookiecutter

    with as_file(files("nongxin.templates") / "connector") as template, pytest.raises(FailedHookException):
        cookiecutter(str(template), no_input=True, output_dir=str(tmp_path), default_config=True,
                     extra_context={"package_name": "bad-name", "project_slug": "bad-name"})
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("kind", sorted(BAKES))
def test_baked_package_tests_pass_in_a_fresh_venv(venv: Path, baked: dict[str, Path], kind: str) -> None:
    run = subprocess.run([str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=baked[kind], capture_output=True, text=True, env=clean_env())
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout


def test_plugins_check_lists_every_baked_plugin_as_ok(venv: Path, tmp_path: Path) -> None:
    env = {**clean_env(), "NONGXIN_DATABASE_URL": f"sqlite:///{tmp_path / 'check.db'}"}
    run = subprocess.run([str(venv / "bin" / "nongxin"), "plugins", "check"], cwd=tmp_path,
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    for package, _ in BAKES.values():
        assert f"ok      {package} 0.1.0" in run.stdout, run.stdout


@pytest.mark.parametrize("kind", ["product", "connector", "rules"])
def test_help_lists_every_key_the_template_takes(kind: str) -> None:
    import json
    from importlib.resources import files

    spec = json.loads((files("nongxin.templates") / kind / "cookiecutter.json").read_text(encoding="utf-8"))
    result = CliRunner().invoke(new, [kind, "--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Keys this template takes:", 1)[1]
    for key in (k for k in spec if not k.startswith("_")):
        assert f"  {key} " in listed, f"{key} missing from `nongxin new {kind} --help`"
        assert spec["__prompts__"][key] in listed

"""Guards of the SDK's public contract."""

import ast
import inspect
import re
from pathlib import Path

import nongxin.sdk
from nongxin.sdk import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(n for n in dir(hookspecs) if n.startswith("nongxin_"))


def test_public_surface_is_exactly_all():
    public = {n for n in vars(nongxin.sdk) if not n.startswith("_") and n not in {"markers", "types", "hookspecs"}}
    public -= {m for m in public if inspect.ismodule(getattr(nongxin.sdk, m))}
    assert public | {"__version__"} == set(nongxin.sdk.__all__)
    assert len(set(nongxin.sdk.__all__)) == len(nongxin.sdk.__all__)


def test_every_hook_documents_each_parameter_and_its_failure_policy():
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        params = inspect.signature(getattr(hookspecs, name)).parameters
        for param in params:
            assert re.search(rf"^\s*{param}:", doc, re.M), f"{name} does not document {param}"
        assert "Failure policy" in doc, name
        assert name in hookspecs.FAILURE_POLICY, name


def test_every_hook_is_in_the_readme_reference():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in HOOKS if f"`{name}" not in readme]
    assert not missing, f"hooks missing from README's hook reference: {missing}"


def _imports(folder: Path):
    for path in folder.rglob("*.py"):
        if "{{" in str(path):  # cookiecutter sources are not Python until baked
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                yield path, [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield path, [node.module]


def test_sdk_plugins_and_examples_never_import_the_core():
    offenders = []
    for folder in ("sdk", "plugins", "examples", "templates"):
        for path, names in _imports(ROOT / folder):
            if "/tests/" in str(path) or "{{" in str(path):
                continue
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.startswith(("nongxin.core", "flask", "sqlalchemy"))]
    assert not offenders

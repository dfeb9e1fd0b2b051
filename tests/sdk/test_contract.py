"""Guards of the SDK's public contract."""

import ast
import inspect
import re
from pathlib import Path

import pytest

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


def _reference_rows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Hook reference"):]
    section = section[:section.index("\n## ")]
    row = re.compile(r"^\| `(nongxin_\w+)\(([^)]*)\)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| [^|]+ \|$", re.M)
    return {m.group(1): m.groups()[1:] for m in row.finditer(section)}


POLICY_TEXT = {hookspecs.FAIL_CLOSED: "fail closed", hookspecs.SKIP_AND_LOG: "skip and log"}


def test_every_hook_is_in_the_readme_reference():
    rows = _reference_rows()
    missing = [name for name in HOOKS if name not in rows]
    assert not missing, f"hooks missing from README's hook reference: {missing}"
    assert set(rows) == set(HOOKS), f"README lists hooks the SDK does not have: {set(rows) - set(HOOKS)}"


@pytest.mark.parametrize("name", HOOKS)
def test_readme_reference_matches_each_hooks_signature_kind_returns_and_policy(name):
    args, kind, returns, policy = (part.strip() for part in _reference_rows()[name])
    spec = getattr(hookspecs, name)
    assert [a.strip() for a in args.split(",")] == list(inspect.signature(spec).parameters), name
    firstresult = spec.nongxin_spec.get("firstresult", False)
    expected_kind = "first result" if firstresult else "notify" if name.startswith("nongxin_on_") else "collect"
    assert kind == expected_kind, name
    assert policy == POLICY_TEXT[hookspecs.FAILURE_POLICY[name]], name
    annotation = spec.__annotations__["return"]
    assert returns == " or ".join(f"`{t.strip()}`" for t in annotation.split("|")), name


def test_hook_specs_are_typed_without_any_for_rules_or_bureau_types():
    import typing

    from nongxin.sdk import bureau, rules

    for name in HOOKS:
        hints = typing.get_type_hints(getattr(hookspecs, name), vars(hookspecs) | vars(bureau) | {"Rule": rules.Rule}
                                      | vars(nongxin.sdk.types))
        for param, hint in hints.items():
            if param != "facts":  # facts are a flat mapping of values of any type, by design
                assert hint is not typing.Any and "Any]" not in str(hint), f"{name}.{param} is {hint}"


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

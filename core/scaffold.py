"""`nongxin new`: start a county bank's plugin package from the templates shipped with the core.

The templates live in the ``nongxin.templates`` package data, so a county developer who installed
the core from a wheel has exactly the templates matching their core's hook contract, with no
network access to a template repository. Names are checked before cookiecutter writes anything:
a package that could never be imported or an entry point the core could never load is cheaper to
refuse here than to debug after ``pip install``.

``nongxin new scorecard --from SPEC`` bakes a scorecard (``nongxin scorecard fit``'s spec file) into
a plugin: the spec is checked first (``spec_problems``: readable by ``spec_from_json``, every
variable an admission fact), and the file itself, byte for byte, becomes the package's
``spec.json``, so the file that was reviewed is the file that runs.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Mapping, NoReturn

from nongxin.sdk.naming import problems
from nongxin.sdk.scorecard_files import spec_problems
from nongxin.sdk.types import ScorecardSpec

import click

KINDS: dict[str, str] = {
    "product": "a loan product: products, findings, limit and price hooks",
    "connector": "an external data connector (tax, registries, courts, ...)",
    "rules": "a rule pack in the rule language, with thresholds in settings",
}

class ScaffoldError(Exception):
    """Bad input for a template; carries every problem so the user fixes them in one go."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_assignments(items: tuple[str, ...] | list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    bad = [item for item in items if "=" not in item or not item.partition("=")[0]]
    if bad:
        raise ScaffoldError([f"{item!r} is not KEY=VALUE" for item in bad])
    for item in items:
        key, _, value = item.partition("=")
        values[key.strip()] = value
    return values


def template_keys(template: Path) -> list[str]:
    """The keys a user may set: cookiecutter.json's, less the private ``_`` ones."""
    spec = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    return [key for key in spec if not key.startswith("_")]


def key_lines(template: Path, derived: Mapping[str, str] | None = None) -> list[str]:
    """One help line per key: its prompt and default (or choices), read from cookiecutter.json;
    ``derived`` says where a key's default comes from instead (the scorecard's spec)."""
    spec = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    prompts = spec.get("__prompts__", {})
    keys = template_keys(template)
    width = max(map(len, keys), default=0)
    lines = []
    for key in keys:
        default = spec[key]
        if derived and key in derived:
            hint = f"default: {derived[key]}"
        elif isinstance(default, list):
            hint = f"one of: {', '.join(map(str, default))}; default {default[0]}"
        elif "{{" in str(default):
            hint = "default: derived from the keys above"
        else:
            hint = f"default: {default}"
        lines.append(f"  {key:<{width}}  {prompts.get(key, key)} [{hint}]")
    return lines


def answers_for(template: Path, values: Mapping[str, str], no_input: bool) -> dict[str, Any]:
    """Prompt (or not) exactly as cookiecutter would, so derived defaults can be checked first."""
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    keys = template_keys(template)
    unknown = sorted(set(values) - set(keys))
    if unknown:
        raise ScaffoldError([f"unknown key {key!r}; this template takes: {', '.join(keys)}" for key in unknown])
    try:
        context = generate_context(str(template / "cookiecutter.json"), extra_context=dict(values))
    except ValueError as exc:  # e.g. a choice variable given a value not among its choices
        raise ScaffoldError([str(exc)]) from None
    answers = prompt_for_config(context, no_input=no_input)
    return {key: answers[key] for key in keys}


def bake(kind: str, values: Mapping[str, str], *, output_dir: Path, no_input: bool,
         private: Mapping[str, str] | None = None) -> Path:
    """Generate a plugin package of ``kind`` under ``output_dir``; nothing is written on error.

    ``private``: the template's ``_`` keys (never prompted for), e.g. the scorecard's spec text."""
    from cookiecutter.exceptions import CookiecutterException
    from cookiecutter.main import cookiecutter

    with as_file(files("nongxin.templates") / kind) as template:
        answers = answers_for(template, values, no_input)
        found = problems(answers)
        target = output_dir / str(answers.get("project_slug", ""))
        if not found and target.exists():
            found.append(f"{target} already exists; choose another project_slug or --output-dir")
        if found:
            raise ScaffoldError(found)
        output_dir.mkdir(parents=True, exist_ok=True)
        try:
            made = cookiecutter(str(template), no_input=True, extra_context={**answers, **(private or {})},
                                output_dir=str(output_dir), default_config=True)
        except CookiecutterException as exc:
            raise ScaffoldError([f"{type(exc).__name__}: {exc}"]) from None
    return Path(made)


def _refuse(exc: ScaffoldError) -> NoReturn:
    _fail(exc.problems, status=2)


def _command(kind: str, summary: str) -> click.Command:
    with as_file(files("nongxin.templates") / kind) as template:
        keys = "\n".join(key_lines(template))
    @click.command(kind, help=f"Create a plugin package for {summary}.\n\n"
                              "Prompts for each value unless --no-input; KEY=VALUE pairs preset answers "
                              f"(e.g. package_name=my_{kind} institution=JNRCB).\n\n"
                              f"Keys this template takes:\n\n\b\n{keys}")
    @click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
    @click.option("--no-input", is_flag=True, help="Do not prompt; use KEY=VALUE pairs and the defaults.")
    @click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                  show_default=True, help="Folder to create the package folder in.")
    def command(assignments: tuple[str, ...], no_input: bool, output_dir: Path) -> None:
        try:
            made = bake(kind, parse_assignments(assignments), output_dir=output_dir, no_input=no_input)
        except ScaffoldError as exc:
            _refuse(exc)
        click.echo(f"created {made}")
        click.echo(f"next: pip install -e {made} && (cd {made} && pytest) && nongxin plugins check")

    return command


# -- nongxin new scorecard --from SPEC ----------------------------------------------------------

#: Where ``spec_defaults`` takes each default from, for ``--help``.
SPEC_DERIVED = {"package_name": "the spec's code, in lower case, + _scorecard",
                "institution": "the first part of the spec's code", "version": "the spec's version, as N.0.0"}


def spec_defaults(spec: ScorecardSpec) -> dict[str, str]:
    """Answers taken from the spec: the package (and plugin) name from its code, the county bank
    from the code's first part (``JNRCB-SC-FARMER``: JNRCB), the plugin's version from the card's."""
    slug = re.sub(r"[^a-z0-9]+", "_", spec.code.lower()).strip("_")
    if not slug[:1].isalpha():
        slug = f"sc_{slug}".rstrip("_")
    package = slug if "scorecard" in slug else f"{slug}_scorecard"
    return {"package_name": package, "institution": re.split(r"[-_.]", spec.code.strip(), maxsplit=1)[0].upper(),
            "version": f"{spec.version}.0.0"}


def _fail(problems: list[str], *, status: int) -> NoReturn:
    for problem in problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    click.echo("nothing was generated", err=True)
    sys.exit(status)


def _scorecard_command() -> click.Command:
    with as_file(files("nongxin.templates") / "scorecard") as template:
        keys = "\n".join(key_lines(template, SPEC_DERIVED))

    @click.command("scorecard", help="Create a plugin package shipping a scorecard spec file "
                                     "(`nongxin scorecard fit` writes one) as a champion or a challenger.\n\n"
                                     "The spec is checked first (every value, and every variable an admission "
                                     "fact); the package name, county bank and version default from it, and "
                                     "KEY=VALUE pairs override them (e.g. institution=JNRCB).\n\n"
                                     f"Keys this template takes:\n\n\b\n{keys}")
    @click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
    @click.option("--from", "spec_path", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC",
                  help="The scorecard spec file (JSON, as `nongxin scorecard fit` writes it).")
    @click.option("--no-input", is_flag=True, help="Do not prompt; use KEY=VALUE pairs and the defaults.")
    @click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
                  show_default=True, help="Folder to create the package folder in.")
    def command(assignments: tuple[str, ...], spec_path: Path | None, no_input: bool, output_dir: Path) -> None:
        if spec_path is None:
            raise click.UsageError("a scorecard plugin ships a spec: fit one first (`nongxin scorecard fit DATA "
                                   "--target COLUMN --segment NAME` writes spec.json) or give yours with --from SPEC")
        try:
            text = spec_path.read_bytes().decode("utf-8")  # bytes: the package ships exactly this text
        except (OSError, UnicodeDecodeError) as exc:
            _fail([f"{spec_path}: cannot read the spec: {exc}"], status=1)
        spec, found = spec_problems(text)
        if spec is None:
            _fail([f"{spec_path}: {problem}" for problem in found], status=1)
        try:
            values = {**spec_defaults(spec), **parse_assignments(assignments)}
            made = bake("scorecard", values, output_dir=output_dir, no_input=no_input, private={"_spec_json": text})
        except ScaffoldError as exc:
            _refuse(exc)
        click.echo(f"created {made} ({spec.code} v{spec.version}, segment {spec.segment})")
        click.echo(f"next: pip install -e {made} && (cd {made} && pytest) && nongxin plugins check")

    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def new() -> None:
    """Create a county bank's plugin package from a template (product, connector, rules or scorecard)."""


for _kind, _summary in KINDS.items():
    new.add_command(_command(_kind, _summary))
new.add_command(_scorecard_command())

"""`nongxin new`: start a county bank's plugin package from the templates shipped with the core.

The templates live in the ``nongxin.templates`` package data, so a county developer who installed
the core from a wheel has exactly the templates matching their core's hook contract, with no
network access to a template repository. Names are checked before cookiecutter writes anything:
a package that could never be imported or an entry point the core could never load is cheaper to
refuse here than to debug after ``pip install``.
"""

from __future__ import annotations

import json
import sys
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Mapping, NoReturn

from nongxin.sdk.naming import problems

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


def key_lines(template: Path) -> list[str]:
    """One help line per key: its prompt and default (or choices), read from cookiecutter.json."""
    spec = json.loads((template / "cookiecutter.json").read_text(encoding="utf-8"))
    prompts = spec.get("__prompts__", {})
    keys = template_keys(template)
    width = max(map(len, keys), default=0)
    lines = []
    for key in keys:
        default = spec[key]
        if isinstance(default, list):
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


def bake(kind: str, values: Mapping[str, str], *, output_dir: Path, no_input: bool) -> Path:
    """Generate a plugin package of ``kind`` under ``output_dir``; nothing is written on error."""
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
            made = cookiecutter(str(template), no_input=True, extra_context=answers,
                                output_dir=str(output_dir), default_config=True)
        except CookiecutterException as exc:
            raise ScaffoldError([f"{type(exc).__name__}: {exc}"]) from None
    return Path(made)


def _refuse(exc: ScaffoldError) -> NoReturn:
    for problem in exc.problems:
        click.secho(f"error: {problem}", fg="red", err=True)
    click.echo("nothing was generated", err=True)
    sys.exit(2)


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def new() -> None:
    """Create a county bank's plugin package from a template (product, connector or rules)."""


for _kind, _summary in KINDS.items():
    new.add_command(_command(_kind, _summary))

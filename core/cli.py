"""The `nongxin` command: what provincial IT runs at the console and from cron."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterator

import click

from nongxin.core.audit.chain import session_factory
from nongxin.core.config import Settings, ensure_demo_key_file
from nongxin.core.db import UnitOfWork, make_engine
from nongxin.core.errors import NongxinError

if TYPE_CHECKING:
    from nongxin.core.auth import Principal
    from nongxin.core.plugin_state.services import PluginDirectory


class Console:
    """Opened lazily so `--help` works without a database."""

    def __init__(self, settings: Settings) -> None:
        settings.check()  # the same refusals as the app: a weak production secret stops every command
        from nongxin.core.logmask import install_on_loggers

        install_on_loggers()  # what a command logs has identity numbers masked, as in the app
        self.settings = settings
        self.engine = make_engine(settings.database_url)
        self.sessions = session_factory(self.engine, settings.keyring())

    @property
    def plugins(self) -> "PluginDirectory":
        if not hasattr(self, "_plugins"):
            from nongxin.core.app import _plugins

            self._plugins = _plugins(self.settings, (), True)
        return self._plugins

    def require_schema(self) -> None:
        """Before the first read: a database without the current schema is a one-line error naming
        the command to run, not a traceback (and an empty SQLite file is not created)."""
        if getattr(self, "_schema_ok", False):
            return
        from nongxin.core.errors import ConfigurationError
        from nongxin.core.migrate import schema_problem

        problem = schema_problem(self.engine)
        if problem:
            raise ConfigurationError(problem, code="schema_not_current")
        self._schema_ok = True

    @contextmanager
    def uow(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        self.require_schema()
        with UnitOfWork(self.sessions, write=write) as unit:
            yield unit


def _console(ctx: click.Context) -> Console:
    if ctx.obj is None:
        ctx.obj = Console(Settings.from_env())
    return ctx.obj


def _fail(exc: NongxinError) -> None:
    click.secho(f"error: {exc.message}", fg="red", err=True)
    for field, reasons in exc.fields.items():
        click.echo(f"  {field}: {'; '.join(map(str, reasons)) if isinstance(reasons, list) else reasons}", err=True)
    sys.exit(2)


class Group(click.Group):
    """Turns the core's errors into a clear message and exit status 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NongxinError as exc:
            _fail(exc)
            return None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nongxin")
def main() -> None:
    """Nongxin 农信: the provincial credit platform for rural commercial banks.

    Settings come from the environment: NONGXIN_DATABASE_URL (default sqlite:///nongxin.db in the
    current folder), NONGXIN_SECRET_KEY, NONGXIN_ENV (demo, testing or production).
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, help="Worker threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Serve the API and console with the waitress production server."""
    import logging

    import waitress

    from nongxin.core.app import create_app
    from nongxin.core.logmask import install_on_handlers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_on_handlers()  # every line the server writes, from any logger, has identity numbers masked
    app = create_app()
    from nongxin.core.errors import ConfigurationError
    from nongxin.core.migrate import schema_problem

    problem = schema_problem(app.extensions["nongxin"].engine)
    if problem:
        raise ConfigurationError(f"not serving: {problem}", code="schema_not_current")
    click.echo(f"Nongxin serving on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    waitress.serve(app, host=host, port=port, threads=threads)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Create and seed the database, then stop.")
@click.pass_context
def demo(ctx: click.Context, host: str, port: int, no_serve: bool) -> None:
    """Create the database, seed the demo province, print tokens once, and serve."""
    from nongxin.core import demo as demo_data
    from nongxin.core.migrate import upgrade

    if ctx.obj is None and os.environ.get("NONGXIN_ENV", "demo") == "demo" and not os.environ.get("NONGXIN_AUDIT_KEY"):
        ensure_demo_key_file()  # the demo folder's own audit key, read by every later command here

    from nongxin.core.errors import ConfigurationError

    console = _console(ctx)
    if console.settings.environment == "production":
        raise ConfigurationError("`nongxin demo` seeds a published demo province with printed tokens; it is "
                                 "refused with NONGXIN_ENV=production")
    upgrade(console.engine)
    with console.uow() as unit:
        seeded = demo_data.seed(unit, token_days=min(30, console.settings.token_max_days))
    if seeded:
        click.echo("Demo province seeded. API tokens (shown once; keep them):")
        for user in seeded:
            click.echo(f"  {user.username:<16} {user.role.value:<18} {user.institution:<14} {user.token}")
    else:
        click.echo("Demo database already seeded; issue a new token with: nongxin tokens issue USERNAME")
    if not no_serve:
        ctx.invoke(serve, host=host, port=port)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create the schema or bring it up to date (safe to run again)."""
    from nongxin.core.migrate import current, upgrade

    console = _console(ctx)
    upgrade(console.engine, revision)
    click.echo(f"database at revision {current(console.engine)} ({console.engine.url.render_as_string()})")


@main.group()
def institutions() -> None:
    """Institution tree commands."""


@institutions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--partial", is_flag=True,
              help="Import the good rows even if some rows are bad (default: all or nothing).")
@click.pass_context
def institutions_import(ctx: click.Context, file: Path, partial: bool) -> None:
    """Import institutions from a CSV or .xlsx file with columns code,name,level,parent.

    CSV may be UTF-8 (with or without BOM) or GBK/GB18030, as Excel saves it in China; the
    encoding is detected. Parents must be listed before their children or exist already. Levels:
    province, city, county, branch, grid. A value beyond the four columns is an error on its line.
    """
    from rich.progress import Progress

    from nongxin.core.institutions.importer import ImportRejected, import_table, read_tree

    console = _console(ctx)
    table = read_tree(file)
    with console.uow() as unit, Progress(transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=len(table.rows))
        try:
            report = import_table(unit, _operator(unit), table, partial=partial,
                                  progress=lambda n: progress.advance(task, n))
        except ImportRejected as exc:
            for err in exc.report.errors:
                click.secho(f"  {err}", fg="red", err=True)
            click.secho(f"error: {len(exc.report.errors)} bad row(s); nothing was imported "
                        "(use --partial to import the good rows)", fg="red", err=True)
            sys.exit(2)
    for err in report.errors:
        click.secho(f"  skipped {err}", fg="yellow", err=True)
    click.echo(f"imported {len(report.imported)} institution(s), skipped {len(report.errors)} bad row(s)")
    if report.errors:
        sys.exit(1)


def _operator(unit: UnitOfWork) -> "Principal | None":
    """The console operator acts for the province; on an empty database, as the bootstrapper."""
    import getpass

    from nongxin.core.auth import system_principal
    from nongxin.core.institutions.services import root

    top = root(unit.session)
    return system_principal(top, f"cli:{getpass.getuser()}") if top else None


def _province_operator(unit: UnitOfWork) -> "Principal":
    """Commands other than the bootstrap ones need the tree to exist."""
    from nongxin.core.errors import ConfigurationError

    operator = _operator(unit)
    if operator is None:
        raise ConfigurationError("the database has no institutions yet: run `nongxin db upgrade`, then "
                                 "`nongxin institutions import FILE` (or `nongxin demo`)")
    return operator


@main.group()
def users() -> None:
    """User commands."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, help="province_admin, county_admin, product_manager, "
              "parameter_admin, customer_manager, reviewer, approver or post_loan_checker")
@click.option("--institution", required=True, help="Code of the user's institution.")
@click.option("--name", "display_name", default="", help="Display name (Chinese is fine).")
@click.pass_context
def users_create(ctx: click.Context, username: str, role: str, institution: str, display_name: str) -> None:
    """Create a user at an institution with one role."""
    from nongxin.core.institutions.users import create_user, parse_role

    with _console(ctx).uow() as unit:
        create_user(unit, _operator(unit), username=username, display_name=display_name,
                    role=parse_role(role), institution_code=institution)
        unit.commit()
    click.echo(f"created user {username} ({role}) at {institution}")


@main.group()
def tokens() -> None:
    """API token commands."""


@tokens.command("issue")
@click.argument("username")
@click.option("--days", type=int, default=None,
              help="Days until the token expires (default: NONGXIN_TOKEN_DAYS; at most NONGXIN_TOKEN_MAX_DAYS).")
@click.pass_context
def tokens_issue(ctx: click.Context, username: str, days: int | None) -> None:
    """Issue an API token for USERNAME and print it once."""
    from nongxin.core.institutions.users import issue_token_for

    console = _console(ctx)
    with console.uow() as unit:
        plain, token = issue_token_for(unit, _province_operator(unit), username,
                                       days=console.settings.token_days if days is None else days,
                                       max_days=console.settings.token_max_days)
        unit.commit()
    click.echo(plain)
    click.echo(f"(prefix {token.prefix}, expires {token.expires_at:%Y-%m-%d}; it is not stored and "
               "cannot be shown again)", err=True)


@tokens.command("revoke")
@click.argument("token_or_prefix")
@click.pass_context
def tokens_revoke(ctx: click.Context, token_or_prefix: str) -> None:
    """Revoke a token, given the token or its first 10 characters."""
    from nongxin.core.institutions.users import revoke_token

    with _console(ctx).uow() as unit:
        token = revoke_token(unit, token_or_prefix, principal=_province_operator(unit))
        owner = token.user.username
        unit.commit()
    click.echo(f"revoked token {token.prefix} of {owner}")


@main.group()
def audit() -> None:
    """Audit trail commands."""


@audit.command("head")
@click.pass_context
def audit_head(ctx: click.Context) -> None:
    """Print each chain's anchor (NAME=LENGTH:HASH); keep them outside the database for
    `verify --anchor`."""
    from nongxin.core.audit.chain import GENESIS, head
    from nongxin.core.audit.services import chains

    with _console(ctx).uow(write=False) as unit:
        for name, chain in chains().items():
            anchor = head(unit.session, chain)
            click.echo(f"{name}={anchor or f'0:{GENESIS}'}")


@audit.command("verify")
@click.option("--anchor", "anchors", multiple=True, metavar="NAME=LENGTH:HASH",
              help="An anchor printed earlier by `nongxin audit head` (a bare LENGTH:HASH is the "
                   "audit_log's); detects deleted newest entries. Repeat for each chain.")
@click.pass_context
def audit_verify(ctx: click.Context, anchors: tuple[str, ...]) -> None:
    """Check every keyed hash chain (the audit log and the credit-bureau query log); exit 1 naming
    each changed, forged or missing entry."""
    from nongxin.core.audit.chain import Anchor, verify
    from nongxin.core.audit.services import chains
    from nongxin.core.errors import invalid

    known = chains()
    parsed: dict[str, Anchor] = {}
    for text in anchors:
        name, _, value = text.rpartition("=")
        name = name or "audit_log"
        if name not in known:
            raise invalid("anchor", f"{name!r} is not a chain; chains: {', '.join(known)}")
        try:
            parsed[name] = Anchor.parse(value)
        except ValueError as exc:
            raise invalid("anchor", str(exc)) from None
    broken = 0
    with _console(ctx).uow(write=False) as unit:
        for name, chain in known.items():
            problems = verify(unit.session, chain, parsed.get(name))
            broken += len(problems)
            for problem in problems:
                click.secho(f"  {problem.message}", fg="red", err=True)
            click.echo(f"{name}: {'BROKEN, ' + str(len(problems)) + ' problem(s)' if problems else 'intact'}")
    if broken:
        click.secho(f"audit chains BROKEN: {broken} problem(s)", fg="red", err=True)
        sys.exit(1)
    click.echo("audit chains intact")


@main.group()
def plugins() -> None:
    """Plugin commands: list, switch and configure plugins per institution."""


@plugins.command("list")
@click.option("--institution", default=None, help="Institution code (default: the province).")
@click.pass_context
def plugins_list(ctx: click.Context, institution: str | None) -> None:
    """List plugins with their state at an institution and where it comes from."""
    from rich.console import Console as Rich
    from rich.table import Table

    from nongxin.core.institutions import services as institutions

    console = _console(ctx)
    directory = console.plugins
    with console.uow() as unit:
        operator = _province_operator(unit)
        inst = institutions.visible(unit.session, operator, institution or operator.institution_code)
        states = {s.plugin: s for s in directory.states(unit.session, inst)}
    table = Table(title=f"plugins at {inst.code} {inst.name}")
    for column in ("plugin", "version", "kind", "state", "source", "hooks"):
        table.add_column(column)
    for name, plugin in sorted(directory.host.loaded.items()):
        state = states[name]
        table.add_row(name, plugin.info.version, plugin.info.kind.value,
                      "enabled" if state.enabled else "disabled", state.enabled_source, ", ".join(plugin.hooks))
    for failed in directory.host.failed.values():
        table.add_row(failed.name, "", "", "FAILED", failed.reason, "")
    Rich(width=None if sys.stdout.isatty() else 200).print(table)


def _switch(ctx: click.Context, name: str, institution: str, enabled: bool | None) -> None:
    console = _console(ctx)
    with console.uow() as unit:
        state = console.plugins.switch(unit, _province_operator(unit), name, institution, enabled)
        unit.commit()
    click.echo(f"{name} at {institution}: {'enabled' if state.enabled else 'disabled'} ({state.enabled_source})")


@plugins.command("enable")
@click.argument("name")
@click.option("--institution", required=True, help="Institution code; its subtree follows.")
@click.pass_context
def plugins_enable(ctx: click.Context, name: str, institution: str) -> None:
    """Enable plugin NAME at an institution and its subtree."""
    _switch(ctx, name, institution, True)


@plugins.command("disable")
@click.argument("name")
@click.option("--institution", required=True, help="Institution code; its subtree follows.")
@click.pass_context
def plugins_disable(ctx: click.Context, name: str, institution: str) -> None:
    """Disable plugin NAME at an institution and its subtree."""
    _switch(ctx, name, institution, False)


@plugins.command("settings")
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--institution", required=True, help="Institution code.")
@click.pass_context
def plugins_settings(ctx: click.Context, name: str, assignments: tuple[str, ...], institution: str) -> None:
    """Show plugin NAME's settings at an institution, or set KEY=VALUE pairs (VALUE as JSON if it parses)."""
    import json

    from nongxin.core.errors import invalid
    from nongxin.core.institutions import services as institutions

    console = _console(ctx)
    values = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise invalid("settings", f"{item!r} is not KEY=VALUE")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    with console.uow() as unit:
        operator = _province_operator(unit)
        if values:
            state = console.plugins.set_settings(unit, operator, name, institution, values)
            unit.commit()
        else:
            inst = institutions.visible(unit.session, operator, institution)
            console.plugins._plugin(name)
            state = next(s for s in console.plugins.states(unit.session, inst) if s.plugin == name)
    from nongxin.core.plugin_state.services import secret_keys

    hidden = secret_keys(console.plugins._plugin(name))
    for key, value in sorted(state.settings.items()):
        click.echo(f"{key} = {'(secret; write-only)' if key in hidden else value}")


@plugins.command("check")
@click.pass_context
def plugins_check(ctx: click.Context) -> None:
    """Load every installed plugin and report; exit 1 if any failed to load."""
    from nongxin.core.rulebook import rule_pack_problem

    directory = _console(ctx).plugins
    broken = 0
    for name, plugin in sorted(directory.host.loaded.items()):
        problem = rule_pack_problem(plugin) if "nongxin_rules" in plugin.hooks else None
        if problem:
            broken += 1
            click.secho(f"FAILED  {name} {plugin.info.version}: {problem}", fg="red")
        else:
            click.echo(f"ok      {name} {plugin.info.version} ({plugin.source})")
    for failed in directory.host.failed.values():
        click.secho(f"FAILED  {failed.name}: {failed.reason} ({failed.source})", fg="red")
    if directory.host.failed or broken:
        sys.exit(1)


@main.group()
def bureau() -> None:
    """Credit-bureau (征信) commands, run on behalf of a named user; every query is logged."""


def _as_user(unit: UnitOfWork, username: str) -> "Principal":
    import sqlalchemy as sa

    from nongxin.core.auth import Principal
    from nongxin.core.errors import NotFound
    from nongxin.core.institutions.models import User

    user = unit.session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None or not user.active:
        raise NotFound(f"user {username} not found or inactive", fields={"user": ["not found"]})
    inst = user.institution
    return Principal(user.username, user.role, inst.id, inst.code, inst.path)


_subject_options = [
    click.option("--user", "username", required=True, help="The user acting (logged as the operator)."),
    click.option("--kind", default="resident_id", show_default=True, help="resident_id or uscc"),
    click.option("--id-number", required=True, help="Resident ID or unified social credit code."),
    click.option("--name", "subject_name", required=True, help="The subject's name."),
]


def _with_subject(fn: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_subject_options):
        fn = option(fn)
    return fn


@bureau.command("authorize")
@_with_subject
@click.option("--purpose", "purposes", multiple=True, required=True, help="Purpose code; repeat for several.")
@click.option("--channel", default="paper", show_default=True, help="paper or electronic")
@click.option("--face-verified", is_flag=True, help="Electronic consent was face-verified.")
@click.option("--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The scanned letter or recording; its SHA-256 is stored with its path.")
@click.pass_context
def bureau_authorize(ctx: click.Context, username: str, kind: str, id_number: str, subject_name: str,
                     purposes: tuple[str, ...], channel: str, face_verified: bool, evidence: Path) -> None:
    """Record a subject's authorization for the user's county bank."""
    from nongxin.core.bureau import services

    console = _console(ctx)
    with console.uow() as unit:
        auth = services.record_authorization(
            unit, _as_user(unit, username), console.settings,
            subject=services.SubjectInput(kind, id_number, subject_name), purposes=list(purposes),
            channel=channel, face_verified=face_verified, evidence_ref=str(evidence.resolve()),
            evidence_sha256=services.evidence_digest(evidence.read_bytes()))
        auth_id, expires = auth.id, auth.expires_at
        unit.commit()
    click.echo(f"authorization {auth_id} recorded, expires {expires:%Y-%m-%d}")


@bureau.command("query")
@_with_subject
@click.option("--purpose", required=True, help="Query-reason code, e.g. 02 loan approval, 01 post-loan.")
@click.option("--for", "for_", required=True, metavar="KIND:REF", help="application:APP-1 or loan:L-1")
@click.pass_context
def bureau_query(ctx: click.Context, username: str, kind: str, id_number: str, subject_name: str,
                 purpose: str, for_: str) -> None:
    """Query a credit report (refused without a live authorization) and print its summary."""
    from nongxin.core.bureau import services
    from nongxin.core.errors import invalid

    for_kind, sep, for_ref = for_.partition(":")
    if not sep:
        raise invalid("for", "write KIND:REF, e.g. application:APP-1")
    console = _console(ctx)
    with console.uow() as unit:
        result = services.query(unit, _as_user(unit, username), console.plugins, console.settings,
                                subject=services.SubjectInput(kind, id_number, subject_name), purpose=purpose,
                                for_kind=for_kind, for_ref=for_ref)
        outcome, provider, error = result.entry.outcome, result.entry.provider, result.entry.error
        unit.commit()
    click.echo(f"outcome: {outcome} (provider {provider or '-'})")
    if result.summary is None:
        click.secho(f"no report: {error}; do not decide on this subject without one", fg="red", err=True)
        sys.exit(1)
    for key, value in result.summary.as_facts().items():
        click.echo(f"  {key} = {value}")


@bureau.command("log")
@click.option("--user", "username", required=True, help="The user reading (auditor or credit staff).")
@click.option("--id-number", default=None)
@click.option("--purpose", default=None)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.pass_context
def bureau_log(ctx: click.Context, username: str, id_number: str | None, purpose: str | None,
               since: datetime | None, until: datetime | None) -> None:
    """List the query log visible to a user (numbers masked for roles that do not need them)."""
    from nongxin.core.bureau import services
    from nongxin.sdk.identity import mask_identity

    with _console(ctx).uow() as unit:
        who = _as_user(unit, username)
        rows = services.list_log(unit, who, id_number=id_number, purpose=purpose,
                                 since=since.date() if since else None, until=until.date() if until else None)
        for e in rows:
            number = e.id_number if services.shows_full_id(who) else mask_identity(e.id_number)
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.county_bank_code:<8} {e.operator:<14} {number}  "
                       f"purpose {e.purpose}  {e.outcome:<11} {e.for_kind}:{e.for_ref}")


from nongxin.core.scaffold import new  # noqa: E402  (a command group of its own module)

main.add_command(new)

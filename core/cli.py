"""The `nongxin` command: what provincial IT runs at the console and from cron.

This module holds the group and the commands that belong to no domain (serve, demo, db); each
domain registers its own group from its ``cli.py``. Shared plumbing is in ``nongxin.core.clikit``.
"""

from __future__ import annotations

import os
from typing import Any

import click

from nongxin.core.clikit import Console, Group, console_of
from nongxin.core.config import ensure_demo_key_file

__all__ = ["Console", "Group", "main"]


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
@click.option("--trusted-proxy", default=None, metavar="ADDRESS",
              help="The TLS proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto/For are believed, so the "
                   "console's cookies are Secure over HTTPS.")
def serve(host: str, port: int, threads: int, trusted_proxy: str | None = None) -> None:
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
    click.echo(f"Nongxin serving on http://{host}:{port}  (console: http://{host}:{port}/console/ ; "
               f"API docs: http://{host}:{port}/api/docs)")
    waitress.serve(app, host=host, port=port, threads=threads, **proxy_options(trusted_proxy))


def proxy_options(trusted_proxy: str | None) -> dict[str, Any]:
    """waitress's options to believe the scheme and client address the TLS proxy at ``trusted_proxy``
    forwards (none without one: a client could claim HTTPS)."""
    if not trusted_proxy:
        return {}
    return {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"}}


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

    console = console_of(ctx)
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
        with console.uow() as unit:
            demo_data.set_demo_passwords(unit, now=console.runtime.clock.now())
        click.echo(f"Web console (管理台): http://{host}:{port}/console/ ; every demo user signs in with the "
                   f"password {demo_data.DEMO_PASSWORD} (set your own with: nongxin users password USERNAME)")
        click.echo(f"Demo books opened {demo_data.DEMO_BOOKS_DAYS} days ago: credit lines, drawdowns, repayments "
                   "and every day closed since:")
        for loan in demo_data.demo_ledger(console.runtime):
            overdue = f", {loan.overdue_days} days overdue" if loan.overdue_days else ""
            click.echo(f"  {loan.loan_no}  {loan.method:<18} {loan.status:<8} outstanding {loan.outstanding}{overdue}")
        click.echo("Demo collateral: registered, valued, pledged and scanned for shortfalls:")
        for item in demo_data.demo_collateral(console.runtime):
            click.echo(f"  {item.number}  {item.kind:<18} line {item.line or '-':<20} value {item.value:>12}  {item.shows}")
        click.echo("Demo rules kept by staff (drafted by one parameter admin, approved by another):")
        for kept in demo_data.demo_rules(console.runtime):
            click.echo(f"  #{kept.id:<3} {kept.code:<12} {kept.owner:<6} {kept.status:<17} {kept.shows}")
        click.echo("Demo nightly scan: a court list loaded, warnings raised with tasks due in working days, "
                   "every loan classified:")
        warned, npl = demo_data.demo_warnings(console.runtime)
        for shown_warning in warned:
            click.echo(f"  {shown_warning.subject:<24} {shown_warning.rule:<14} {shown_warning.colour:<7} "
                       f"task for {shown_warning.assigned_to} due {shown_warning.due_on}")
        click.echo(f"  {npl}")
        click.echo(f"  {demo_data.demo_rule_night(console.runtime)}")
        click.echo("Demo whole-village credit (整村授信) at Linyi: roster, back-to-back review, pre-credit, rating:")
        for line in demo_data.demo_village(console.runtime):
            click.echo(f"  {line}")
        click.echo("Demo applications, filed by jinan.cm and decided:")
        for shown in demo_data.decide_demo_applications(console.runtime):
            click.echo(f"  {shown.number}  {shown.status:<16} {shown.shows}: {shown.detail}")
    else:
        click.echo("Demo database already seeded; issue a new token with: nongxin tokens issue USERNAME")
    if not no_serve:
        ctx.invoke(serve, host=host, port=port)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create the schema or bring it up to date (safe to run again)."""
    from nongxin.core.migrate import current, upgrade

    console = console_of(ctx)
    upgrade(console.engine, revision)
    click.echo(f"database at revision {current(console.engine)} ({console.engine.url.render_as_string()})")


def _register() -> None:
    from nongxin.core.audit.cli import audit
    from nongxin.core.bureau.cli import bureau
    from nongxin.core.calendar.cli import calendar
    from nongxin.core.credit.cli import applications
    from nongxin.core.customers.cli import customers
    from nongxin.core.institutions.cli import institutions, tokens, users
    from nongxin.core.parameters.cli import parameters
    from nongxin.core.plugin_state.cli import plugins
    from nongxin.core.scaffold import new

    for group in (db, institutions, users, tokens, audit, plugins, bureau, calendar, new, applications):
        main.add_command(group)
    main.add_command(parameters)
    main.add_command(customers)

    from nongxin.core.credit.decision_cli import register as register_decide

    register_decide(applications)

    from nongxin.core.credit.review_cli import review

    main.add_command(review)  # manual review (part E)

    from nongxin.core.credit.loans_cli import loans

    main.add_command(loans)  # issue 11: each part registers its commands on the group below

    from nongxin.core.jobs.ledger_cli import ledger

    main.add_command(ledger)  # the columnar ledger export (issue 11, part E)

    from nongxin.core.credit.repayments_cli import register as register_repay

    register_repay(loans)  # loans repay (part A)

    from nongxin.core.collateral.cli import collateral

    main.add_command(collateral)  # issue 12: each part registers its commands on this group
    from nongxin.core.collateral.registry_cli import register as register_registry

    register_registry(collateral)  # the registry and manual valuations (issue 12, part A)

    from nongxin.core.collateral.pledges_cli import register as register_pledges

    register_pledges(collateral)  # pledge, register-mortgage, release, cover (issue 12 part B)

    from nongxin.core.collateral.revalue_cli import register as register_revalue

    register_revalue(collateral)  # collateral revalue (issue 12, part C)

    from nongxin.core.collateral.scan_cli import register as register_collateral_scan

    register_collateral_scan(collateral)  # collateral scan (issue 12, part D)

    from nongxin.core.credit.lines_cli import lines

    main.add_command(lines)  # credit lines (issue 11, part B)

    from nongxin.core.jobs.close_day import close_day

    main.add_command(close_day)  # the business day close (part D)

    from nongxin.core.early_warning.cli import classification, tasks, warnings

    for group in (warnings, tasks, classification):
        main.add_command(group)  # issue 13: each part registers its commands on these groups below

    from nongxin.core.early_warning.scan_cli import register as register_scan

    register_scan(main)  # nongxin scan, the nightly post-loan scan (issue 13, part A)

    from nongxin.core.early_warning.watchlists_cli import register as register_watchlists

    register_watchlists(warnings)  # court lists: watchlist-import, watchlist-pull (issue 13, part E)

    from nongxin.core.early_warning import tasks_cli, warnings_cli

    warnings_cli.register(warnings)  # warnings list, counts (issue 13, part B)
    tasks_cli.register(tasks)  # tasks list, close, reassign, escalate (issue 13, part B)

    from nongxin.core.early_warning.classification_cli import register as register_classification

    register_classification(classification)  # five-tier classification (issue 13, part C)

    from nongxin.core.rules import backtest_cli, monitoring_cli, shadow_cli, stored_cli
    from nongxin.core.rules.cli import rules

    main.add_command(rules)  # issue 14: drafts and maker-checker, backtests, shadow reports, monitoring models
    for part in (stored_cli, backtest_cli, shadow_cli, monitoring_cli):
        part.register(rules)

    from nongxin.core.village.cli import village

    main.add_command(village)  # issue 15: each part registers its commands on this group below
    from nongxin.core.village import review_cli

    review_cli.register(village)
    from nongxin.core.village import precredit_cli

    precredit_cli.register(village)  # precredit, offers, offer, accept, decline, expire-offers (issue 15, part D)

    from nongxin.core.village import roster_cli, villages_cli  # part A: rosters, villages and credit villages

    for module in (roster_cli, villages_cli):
        module.register(village)

    from nongxin.core.village import annual_review_cli

    annual_review_cli.register(village)  # issue 15 part E: the annual review of credit lines (年检)

    from nongxin.core.scorecards.cli import scorecard

    main.add_command(scorecard)  # issue 17: each part registers its commands on this group below

    from nongxin.core.scorecards import fit_cli

    fit_cli.register(scorecard)  # issue 17 part A: fit and sample-data
    from nongxin.core.scorecards import monitor_cli

    monitor_cli.register(scorecard)  # issue 17 part C: monitor, warnings, close-warning
    from nongxin.core.scorecards import compare_cli

    compare_cli.register(scorecard)  # issue 17 part D: champion/challenger comparison, history export


_register()

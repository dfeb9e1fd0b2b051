"""Credit-bureau commands, run on behalf of a named user; every query is logged."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Callable

import click

from nongxin.core.clikit import as_of_option, as_user, console_of

@click.group()
def bureau() -> None:
    """Credit-bureau (征信) commands, run on behalf of a named user; every query is logged."""


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

    console = console_of(ctx)
    with console.uow() as unit:
        auth = services.record_authorization(
            unit, as_user(unit, username), console.settings,
            subject=services.SubjectInput(kind, id_number, subject_name), purposes=list(purposes),
            channel=channel, face_verified=face_verified, evidence_ref=str(evidence.resolve()),
            evidence_sha256=services.evidence_digest(evidence.read_bytes()),
            today=console.runtime.clock.business_date())
        auth_id, expires = auth.id, auth.expires_at
        unit.commit()
    click.echo(f"authorization {auth_id} recorded, expires {expires:%Y-%m-%d}")


@bureau.command("query")
@_with_subject
@as_of_option
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
    console = console_of(ctx)
    with console.uow() as unit:
        result = services.query(unit, as_user(unit, username), console.plugins, console.settings,
                                subject=services.SubjectInput(kind, id_number, subject_name), purpose=purpose,
                                for_kind=for_kind, for_ref=for_ref, today=console.runtime.clock.business_date())
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

    with console_of(ctx).uow() as unit:
        who = as_user(unit, username)
        rows = services.list_log(unit, who, id_number=id_number, purpose=purpose,
                                 since=since.date() if since else None, until=until.date() if until else None)
        for e in rows:
            number = e.id_number if services.shows_full_id(who) else mask_identity(e.id_number)
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.county_bank_code:<8} {e.operator:<14} {number}  "
                       f"purpose {e.purpose}  {e.outcome:<11} {e.for_kind}:{e.for_ref}")

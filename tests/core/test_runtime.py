"""One runtime per process, one clock: bootstrap, the business date, "as of", no stray system dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from nongxin.core.clock import Clock
from nongxin.core.runtime import Runtime, bootstrap

REPO = Path(__file__).resolve().parents[2]


def at(text: str) -> Clock:
    moment = datetime.fromisoformat(text)
    return Clock(wall=lambda: moment)


def test_now_is_aware_utc_and_the_business_date_is_chinas_calendar_date():
    clock = at("2026-11-23T17:30:00+00:00")  # 01:30 on the 24th in China
    assert clock.now() == datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc)
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.business_date() == date(2026, 11, 24)
    assert at("2026-11-23T15:59:59+00:00").business_date() == date(2026, 11, 23)


def test_as_of_fixes_the_business_date_and_returns_a_new_clock():
    clock = at("2026-11-23T03:00:00+00:00")
    past = clock.as_of(date(2026, 6, 30))
    assert past.business_date() == date(2026, 6, 30) and clock.business_date() == date(2026, 11, 23)
    assert past.now() == clock.now()  # the wall time still runs
    with pytest.raises(TypeError):
        clock.as_of(datetime(2026, 6, 30))  # type: ignore[arg-type]


def test_the_books_seam_gives_the_stored_business_date():
    clock = Clock(wall=lambda: datetime(2026, 11, 23, tzinfo=timezone.utc), books=lambda: date(2026, 11, 20))
    assert clock.business_date() == date(2026, 11, 20)
    assert clock.as_of(date(2026, 1, 5)).business_date() == date(2026, 1, 5)


SYSTEM_DATE = re.compile(r"\b(date\.today|datetime\.(now|utcnow|today)|time\.localtime)\(")


def test_nothing_but_the_clock_reads_the_system_date():
    offenders = []
    for folder in ("core", "sdk", "plugins"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path == REPO / "core" / "clock.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SYSTEM_DATE.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "read the date from the runtime's clock (ctx.business_date in a hook):\n" + "\n".join(offenders)
    assert SYSTEM_DATE.search("day = date.today()") and SYSTEM_DATE.search("datetime.now(timezone.utc)")


def test_bootstrap_wires_everything_once_and_the_app_uses_a_ready_runtime(nongxin_settings):
    from nongxin.core.app import create_app
    from nongxin.core.calendar.services import Calendars
    from nongxin.core.web import runtime

    clock = Clock().as_of(date(2026, 3, 2))
    rt = bootstrap(nongxin_settings, discover=False, clock=clock)
    assert isinstance(rt, Runtime) and rt.clock is clock and isinstance(rt.calendar, Calendars)
    assert rt.plugins.clock is clock and rt.rulebooks.directory is rt.plugins and rt.host is rt.plugins.host
    app = create_app(runtime=rt)
    assert runtime(app) is rt


def test_rules_in_force_default_to_the_business_date(nongxin_app, nongxin_client):
    from nongxin.core.web import runtime

    rt = runtime(nongxin_app)
    nongxin_app.extensions["nongxin"] = rt.as_of(date(2026, 2, 6))
    try:
        body = nongxin_client.get("/api/rules?institution=JNRCB&stage=admission").get_json()
    finally:
        nongxin_app.extensions["nongxin"] = rt
    assert body["on"] == "2026-02-06"


def test_hooks_see_the_business_date(nongxin_app, nongxin_demo, nongxin_uow):
    from nongxin.core.institutions.services import get_by_code
    from nongxin.core.web import runtime

    past = runtime(nongxin_app).as_of(date(2025, 12, 31))
    inst = get_by_code(nongxin_uow.session, "JNRCB")
    view = past.plugins.view(nongxin_uow.session, inst)
    assert view.ctx.business_date == date(2025, 12, 31)
    assert {own.business_date for own in view.contexts.values()} == {date(2025, 12, 31)}


def test_views_follow_the_business_date(nongxin_app, nongxin_demo, nongxin_uow):
    from nongxin.core.institutions.services import get_by_code
    from nongxin.core.plugin_state.services import PluginDirectory
    from nongxin.core.web import runtime

    day = [date(2026, 11, 23)]
    directory = PluginDirectory(runtime(nongxin_app).host, Clock(books=lambda: day[0]))
    inst = get_by_code(nongxin_uow.session, "JNRCB")
    first = directory.view(nongxin_uow.session, inst)
    assert directory.view(nongxin_uow.session, inst) is first
    day[0] = date(2026, 11, 24)  # the day close moved the books on
    second = directory.view(nongxin_uow.session, inst)
    assert second is not first and second.ctx.business_date == date(2026, 11, 24)

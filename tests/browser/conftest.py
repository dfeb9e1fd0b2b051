"""A real browser on the console: Playwright driving Debian's chromium against the app served by
waitress on 127.0.0.1.

- ``live_server``: the test's app served on a free port of 127.0.0.1 (``live_server.url``).
- ``browser``: one headless chromium per worker (``/usr/bin/chromium``, or ``NONGXIN_CHROMIUM``):
  Playwright cannot download its own browser here. Without chromium the tests skip, except under
  CI (``CI`` set), where a missing browser is a failure.
- ``page``: a fresh tablet-sized page (1024x768, zh-CN). Every request that would leave
  127.0.0.1 is aborted and recorded in ``page.outside``; the fixture fails the test if any was made.
- ``sign_in(page, username)``: sets the user's password (``PASSWORD``) and signs in through the form.
- ``shot(page, name)``: a full-page screenshot kept as a test artifact in ``test-artifacts/screenshots``
  (or ``NONGXIN_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest

PASSWORD = "browser-test-pass-2026"
CHROMIUM = os.environ.get("NONGXIN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NONGXIN_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no chromium at {CHROMIUM}: .ci/run installs it (apt-get install chromium fonts-noto-cjk)")
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def live_server(nongxin_app: Any, nongxin_demo: Any) -> Iterator[Any]:
    from nongxin.core.loadgen import Server

    with Server(nongxin_app, threads=4) as server:
        server.url = f"http://127.0.0.1:{server.port}"  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN",
                                  base_url=live_server.url)
    outside: list[str] = []

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.outside = outside  # type: ignore[attr-defined]
    yield opened
    context.close()
    assert not outside, f"requests left 127.0.0.1: {outside}"


@pytest.fixture
def sign_in(nongxin_app: Any) -> Callable[..., Any]:
    from nongxin.core.console.signin import set_password
    from nongxin.core.db import UnitOfWork

    runtime = nongxin_app.extensions["nongxin"]

    def do(page: Any, username: str, *, next_path: str = "/console/") -> Any:
        with UnitOfWork(runtime.sessions) as unit:
            set_password(unit, username, PASSWORD, now=runtime.clock.now())
            unit.commit()
        page.goto(f"/console/signin?next={next_path}")
        page.fill("#f-username", username)
        page.fill("#f-password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        assert "/console/signin" not in page.url, page.inner_text("main")
        return page

    return do


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    def take(page: Any, name: str) -> Path:
        folder = ARTIFACTS / "screenshots"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

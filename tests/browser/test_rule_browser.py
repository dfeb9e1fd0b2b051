"""The rule editor in a real browser: the expression is checked as one types."""

from __future__ import annotations

import re


def test_a_parameter_admin_sees_the_error_as_they_type_fixes_it_and_saves_the_draft(page, sign_in, shot):
    sign_in(page, "jinan.params", next_path="/console/rules/new")
    assert page.url.endswith("/console/rules/new")
    page.fill("#f-code", "JN-BROWSER-1")
    page.fill("#f-name", "浏览器测试规则")
    page.select_option("#f-outcome", "manual_review")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.click("#f-expression")
    page.keyboard.type("age > 18 and\n  amount >>= 5", delay=20)
    result = page.locator("#check-result")
    result.locator(".bad").wait_for()
    assert result.locator(".bad").inner_text().startswith("第 2 行，第 ")
    caret = result.locator("pre").inner_text().splitlines()
    assert caret[-2].strip() == "amount >>= 5" and caret[-1].strip() == "^"
    column = int(re.search(r"第 (\d+) 列", result.inner_text()).group(1))
    assert caret[-1].index("^") - 4 == column - 1  # under the offending character
    assert page.url.endswith("/console/rules/new")  # nothing was submitted: only the checks went out
    assert posts and all(url.endswith("/console/rules/check") for url in posts)
    shot(page, "rules-editor")
    page.fill("#f-expression", "age > 18 and\n  amount >= 5")
    result.locator(".ok").wait_for()
    assert "OK" in result.inner_text() and "amount" in result.inner_text() and "age" in result.inner_text()
    page.click("#save-draft")
    page.wait_for_url(re.compile(r".*/console/rules/\d+\?done=saved$"))
    assert "草稿已保存" in page.inner_text("main") and "JN-BROWSER-1" in page.inner_text("main")
    page.click("#run-backtest")
    page.locator("#backtest-result").wait_for()
    shot(page, "rules-detail")
    page.goto("/console/rules/stored")
    assert "JN-BROWSER-1" in page.inner_text("table")
    shot(page, "rules-list")

"""Signing in and out in a real browser."""

from __future__ import annotations


def test_a_user_signs_in_sees_their_menu_and_signs_out(page, sign_in, shot):
    page.goto("/console/")
    assert "/console/signin" in page.url
    page.fill("#f-username", "jinan.pm")
    page.fill("#f-password", "not the password")
    page.click("button[type=submit]")
    assert page.inner_text("[role=alert]") == "用户名或密码错误。"
    shot(page, "signin")
    sign_in(page, "jinan.pm")
    assert page.url.endswith("/console/")
    assert "jinan.pm · 产品经理" in page.inner_text(".whoami")
    shot(page, "home")
    page.click(".whoami button")
    page.wait_for_url("**/console/signin")
    page.goto("/console/")
    assert "/console/signin" in page.url


def test_chinese_has_a_font_so_screenshots_show_no_boxes(page):
    import subprocess

    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    assert listed.strip(), "no Chinese font for chromium: apt-get install fonts-noto-cjk"
    page.goto("/console/signin")
    # the heading is laid out with real glyphs: each CJK character about one em wide
    width = page.evaluate("(() => { const r = document.createRange(); "
                          "r.selectNodeContents(document.querySelector('h1')); return r.getBoundingClientRect().width })()")
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)")
    assert 4.5 * size <= width <= 6.5 * size  # 登录管理台: five characters

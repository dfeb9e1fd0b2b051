"""Puts the console into an app: imports every page module (each adds its routes to the one
blueprint), registers the blueprint, and sends ``/`` to the console's home."""

from __future__ import annotations

import importlib

from flask import Flask, redirect

#: The console's areas, one module each (``core/console/<name>.py``).
MODULES = ("signin_pages", "plugin_pages", "credit_pages", "dashboard_pages", "admin_pages", "rule_pages")


def register(app: Flask) -> None:
    for name in MODULES:
        importlib.import_module(f"nongxin.core.console.{name}")
    from nongxin.core.console.web import bp

    app.register_blueprint(bp)
    app.add_url_rule("/", "root", lambda: redirect("/console/", code=302))

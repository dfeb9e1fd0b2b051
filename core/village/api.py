"""The HTTP side of whole-village credit: the blueprints of its modules, registered by the app
factory in this order."""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Each module's ``blp`` (a flask-smorest Blueprint); a part adds its module here.
MODULES: tuple[str, ...] = (
    "review_api",
    "precredit_api",
    "roster_api",  # part A: village rosters
    "villages_api",  # part A: villages and credit villages
    "annual_review_api",
)


def blueprints() -> list[Any]:
    return [import_module(f"nongxin.core.village.{name}").blp for name in MODULES]

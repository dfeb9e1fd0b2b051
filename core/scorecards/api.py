"""The HTTP side of scorecards: the blueprints of its modules, registered by the app factory in
this order."""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Each module's ``blp`` (a flask-smorest Blueprint); a part adds its module here.
MODULES: tuple[str, ...] = (
    "monitor_api",  # issue 17 part C: scorecards in use, stability (PSI), model warnings
    "compare_api",  # part D: champion and challenger
)


def blueprints() -> list[Any]:
    return [import_module(f"nongxin.core.scorecards.{name}").blp for name in MODULES]

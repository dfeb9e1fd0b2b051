"""``nongxin scorecard ...``: fit a scorecard from a data set, watch the cards in production and
compare a challenger with its champion. Commands are added by the ``register(scorecard)``
functions of their modules (``core/cli.py`` calls them)."""

from __future__ import annotations

import click


@click.group("scorecard")
def scorecard() -> None:
    """Scorecards (评分卡): fit from history, stability monitoring (PSI), champion and challenger."""

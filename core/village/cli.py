"""``nongxin village ...``: whole-village credit from the command line, on behalf of a named user
(``--user``) through the same services as the API. Commands are added by the ``register(village)``
functions of their modules (``core/cli.py`` calls them)."""

from __future__ import annotations

import click


@click.group("village")
def village() -> None:
    """Whole-village credit (整村授信): rosters, peer review (评议), pre-credit (预授信), credit villages (信用村)."""

"""``nongxin collateral ...``: collateral items, valuations, pledges, revaluation and the shortfall
scan, on behalf of a named user (``--user``), through the same services as the API. Commands are
added by the ``register(group)`` functions of their modules (``core/cli.py`` calls them)."""

from __future__ import annotations

import click


@click.group("collateral")
def collateral() -> None:
    """Collateral (押品): register, value, pledge, register mortgages, release, revalue, scan."""

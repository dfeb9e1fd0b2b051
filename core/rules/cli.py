"""``nongxin rules ...``: rules kept by staff from the command line, on behalf of a named user
(``--user``) through the same services as the API. Commands are added by the ``register(rules)``
functions of their modules (``core/cli.py`` calls them)."""

from __future__ import annotations

import click


@click.group("rules")
def rules() -> None:
    """Rules kept by staff (规则管理): drafts, approval, backtests, shadow reports, monitoring models."""

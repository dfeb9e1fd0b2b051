"""``nongxin loans ...``: loans on the books, on behalf of a named user (``--user``), through the
same services as the API. Commands are added by ``register(group)`` functions of their modules."""

from __future__ import annotations

import click


@click.group("loans")
def loans() -> None:
    """Loans (贷款): show, list, draw under a credit line, repay."""

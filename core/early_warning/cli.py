"""``nongxin warnings ...``, ``nongxin tasks ...`` and ``nongxin classification ...``: the early
warning module's commands, on behalf of a named user (``--user``) through the same services as the
API; ``nongxin scan`` is the nightly job. Commands are added by the ``register(...)`` functions of
their modules (``core/cli.py`` calls them)."""

from __future__ import annotations

import click


@click.group("warnings")
def warnings() -> None:
    """Post-loan warnings (预警): list, count, load court lists."""


@click.group("tasks")
def tasks() -> None:
    """Warning tasks (预警任务): list, close with findings, reassign."""


@click.group("classification")
def classification() -> None:
    """Five-tier classification (五级分类): run, show, set by judgment, approve, NPL ratios."""

"""The core is type-checked too: an Optional the CLI forgot once crashed on an empty database."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

REPO = Path(__file__).resolve().parents[2]


def test_core_passes_mypy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "setup.cfg"), str(REPO / "core")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"mypy core failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"

"""The SDK ships ``py.typed``: plugin authors type-check against it, so it must itself be clean.

Runs mypy with the repository's ``[mypy]`` settings from setup.cfg (strict about untyped defs in
the SDK, unused ``# type: ignore`` comments are errors).
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")

REPO = Path(__file__).resolve().parents[2]


def test_sdk_passes_mypy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "setup.cfg"),
         str(REPO / "sdk")],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (
        f"mypy sdk failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )

"""Circuit breakers per (plugin, institution), kept in each worker's memory.

A plugin that keeps failing at one county bank is not called there until a cool-down passes or
an operator resets it, so one broken connector cannot slow every application down.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class BreakerState:
    failures: int = 0
    opened_at: float | None = None
    last_error: str = ""


class Breakers:
    def __init__(self, threshold: int, cooldown_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.cooldown, self.clock = threshold, cooldown_seconds, clock
        #: (plugin, institution) -> state, only for pairs that failed lately; read by the dispatch loop.
        self.tracked: dict[tuple[str, str], BreakerState] = {}
        self._lock = threading.Lock()

    def is_open(self, plugin: str, institution: str) -> bool:
        state = self.tracked.get((plugin, institution))
        if state is None or state.opened_at is None:
            return False
        if self.clock() - state.opened_at >= self.cooldown:
            state.opened_at = None  # half-open: the next call is a trial
            state.failures = self.threshold - 1
            return False
        return True

    def failure(self, plugin: str, institution: str, error: str) -> None:
        with self._lock:
            state = self.tracked.setdefault((plugin, institution), BreakerState())
            state.failures += 1
            state.last_error = error
            if state.failures >= self.threshold and state.opened_at is None:
                state.opened_at = self.clock()

    def success(self, plugin: str, institution: str) -> None:
        if (plugin, institution) in self.tracked:
            with self._lock:
                self.tracked.pop((plugin, institution), None)

    def reset(self, plugin: str, institution: str) -> None:
        with self._lock:
            self.tracked.pop((plugin, institution), None)

    def status(self, plugin: str, institution: str) -> dict[str, object]:
        state = self.tracked.get((plugin, institution))
        if state is None:
            return {"state": "closed", "consecutive_failures": 0, "last_error": None}
        return {"state": "open" if self.is_open(plugin, institution) else "closed",
                "consecutive_failures": state.failures, "last_error": state.last_error}

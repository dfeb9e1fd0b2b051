"""Settings read from the environment, with defaults that make the demo run and nothing else."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from nongxin.core.errors import ConfigurationError

DEFAULT_SECRET = "nongxin-demo-secret-change-me"
ENVIRONMENTS = ("demo", "testing", "production")


@dataclass(frozen=True)
class Settings:
    """Everything the core reads at start; frozen so a request can never change it."""

    database_url: str = "sqlite:///nongxin.db"
    secret_key: str = DEFAULT_SECRET
    environment: str = "demo"
    token_days: int = 90
    breaker_threshold: int = 5
    breaker_cooldown_seconds: int = 300
    trace_plugins: bool = False
    bureau_authorization_days: int = 365
    bureau_stale_days: int = 30
    bureau_timeout_seconds: int = 10
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        base = cls()
        return replace(
            base,
            database_url=env.get("NONGXIN_DATABASE_URL", base.database_url),
            secret_key=env.get("NONGXIN_SECRET_KEY", base.secret_key),
            environment=env.get("NONGXIN_ENV", base.environment),
            token_days=_int(env, "NONGXIN_TOKEN_DAYS", base.token_days),
            breaker_threshold=_int(env, "NONGXIN_BREAKER_THRESHOLD", base.breaker_threshold),
            breaker_cooldown_seconds=_int(
                env, "NONGXIN_BREAKER_COOLDOWN_SECONDS", base.breaker_cooldown_seconds
            ),
            bureau_authorization_days=_int(env, "NONGXIN_BUREAU_AUTHORIZATION_DAYS",
                                           base.bureau_authorization_days),
            bureau_stale_days=_int(env, "NONGXIN_BUREAU_STALE_DAYS", base.bureau_stale_days),
            bureau_timeout_seconds=_int(env, "NONGXIN_BUREAU_TIMEOUT_SECONDS", base.bureau_timeout_seconds),
            trace_plugins=env.get("NONGXIN_TRACE_PLUGINS", "") not in ("", "0", "false"),
        )

    def check(self) -> None:
        """Refuse to run a real bank on the published demo secret."""
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"NONGXIN_ENV={self.environment!r} is not one of {', '.join(ENVIRONMENTS)}"
            )
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ConfigurationError(
                "NONGXIN_SECRET_KEY is the published demo default; set a long random secret "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))') "
                "before running with NONGXIN_ENV=production"
            )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None

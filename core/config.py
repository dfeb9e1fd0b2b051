"""Settings read from the environment, with defaults that make the demo run and nothing else."""

from __future__ import annotations

import os
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from nongxin.core.errors import ConfigurationError

DEFAULT_SECRET = "nongxin-demo-secret-change-me"
#: Signs the audit chains of a demo or test database that has no key of its own; published, so
#: refused in production and never trusted there.
DEMO_AUDIT_KEY = "nongxin-demo-audit-key-not-secret"
#: Where ``nongxin demo`` keeps the audit key it generates (beside ``nongxin.db``).
DEMO_AUDIT_KEY_FILE = "nongxin-audit.key"
MIN_AUDIT_KEY_LENGTH = 32
ENVIRONMENTS = ("demo", "testing", "production")
MIN_SECRET_LENGTH = 32
TOKEN_MAX_DAYS_LIMIT = 365


@dataclass(frozen=True)
class Settings:
    """Everything the core reads at start; frozen so a request can never change it."""

    database_url: str = "sqlite:///nongxin.db"
    secret_key: str = DEFAULT_SECRET
    environment: str = "demo"
    token_days: int = 90
    token_max_days: int = 90
    breaker_threshold: int = 5
    breaker_cooldown_seconds: int = 300
    trace_plugins: bool = False
    bureau_authorization_days: int = 365
    bureau_stale_days: int = 30
    bureau_timeout_seconds: int = 10
    valuation_timeout_seconds: int = 10
    audit_key: str = ""
    audit_old_keys: tuple[str, ...] = ()
    #: Files the platform keeps beside the database (the day's post-loan facts for backtests).
    data_dir: str = "nongxin-data"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        base = cls()
        max_days = _int(env, "NONGXIN_TOKEN_MAX_DAYS", base.token_max_days)
        return replace(
            base,
            database_url=env.get("NONGXIN_DATABASE_URL", base.database_url),
            secret_key=env.get("NONGXIN_SECRET_KEY", base.secret_key),
            environment=env.get("NONGXIN_ENV", base.environment),
            token_days=_int(env, "NONGXIN_TOKEN_DAYS", min(base.token_days, max_days)),
            token_max_days=max_days,
            breaker_threshold=_int(env, "NONGXIN_BREAKER_THRESHOLD", base.breaker_threshold),
            breaker_cooldown_seconds=_int(
                env, "NONGXIN_BREAKER_COOLDOWN_SECONDS", base.breaker_cooldown_seconds
            ),
            bureau_authorization_days=_int(env, "NONGXIN_BUREAU_AUTHORIZATION_DAYS",
                                           base.bureau_authorization_days),
            bureau_stale_days=_int(env, "NONGXIN_BUREAU_STALE_DAYS", base.bureau_stale_days),
            bureau_timeout_seconds=_int(env, "NONGXIN_BUREAU_TIMEOUT_SECONDS", base.bureau_timeout_seconds),
            valuation_timeout_seconds=_int(env, "NONGXIN_VALUATION_TIMEOUT_SECONDS", base.valuation_timeout_seconds),
            trace_plugins=env.get("NONGXIN_TRACE_PLUGINS", "") not in ("", "0", "false"),
            audit_key=env.get("NONGXIN_AUDIT_KEY", "") or _demo_key_file(env),
            audit_old_keys=tuple(k.strip() for k in env.get("NONGXIN_AUDIT_OLD_KEYS", "").split(",") if k.strip()),
            data_dir=env.get("NONGXIN_DATA_DIR", base.data_dir),
        )

    def keyring(self) -> Any:
        """The audit keyring: the configured key signs; old keys (and, outside production, the
        published demo key) only verify."""
        from nongxin.core.audit.chain import Keyring

        if self.environment == "production":
            return Keyring.from_secrets(self.audit_key, self.audit_old_keys)
        others = (*self.audit_old_keys, DEMO_AUDIT_KEY)
        return Keyring.from_secrets(self.audit_key or DEMO_AUDIT_KEY, others)

    def check(self) -> None:
        """Refuse settings no bank should run on: a guessable secret in production, token lifetimes
        beyond the cap."""
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(
                f"NONGXIN_ENV={self.environment!r} is not one of {', '.join(ENVIRONMENTS)}"
            )
        if not 1 <= self.token_max_days <= TOKEN_MAX_DAYS_LIMIT:
            raise ConfigurationError(
                f"NONGXIN_TOKEN_MAX_DAYS={self.token_max_days} must be between 1 and {TOKEN_MAX_DAYS_LIMIT}"
            )
        if not 1 <= self.token_days <= self.token_max_days:
            raise ConfigurationError(
                f"NONGXIN_TOKEN_DAYS={self.token_days} must be between 1 and NONGXIN_TOKEN_MAX_DAYS "
                f"({self.token_max_days})"
            )
        if self.environment == "production":
            problem = secret_problem(self.secret_key)
            if problem:
                raise ConfigurationError(
                    f"NONGXIN_SECRET_KEY {problem}; set a long random secret (for example: python -c "
                    "'import secrets; print(secrets.token_hex(32))') before running with NONGXIN_ENV=production"
                )
        if self.environment == "production" and (
                len(self.audit_key.strip()) < MIN_AUDIT_KEY_LENGTH or self.audit_key == DEMO_AUDIT_KEY):
            raise ConfigurationError(
                f"NONGXIN_AUDIT_KEY must be set to a random secret of at least {MIN_AUDIT_KEY_LENGTH} "
                "characters when NONGXIN_ENV=production (it signs the audit trail and is never stored "
                "in the database); for example: python -c 'import secrets; print(secrets.token_hex(32))'"
            )


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not fit for production, or None. Whitespace around it is not entropy."""
    stripped = secret.strip()
    if not stripped:
        return "is empty"
    if stripped == DEFAULT_SECRET:
        return "is the published demo default"
    if len(stripped) < MIN_SECRET_LENGTH:
        return f"is {len(stripped)} characters long; production needs at least {MIN_SECRET_LENGTH}"
    return None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None


def _demo_key_file(env: Mapping[str, str]) -> str:
    """In the demo, the key ``nongxin demo`` generated into the current folder, if there is one."""
    if env.get("NONGXIN_ENV", "demo") != "demo":
        return ""
    path = Path(DEMO_AUDIT_KEY_FILE)
    try:
        return path.read_text(encoding="utf-8").strip() if path.is_file() else ""
    except OSError:
        return ""


def ensure_demo_key_file(folder: Path | None = None) -> str:
    """Generate the demo's audit key into ``folder`` (readable by its owner only) unless it exists."""
    import secrets

    path = (folder or Path.cwd()) / DEMO_AUDIT_KEY_FILE
    if not path.is_file():
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()

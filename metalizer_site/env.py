"""Small typed readers for environment variables, used only by settings.py.

Each reader refuses a malformed value with ImproperlyConfigured naming the variable, so a typo in the
environment stops the process at start-up instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

QUEUE_BACKENDS = ("embedded", "redis", "eager")
STORAGE_BACKENDS = ("local", "s3")
# A rate's period, by its first letter (DRF's rate strings: 120/hour, 5/minute, 1000/day, 2/second).
RATE_PERIODS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Env:
    """Reads typed values from a mapping (``os.environ`` by default)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return None if value is None else value.strip()

    def str(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None or value == "" else value

    def bool(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name} must be a boolean (1/0, true/false, yes/no, on/off); got {value!r}."
        )

    def int(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
        return number

    def list(self, name: str, default: list[str]) -> list[str]:
        value = self.raw(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def subset(self, name: str, choices: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
        """A non-empty comma-separated selection from ``choices``, in ``choices``' order."""
        picked = [item.lower() for item in self.list(name, list(default))]
        unknown = [item for item in picked if item not in choices]
        if unknown or not picked:
            raise ImproperlyConfigured(
                f"{name} must list one or more of {', '.join(choices)}; got {self.raw(name)!r}."
            )
        return tuple(item for item in choices if item in picked)

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.str(name, default).lower()
        if value not in choices:
            raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}.")
        return value

    def rate(self, name: str, default: str) -> tuple[int, int]:
        """(count, seconds) from a rate string such as ``120/hour`` (second, minute, hour or day)."""
        value = self.str(name, default)
        count, _, period = value.partition("/")
        seconds = RATE_PERIODS_S.get(period.strip()[:1].lower()) if period.strip() else None
        if not count.strip().isdigit() or int(count) < 1 or seconds is None:
            raise ImproperlyConfigured(
                f"{name} must be a rate such as 120/hour (a whole number per second, minute, hour or day); "
                f"got {value!r}."
            )
        return int(count), seconds

    def path(self, name: str, default: Path, *, base: Path) -> Path:
        value = self.raw(name)
        if not value:
            return default
        path = Path(value).expanduser()
        return path if path.is_absolute() else (base / path)


def database_config(url: str, *, base_dir: Path, var: str = "METALIZER_JOBS_DB_URL") -> dict[str, Any]:
    """Turn a database URL into a Django DATABASES entry.

    Accepts ``sqlite:///relative/or/abs.sqlite3`` (relative paths resolve against ``base_dir``) and the
    PostgreSQL forms ``postgres://``, ``postgresql://`` and SQLAlchemy's ``postgresql+psycopg://``.
    """
    import dj_database_url

    url = url.strip()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "postgresql+psycopg":
        url = "postgresql" + url[len("postgresql+psycopg") :]
        scheme = "postgresql"
    if scheme == "sqlite":
        rest = url[len("sqlite://") :]
        if rest in ("", "/"):
            raise ImproperlyConfigured(f"{var} needs a file path, e.g. sqlite:///data/jobs.sqlite3.")
        # sqlite:///rel/path -> rest "/rel/path" (relative); sqlite:////abs/path -> "//abs/path".
        raw_path = rest[1:] if rest.startswith("/") else rest
        path = Path(raw_path)
        if not path.is_absolute():
            path = base_dir / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
        }
    if scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(
            f"{var} must start with sqlite:///, postgres://, postgresql:// or postgresql+psycopg://; "
            f"got {url.split('://', 1)[0]!r}."
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(f"{var} is not a valid database URL: {exc}") from None
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{var} must name a database, e.g. postgresql://user@host:5432/metalizer.")
    return config


# Secrets that shipped as defaults somewhere (this project's old compose file, common S3 servers' examples):
# whoever read the same file knows them, so production refuses them whatever their length.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "compose-local-only-insecure-key-set-your-own-in-dot-env",
        "dev-only-insecure-key-metalizer-embedded-mode-do-not-use-in-production",
        "collectstatic-at-build-time-only",
        "metalizer-local-secret",
        "metalizer",
        "minioadmin",
        "changeme",
        "change-me",
        "secret",
        "password",
    }
)


def weak_secret(value: str, *, min_length: int) -> str | None:
    """Why ``value`` is no secret (a published default, too short, too few distinct characters), or None."""
    if value.lower() in KNOWN_DEFAULT_SECRETS or "insecure" in value.lower():
        return "it is a published default"
    if len(value) < min_length:
        return f"it is shorter than {min_length} characters"
    if len(set(value)) < 8:
        return "it has fewer than 8 different characters"
    return None


def redis_url(env: Env) -> str:
    """REDIS_URL, or METALIZER_REDIS_URL mapped onto it when REDIS_URL is unset."""
    return env.str("REDIS_URL") or env.str("METALIZER_REDIS_URL")

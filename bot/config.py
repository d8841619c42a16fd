"""Configuration: one TOML file plus the environment for secrets, loaded once at start.

    ConfigError     the file is missing, malformed, or a value is wrong; the message is one line

Every section has a typed model with defaults, so `ldn-bot chat` runs with no file at all.
The bot token comes from the environment variable LDN_BOT_TOKEN when set (it wins), else from
[telegram] token; it is kept in a `Secret` that never prints itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from knowledge import ClinicInfo

TOKEN_ENV = "LDN_BOT_TOKEN"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"


class ConfigError(Exception):
    """The configuration cannot be used; str(error) is a one-line explanation."""


class Secret:
    """A string that does not show itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class KnowledgeConfig:
    path: Path | None = None  # None: the knowledge base shipped with the package


@dataclass(frozen=True)
class TelegramConfig:
    token: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    poll_timeout: int = 30  # seconds a getUpdates long poll may wait
    connect_timeout: float = 10.0
    rate_limit: bool = True  # pace sends to Telegram's limits (off only for local test servers)


@dataclass(frozen=True)
class StorageConfig:
    url: str = "sqlite:///ldn-bot.sqlite3"
    unanswered_retention_days: int = 90


@dataclass(frozen=True)
class RemindersConfig:
    tick_seconds: int = 45  # how often the scheduler asks the store what is due
    grace_minutes: int = 120  # a reminder missed while the bot was down is sent this late at most
    snooze_minutes: int = 30  # "Snooze" asks again after this long
    nudge_after_minutes: int = 60  # one nudge if nothing was tapped; 0: no nudge
    plans: Path | None = None  # None: the plans shipped with the package


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    clinic: ClinicInfo = field(default_factory=ClinicInfo)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    source: Path | None = None  # the file it came from, for messages

    def require_token(self) -> str:
        token = self.telegram.token
        if not token:
            raise ConfigError(
                f"no bot token: set the environment variable {TOKEN_ENV} or [telegram] token"
            )
        return token.get()


def _section(data: dict[str, Any], name: str, cls: type, where: str) -> dict[str, Any]:
    """The section's values, checking for unknown keys and wrong types against `cls`."""
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key [{name}] {key}")
        out[key] = value
    return out


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number"}


def _typed(where: str, section: str, key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        names = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise ConfigError(f"{where}: [{section}] {key} must be {names}")
    return value


def _optional_text(where: str, section: str, values: dict[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    text = _typed(where, section, key, values[key], str).strip()
    return text or None


def _url(where: str, section: str, key: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        raise ConfigError(f"{where}: [{section}] {key} must be a {'/'.join(schemes)} URL")
    return value


def from_dict(data: dict[str, Any], where: str = "config", base: Path | None = None) -> Config:
    """Build a Config from parsed TOML (`base` resolves relative paths)."""
    unknown = set(data) - {"clinic", "knowledge", "telegram", "storage", "reminders", "logging"}
    if unknown:
        raise ConfigError(f"{where}: unknown section [{sorted(unknown)[0]}]")

    c = _section(data, "clinic", ClinicInfo, where)
    clinic = ClinicInfo(**{k: _optional_text(where, "clinic", c, k) for k in c})

    k = _section(data, "knowledge", KnowledgeConfig, where)
    kpath = _optional_text(where, "knowledge", k, "path")
    knowledge_path = None
    if kpath:
        knowledge_path = Path(kpath).expanduser()
        if base is not None and not knowledge_path.is_absolute():
            knowledge_path = base / knowledge_path

    t = _section(data, "telegram", TelegramConfig, where)
    token_text = os.environ.get(TOKEN_ENV) or _optional_text(where, "telegram", t, "token")
    telegram = TelegramConfig(
        token=Secret(token_text) if token_text else None,
        base_url=_url(
            where,
            "telegram",
            "base_url",
            _typed(where, "telegram", "base_url", t.get("base_url", DEFAULT_BASE_URL), str),
            ("http", "https"),
        ),
        base_file_url=_url(
            where,
            "telegram",
            "base_file_url",
            _typed(
                where,
                "telegram",
                "base_file_url",
                t.get("base_file_url", DEFAULT_BASE_FILE_URL),
                str,
            ),
            ("http", "https"),
        ),
        poll_timeout=_typed(where, "telegram", "poll_timeout", t.get("poll_timeout", 30), int),
        connect_timeout=float(
            _typed(
                where, "telegram", "connect_timeout", t.get("connect_timeout", 10.0), (int, float)
            )
        ),
    )
    rate_limit = t.get("rate_limit", True)
    if not isinstance(rate_limit, bool):
        raise ConfigError(f"{where}: [telegram] rate_limit must be true or false")
    telegram = replace(telegram, rate_limit=rate_limit)
    if telegram.poll_timeout < 0:
        raise ConfigError(f"{where}: [telegram] poll_timeout must not be negative")

    s = _section(data, "storage", StorageConfig, where)
    url = _typed(where, "storage", "url", s.get("url", StorageConfig.url), str)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"{where}: [storage] url must be a sqlite:///FILE or postgresql+psycopg://... URL"
        )
    retention = _typed(
        where,
        "storage",
        "unanswered_retention_days",
        s.get("unanswered_retention_days", StorageConfig.unanswered_retention_days),
        int,
    )
    if retention < 1:
        raise ConfigError(f"{where}: [storage] unanswered_retention_days must be at least 1")

    reminders = _reminders(data, where, base)

    lg = _section(data, "logging", LoggingConfig, where)
    level = _typed(where, "logging", "level", lg.get("level", "INFO"), str).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{where}: [logging] level must be DEBUG, INFO, WARNING or ERROR")

    return Config(
        clinic=clinic,
        knowledge=KnowledgeConfig(path=knowledge_path),
        telegram=telegram,
        storage=StorageConfig(url=url, unanswered_retention_days=retention),
        reminders=reminders,
        logging=LoggingConfig(level=level),
    )


_REMINDER_LIMITS = {
    "tick_seconds": (5, 600),
    "grace_minutes": (0, 720),
    "snooze_minutes": (5, 240),
    "nudge_after_minutes": (0, 360),
}


def _reminders(data: dict[str, Any], where: str, base: Path | None) -> RemindersConfig:
    r = _section(data, "reminders", RemindersConfig, where)
    values: dict[str, Any] = {}
    for key, (low, high) in _REMINDER_LIMITS.items():
        value = _typed(where, "reminders", key, r.get(key, getattr(RemindersConfig, key)), int)
        if not low <= value <= high:
            raise ConfigError(f"{where}: [reminders] {key} must be between {low} and {high}")
        values[key] = value
    plans = _optional_text(where, "reminders", r, "plans")
    if plans:
        path = Path(plans).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        values["plans"] = path
    return RemindersConfig(**values)


def load_config(path: Path | str | None) -> Config:
    """Load the TOML file at `path`; None gives the defaults (plus the environment)."""
    if path is None:
        return from_dict({})
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    config = from_dict(data, where=str(file), base=file.resolve().parent)
    return replace(config, source=file)

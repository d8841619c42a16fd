"""Configuration: one TOML file plus the environment for secrets, loaded once at start.

    ConfigError     the file is missing, malformed, or a value is wrong; the message is one line
                (in :mod:`bot.config_sections`, with the sections that need more than a type
                check, and the readers; all re-exported here)

Every section has a typed model with defaults, so `ldn-bot chat` runs with no file at all.
The bot token comes from the environment variable LDN_BOT_TOKEN when set (it wins), else from
[telegram] token; it is kept in a `Secret` that never prints itself.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config_sections import (
    ConfigError,
    RemindersConfig,
    StaffConfig,
    _clinic_timezone,
    _ints_within,
    _optional_text,
    _reminders,
    _section,
    _staff,
    _typed,
    _url,
    _without,
)
from knowledge import ClinicInfo

TOKEN_ENV = "LDN_BOT_TOKEN"
DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
# What BotFather hands out: the bot's numeric id, a colon, then the secret part.
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_TOKEN_HINT = "digits, a colon, then letters, digits, _ or - (as BotFather gives it)"


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
class SendingConfig:
    """Pacing of messages to Telegram (see bot/sender.py). Counted: sendMessage, sendPhoto,
    sendDocument; edits and button answers are not."""

    messages_per_second: float = 29.0  # overall pace: sends this far apart
    per_chat_per_second: float = 1.0  # in any one chat
    bulk_connections: int = 8  # HTTP connections of their own for reminders and broadcasts
    # PostgreSQL, several processes: a bulk row still "sending" this long after its claim
    # belongs to a process that died; the next sender recovers it (unknown if its request
    # was attempted, else sent after all).
    claim_lease_seconds: int = 600
    most_in_any_second: int = 30  # Telegram's limit, kept however late a send arrives


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
    sending: SendingConfig = field(default_factory=SendingConfig)
    staff: StaffConfig = field(default_factory=StaffConfig)
    clinic_timezone: str = "UTC"  # [clinic] timezone: when staff schedule a broadcast
    source: Path | None = None  # the file it came from, for messages
    # A relative SQLite path used to be read from the working folder: the database found there
    # when none exists yet next to the config file (see `check_database_moved`).
    old_database: Path | None = None

    def require_token(self) -> str:
        token = self.telegram.token
        if not token:
            raise ConfigError(
                f"no bot token: set the environment variable {TOKEN_ENV} or [telegram] token"
            )
        return token.get()


def from_dict(data: dict[str, Any], where: str = "config", base: Path | None = None) -> Config:
    """Build a Config from parsed TOML (`base` resolves relative paths)."""
    unknown = set(data) - {
        "clinic",
        "knowledge",
        "telegram",
        "storage",
        "reminders",
        "logging",
        "sending",
        "staff",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown section [{sorted(unknown)[0]}]")

    clinic_timezone = _clinic_timezone(data, where)
    c = _section(_without(data, "clinic", "timezone"), "clinic", ClinicInfo, where)
    clinic = ClinicInfo(**{k: _optional_text(where, "clinic", c, k) for k in c})

    k = _section(data, "knowledge", KnowledgeConfig, where)
    kpath = _optional_text(where, "knowledge", k, "path")
    knowledge_path = None
    if kpath:
        knowledge_path = Path(kpath).expanduser()
        if base is not None and not knowledge_path.is_absolute():
            knowledge_path = base / knowledge_path

    t = _section(data, "telegram", TelegramConfig, where)
    token_text = _token(where, t)
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
    if not (math.isfinite(telegram.connect_timeout) and telegram.connect_timeout > 0):
        raise ConfigError(f"{where}: [telegram] connect_timeout must be more than 0 seconds")

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
    old_database = None
    if backend == "sqlite" and base is not None:
        url, old_database = _sqlite_beside(url, base)
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
        sending=_sending(data, where),
        old_database=old_database,
        staff=_staff(data, where),
        clinic_timezone=clinic_timezone,
    )


def _token(where: str, values: dict[str, Any]) -> str | None:
    """The token from the environment (it wins) or the file, checked for its shape; the
    message never shows it."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if not _TOKEN_SHAPE.fullmatch(env):
            raise ConfigError(f"the environment variable {TOKEN_ENV} must be {_TOKEN_HINT}")
        return env
    text = _optional_text(where, "telegram", values, "token")
    if text is not None and not _TOKEN_SHAPE.fullmatch(text):
        raise ConfigError(f"{where}: [telegram] token must be {_TOKEN_HINT}")
    return text


def _sqlite_beside(url: str, base: Path) -> tuple[str, Path | None]:
    """A relative SQLite file resolved against the config file's folder, like [knowledge] path.

    Also returns where the file used to be looked for (the working folder) when a database is
    there and none is at the new place, so that nobody silently starts on an empty one."""
    parsed = make_url(url)
    database = parsed.database
    if (
        not database
        or database == ":memory:"
        or database.startswith("file:")
        or Path(database).expanduser().is_absolute()
    ):
        return url, None
    relative = Path(database).expanduser()
    resolved = (base / relative).resolve()
    old = (Path.cwd() / relative).resolve()
    moved = old if old != resolved and old.is_file() and not resolved.exists() else None
    return parsed.set(database=str(resolved)).render_as_string(hide_password=False), moved


def check_database_moved(config: Config) -> None:
    """Refuse to start on an empty database when the one in use sits at the old place."""
    if config.old_database is None:
        return
    new = make_url(config.storage.url).database
    raise ConfigError(
        f"no database at {new}, but one at {config.old_database}: a relative [storage] url is "
        f"now read from the config file's folder; move the file there or set "
        f'url = "sqlite:///{config.old_database}"'
    )


_SENDING_LIMITS = {
    "bulk_connections": (1, 64),
    "claim_lease_seconds": (5, 86_400),
    "most_in_any_second": (1, 1000),
}


def _sending(data: dict[str, Any], where: str) -> SendingConfig:
    raw = _section(data, "sending", SendingConfig, where)
    defaults = SendingConfig()
    rate = float(
        _typed(where, "sending", "messages_per_second",
               raw.get("messages_per_second", defaults.messages_per_second), (int, float))
    )  # fmt: skip
    per_chat = float(
        _typed(where, "sending", "per_chat_per_second",
               raw.get("per_chat_per_second", defaults.per_chat_per_second), (int, float))
    )  # fmt: skip
    if not 0 < rate <= 1000 or not 0 < per_chat <= 100:
        raise ConfigError(f"{where}: [sending] rates must be positive messages per second")
    counts = _ints_within(where, "sending", raw, SendingConfig, _SENDING_LIMITS)
    return SendingConfig(
        messages_per_second=rate,
        per_chat_per_second=per_chat,
        **counts,
    )


def load_config(path: Path | str | None) -> Config:
    """Load the TOML file at `path`; None gives the defaults (plus the environment)."""
    if path is None:
        return from_dict({})
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ConfigError(
            f"{file}: starts with a byte-order mark (BOM); save it as UTF-8 without BOM"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {' '.join(str(exc).split())}") from None
    config = from_dict(data, where=str(file), base=file.resolve().parent)
    return replace(config, source=file)

"""Tests of the configuration: defaults, the token and its secrecy, validation, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import (
    DEFAULT_BASE_FILE_URL,
    DEFAULT_BASE_URL,
    TOKEN_ENV,
    Config,
    ConfigError,
    Secret,
    check_database_moved,
    load_config,
)
from knowledge import ClinicInfo

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123456789:AAH-very-secret-token"


def write(tmp_path: Path, text: str, name: str = "bot.toml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def assert_defaults(config: Config, folder: Path | None = None) -> None:
    """The defaults; `folder` is the config file's, against which the database file is read."""
    assert config.clinic == ClinicInfo()
    assert config.knowledge.path is None
    assert config.telegram.token is None
    assert config.telegram.base_url == DEFAULT_BASE_URL == "https://api.telegram.org/bot"
    assert config.telegram.base_file_url == DEFAULT_BASE_FILE_URL
    assert config.telegram.poll_timeout == 30
    assert config.telegram.connect_timeout == 10.0
    assert config.telegram.rate_limit is True
    database = "ldn-bot.sqlite3" if folder is None else f"{folder.resolve()}/ldn-bot.sqlite3"
    assert config.storage.url == f"sqlite:///{database}"
    assert config.storage.unanswered_retention_days == 90
    assert config.logging.level == "INFO"


# -- defaults -----------------------------------------------------------------------------------


def test_no_file_gives_the_defaults() -> None:
    config = load_config(None)
    assert_defaults(config)
    assert config.source is None


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    config = load_config(path)
    assert_defaults(config, folder=tmp_path)
    assert config.source == path


def test_values_from_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[clinic]
name = "Riverside Pain Clinic"
phone = "555-0100"
hours = "Mon-Fri 9-5"
emergency_number = "911"
crisis_line = "988"

[telegram]
base_url = "http://127.0.0.1:8081/bot"
poll_timeout = 5
connect_timeout = 3
rate_limit = false

[storage]
url = "postgresql+psycopg://ldn@db/ldn"
unanswered_retention_days = 30

[logging]
level = "debug"
""",
    )
    config = load_config(path)
    assert config.clinic == ClinicInfo(
        name="Riverside Pain Clinic",
        phone="555-0100",
        hours="Mon-Fri 9-5",
        emergency_number="911",
        crisis_line="988",
    )
    assert config.telegram.base_url == "http://127.0.0.1:8081/bot"
    assert config.telegram.poll_timeout == 5
    assert config.telegram.connect_timeout == 3.0
    assert isinstance(config.telegram.connect_timeout, float)
    assert config.telegram.rate_limit is False
    assert config.storage.url == "postgresql+psycopg://ldn@db/ldn"
    assert config.storage.unanswered_retention_days == 30
    assert config.logging.level == "DEBUG"


def test_blank_clinic_values_count_as_unset(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[clinic]\nphone = "   "\nname = ""\n'))
    assert config.clinic == ClinicInfo()


# -- the token ----------------------------------------------------------------------------------


def test_token_from_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n'))
    assert config.require_token() == TOKEN


def test_environment_token_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "999:from-the-environment")
    config = load_config(write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n'))
    assert config.require_token() == "999:from-the-environment"


def test_environment_token_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert load_config(None).require_token() == TOKEN


def test_empty_environment_token_falls_back_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "")
    config = load_config(write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n'))
    assert config.require_token() == TOKEN


@pytest.mark.parametrize("text", ["", '[telegram]\ntoken = ""\n', '[telegram]\ntoken = "  "\n'])
def test_require_token_without_a_token_explains_both_ways(tmp_path: Path, text: str) -> None:
    config = load_config(write(tmp_path, text))
    assert config.telegram.token is None
    with pytest.raises(ConfigError) as caught:
        config.require_token()
    message = str(caught.value)
    assert TOKEN_ENV in message
    assert "[telegram] token" in message
    assert "\n" not in message


def test_secret_never_shows_the_token(tmp_path: Path) -> None:
    secret = Secret(TOKEN)
    assert secret.get() == TOKEN
    assert bool(secret) and not bool(Secret(""))
    config = load_config(write(tmp_path, f'[telegram]\ntoken = "{TOKEN}"\n'))
    shown = [
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % secret,  # noqa: UP031 - logging formats this way
        repr(config),
        str(config),
        repr(config.telegram),
    ]
    for text in shown:
        assert TOKEN not in text
        assert "secret-token" not in text
    assert "********" in repr(config.telegram)


# -- validation ---------------------------------------------------------------------------------

BAD_VALUES = [
    ('[telegram]\npoll_timeout = "30"\n', "[telegram] poll_timeout"),
    ("[telegram]\npoll_timeout = true\n", "[telegram] poll_timeout"),
    ("[telegram]\npoll_timeout = -1\n", "[telegram] poll_timeout"),
    ('[telegram]\nconnect_timeout = "10"\n', "[telegram] connect_timeout"),
    ('[telegram]\nrate_limit = "no"\n', "[telegram] rate_limit"),
    ('[telegram]\nbase_url = "ftp://example.org/bot"\n', "[telegram] base_url"),
    ("[telegram]\ntoken = 12345\n", "[telegram] token"),
    ("[clinic]\nphone = 5550100\n", "[clinic] phone"),
    ("[knowledge]\npath = 42\n", "[knowledge] path"),
    ('[storage]\nunanswered_retention_days = "90"\n', "[storage] unanswered_retention_days"),
    ("[storage]\nunanswered_retention_days = 1.5\n", "[storage] unanswered_retention_days"),
    ("[storage]\nurl = 5\n", "[storage] url"),
    ('[logging]\nlevel = "LOUD"\n', "[logging] level"),
    ("[telegram]\nconnect_timeout = -1\n", "[telegram] connect_timeout"),
    ("[telegram]\nconnect_timeout = 0\n", "[telegram] connect_timeout"),
    ("[telegram]\nconnect_timeout = nan\n", "[telegram] connect_timeout"),
    ("[telegram]\nconnect_timeout = inf\n", "[telegram] connect_timeout"),
    ('[telegram]\ntoken = "not-a-token"\n', "[telegram] token"),
    ('[telegram]\ntoken = "123456"\n', "[telegram] token"),
    ('[telegram]\ntoken = "abc:DEF"\n', "[telegram] token"),
    ('[telegram]\ntoken = "123456:has space"\n', "[telegram] token"),
    ('[telegram]\ntoken = "123456:ABC/../x"\n', "[telegram] token"),
    ('[telegram]\ntoken = "123456:"\n', "[telegram] token"),
    ('clinic = "Main Street"\n', "[clinic] must be a table"),
    ('[clinic]\nfax = "555-0100"\n', "unknown key [clinic] fax"),
    ('[weather]\ncity = "Leeds"\n', "unknown section [weather]"),
    ("[sending]\nmost_in_any_second = 0\n", "[sending] most_in_any_second"),
    ("[sending]\nmost_in_any_second = 29.5\n", "[sending] most_in_any_second"),
]


def test_the_most_in_any_second_is_read(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "")).sending.most_in_any_second == 30
    path = write(tmp_path, "[sending]\nmost_in_any_second = 20\n")
    assert load_config(path).sending.most_in_any_second == 20


@pytest.mark.parametrize(("text", "names"), BAD_VALUES)
def test_bad_values_are_one_clear_line(tmp_path: Path, text: str, names: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert names in message
    assert "\n" not in message


def test_a_bad_token_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "123456:secret part"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "secret" not in str(caught.value)
    monkeypatch.setenv(TOKEN_ENV, "123456:secret/part")
    with pytest.raises(ConfigError) as caught:
        load_config(None)
    assert TOKEN_ENV in str(caught.value) and "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'[clinic]\nname = "Caf\xe9 clinic"\n', "not UTF-8"),  # Latin-1
        (b"\xff\xfe[\x00c\x00", "not UTF-8"),  # UTF-16
        (b'\xef\xbb\xbf[clinic]\nname = "x"\n', "byte-order mark"),
        (b'[clinic]\nname = "a\x00b"\n', "not valid TOML"),
    ],
)
def test_undecodable_files_are_one_clear_line(tmp_path: Path, raw: bytes, names: str) -> None:
    path = tmp_path / "bot.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and names in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[clinic\nname = 'x'\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: not valid TOML")
    assert "line 1" in str(caught.value)


# -- the knowledge path -------------------------------------------------------------------------


def test_relative_knowledge_path_is_resolved_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[knowledge]\npath = "kb"\n', name="conf/bot.toml")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config("../conf/bot.toml")
    assert config.knowledge.path == (tmp_path / "conf" / "kb").resolve()


def test_absolute_knowledge_path_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "somewhere" / "kb"
    config = load_config(write(tmp_path, f"[knowledge]\npath = '{target.as_posix()}'\n"))
    assert config.knowledge.path == target


def test_home_in_the_knowledge_path_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, '[knowledge]\npath = "~/kb"\n'))
    assert config.knowledge.path == tmp_path / "home" / "kb"


# -- storage ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/ldn/ldn.sqlite3",
        "sqlite://",
        "postgresql://ldn@localhost/ldn",
        "postgresql+psycopg://ldn:secret@db.example:5432/ldn",
    ],
)
def test_storage_urls_that_are_accepted(tmp_path: Path, url: str) -> None:
    config = load_config(write(tmp_path, f'[storage]\nurl = "{url}"\n'))
    assert config.storage.url == url


@pytest.mark.parametrize(
    ("url", "relative"),
    [
        ("sqlite:///ldn-bot.sqlite3", "ldn-bot.sqlite3"),
        ("sqlite+pysqlite:///data/ldn.db", "data/ldn.db"),
        ("sqlite:///../ldn.db", "../ldn.db"),
    ],
)
def test_relative_sqlite_file_is_resolved_against_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, relative: str
) -> None:
    write(tmp_path, f'[storage]\nurl = "{url}"\n', name="conf/bot.toml")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    config = load_config("../conf/bot.toml")
    scheme = url.partition(":///")[0]
    assert config.storage.url == f"{scheme}:///{(tmp_path / 'conf' / relative).resolve()}"
    assert config.old_database is None
    check_database_moved(config)  # nothing at the old place: no complaint


def test_a_database_left_at_the_old_place_is_one_line_instead_of_an_empty_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[storage]\nurl = "sqlite:///ldn.db"\n', name="conf/bot.toml")
    old = tmp_path / "elsewhere" / "ldn.db"
    old.parent.mkdir()
    old.write_bytes(b"")
    monkeypatch.chdir(old.parent)
    config = load_config("../conf/bot.toml")
    assert config.old_database == old.resolve()
    with pytest.raises(ConfigError) as caught:
        check_database_moved(config)
    message = str(caught.value)
    assert "\n" not in message
    assert str(old.resolve()) in message and str(tmp_path / "conf" / "ldn.db") in message
    # Once the file is at the new place (or the url points at the old one), all is well.
    (tmp_path / "conf" / "ldn.db").write_bytes(b"")
    check_database_moved(load_config("../conf/bot.toml"))


def test_without_a_config_file_the_database_is_in_the_working_folder() -> None:
    assert load_config(None).storage.url == "sqlite:///ldn-bot.sqlite3"


@pytest.mark.parametrize(
    "url",
    [
        "mysql://ldn@localhost/ldn",
        "ldn-bot.sqlite3",
        "postgres://ldn@localhost/ldn",
        "",
        "sqlite.db",
        "postgresql",
    ],
)
def test_storage_urls_that_are_rejected(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'[storage]\nurl = "{url}"\n')
    with pytest.raises(ConfigError, match=r"\[storage\] url"):
        load_config(path)


@pytest.mark.parametrize("days", [0, -1])
def test_retention_must_be_at_least_one_day(tmp_path: Path, days: int) -> None:
    path = write(tmp_path, f"[storage]\nunanswered_retention_days = {days}\n")
    with pytest.raises(ConfigError, match="at least 1"):
        load_config(path)


def test_retention_of_one_day_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[storage]\nunanswered_retention_days = 1\n"))
    assert config.storage.unanswered_retention_days == 1


# -- the example file ---------------------------------------------------------------------------


def test_the_example_config_loads() -> None:
    example = REPO / "config.example.toml"
    if not example.is_file():
        pytest.skip(f"{example} does not exist yet")
    config = load_config(example)
    assert config.source == example

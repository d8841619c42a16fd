"""No log record shows the bot token, at any level, tracebacks included."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logredact
from bot.logredact import REDACTED, RedactingFormatter, Redactor
from bot.run import configure_logging
from tests.botharness import TOKEN, make_config, running_bot
from tests.fakebotapi import FakeBotApi, factories

SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: give it all back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    factory = logging.getLogRecordFactory()
    named = {
        name: logging.getLogger(name).level
        for name in ("httpx", "httpcore", "alembic", "apscheduler", "telegram")
    }
    try:
        yield
    finally:
        logging.setLogRecordFactory(factory)
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        for name, old in named.items():
            logging.getLogger(name).setLevel(old)


def _shows_token(text: str | None) -> bool:
    return bool(text) and (TOKEN in text or SECRET_PART in text)  # type: ignore[operator]


def test_redactor_takes_out_the_token_and_its_secret_part() -> None:
    redact = Redactor([TOKEN])
    url = f"https://api.telegram.org/bot{TOKEN}/getMe"
    assert redact(url) == f"https://api.telegram.org/bot{REDACTED}/getMe"
    encoded = f"bot123456%3A{SECRET_PART}"
    assert redact(encoded) == f"bot123456%3A{REDACTED}"
    assert redact("nothing secret") == "nothing secret"
    assert not Redactor([]) and Redactor([])("x") == "x"


def test_records_are_redacted_when_made_arguments_and_tracebacks_included(
    restore_logging: None,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.logredact")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logredact.install([TOKEN], handlers=[handler])
        assert isinstance(handler.formatter, RedactingFormatter)
        records: list[logging.LogRecord] = []

        def keep(record: logging.LogRecord) -> bool:
            records.append(record)
            return True

        handler.addFilter(keep)
        logger.debug("calling %s", f"https://example/bot{TOKEN}/getMe")
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            logger.exception("send failed")
        logger.info("a stack", stack_info=True, extra={"x": SECRET_PART})
        logger.warning("bad format %s %s", "one")  # logging's own error path must not break
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    output = stream.getvalue()
    assert "RuntimeError" in output and REDACTED in output
    assert not _shows_token(output)
    for record in records[:3]:
        assert not _shows_token(record.getMessage())
        assert not _shows_token(record.exc_text)
        assert not _shows_token(record.stack_info)
    # The formatter alone also redacts a record that bypassed the factory.
    raw = logging.LogRecord("x", logging.INFO, __file__, 1, f"token {TOKEN}", None, None)
    assert RedactingFormatter(Redactor([TOKEN])).format(raw) == f"token {REDACTED}"


@pytest.mark.e2e
async def test_no_record_at_debug_shows_the_token(
    tmp_path: Path,
    restore_logging: None,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("DEBUG", [TOKEN])
    logging.getLogger().addHandler(caplog.handler)  # basicConfig(force=True) removed it
    caplog.handler.setLevel(logging.DEBUG)
    for chatty in ("httpx", "httpcore"):  # the loudest about URLs, let through for the test
        logging.getLogger(chatty).setLevel(logging.DEBUG)

    async with FakeBotApi(token=TOKEN) as server:
        async with running_bot(server, make_config(server, tmp_path / "bot.sqlite3")):
            mark = server.mark()
            server.push_update(factories.private_message("what is ldn", user_id=1001))
            await server.wait_for("sendMessage", since=mark)
            # A failing send: the error handler logs a traceback.
            server.fail_next(
                "sendMessage", error_code=400, description="Bad Request: can't parse entities"
            )
            mark = server.mark()
            server.push_update(factories.private_message("what is ldn", user_id=1001))
            await server.wait_for("sendMessage", count=2, since=mark)
            try:
                raise ConnectionError(f"POST {server.base_url}{TOKEN}/sendMessage: reset")
            except ConnectionError:
                logging.getLogger("telegram.ext.Application").exception("network down")
        server.assert_no_violations()

    records = caplog.records
    # PTB logged its base URL, which holds the token, and the test saw it redacted.
    assert any(
        r.name.startswith("telegram") and r.levelno == logging.DEBUG and REDACTED in r.getMessage()
        for r in records
    )
    assert any(r.levelno >= logging.ERROR and r.exc_text for r in records)
    for record in records:
        assert not _shows_token(record.getMessage()), record.name
        assert not _shows_token(record.exc_text), record.name
        assert not _shows_token(record.stack_info), record.name
    assert not _shows_token(caplog.text)
    stderr = capsys.readouterr().err
    assert "Set Bot API URL" in stderr and "network down" in stderr
    assert not _shows_token(stderr)

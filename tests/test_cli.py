"""Tests of the `ldn-bot` command line, run in-process (plus one real subprocess).

Bad config or bad YAML must end with exactly one line on stderr, starting "ldn-bot:", and
exit status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.cli import main
from knowledge import Engine, Reply, Status, load
from knowledge.loader import DEFAULT_PATH

REPO = Path(__file__).resolve().parents[1]
REPLY_KEYS = {
    "question",
    "status",
    "entry_id",
    "score",
    "answer",
    "sources",
    "suggestions",
    "tier",
    "checkin",
}
AMBIGUOUS = ("side", "effects", "work", "better", "ldn good", "can i take ldn", "when to take")
READ_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load())


def run(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: str = "",
) -> tuple[int, str, str]:
    """main(argv) with `stdin` piped in; returns the exit code, stdout and stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def squash(text: str) -> str:
    """Text without any whitespace, to compare wrapped output with the unwrapped answer."""
    return "".join(text.split())


def clarify_case(engine: Engine) -> Reply:
    for question in AMBIGUOUS:
        reply = engine.ask(question)
        if reply.status is Status.CLARIFY and len(reply.suggestions) >= 2:
            return reply
    pytest.fail(f"none of {AMBIGUOUS} gets a clarification with two suggestions")


# -- ask ----------------------------------------------------------------------------------------


def test_ask_prints_the_answer_and_its_sources(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    code, out, err = run(["ask", "What are the side effects of LDN?"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    entry = engine.entry("side-effects")
    assert entry is not None
    answer, _, sources = out.partition("\nSources:\n")
    assert squash(answer) == squash(entry.answer)
    for source in entry.sources:
        assert source.label in sources


def test_ask_json_prints_one_object_with_exactly_the_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["ask", "--json", "Is LDN addictive?"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert set(data) == REPLY_KEYS
    assert (data["question"], data["status"], data["entry_id"]) == (
        "Is LDN addictive?",
        "answer",
        "addiction-risk",
    )


def test_ask_json_from_stdin_prints_one_line_per_question_in_order(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["What is LDN?", "I want to kill myself", "Can I drink alcohol on LDN?"]
    stdin = f"{questions[0]}\n\n{questions[1]}\r\n{questions[2]}\n"
    code, out, err = run(["ask", "--json", "-"], capsys, monkeypatch, stdin)
    assert (code, err) == (0, "")
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["question"] for r in replies] == questions
    assert [r["status"] for r in replies] == ["answer", "safety", "fallback"]
    assert all(set(r) == REPLY_KEYS for r in replies)


# -- chat ---------------------------------------------------------------------------------------


def test_chat_answers_each_piped_line_until_eof(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    stdin = "What is LDN?\n\nIs LDN addictive?\n"
    code, out, err = run(["chat"], capsys, monkeypatch, stdin)
    assert (code, err) == (0, "")
    assert out.count("bot> ") == 2
    first, second = out.split("you> ")[1:]
    assert first.startswith("What is LDN?\n")
    assert second.startswith("Is LDN addictive?\n")
    for part, entry_id in ((first, "what-is-ldn"), (second, "addiction-risk")):
        entry = engine.entry(entry_id)
        assert entry is not None
        assert squash(entry.answer) in squash(part)


def test_chat_stops_at_quit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["chat"], capsys, monkeypatch, "What is LDN?\nquit\nIs LDN addictive?\n")
    assert code == 0
    assert out.count("bot> ") == 1
    assert "Is LDN addictive?" not in out


@pytest.mark.parametrize("pick", [1, 2])
def test_chat_number_after_a_clarification_picks_that_suggestion(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    pick: int,
) -> None:
    clarify = clarify_case(engine)
    chosen = engine.entry(clarify.suggestions[pick - 1].entry_id)
    assert chosen is not None
    code, out, err = run(["chat"], capsys, monkeypatch, f"{clarify.question}\n{pick}\n")
    assert (code, err) == (0, "")
    asked, picked = out.split("you> ")[1:]
    assert "(type a number to pick one)" in asked
    assert picked.startswith(f"{pick}\nbot> ")
    assert squash(chosen.answer) in squash(picked)


def test_chat_number_out_of_range_is_asked_as_a_question(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    clarify = clarify_case(engine)
    code, out, _ = run(["chat"], capsys, monkeypatch, f"{clarify.question}\n9\n")
    assert code == 0
    picked = out.split("you> ")[2]
    assert squash(engine.ask("9").answer) in squash(picked)


# -- check --------------------------------------------------------------------------------------


def test_check_prints_ok(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(["check"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "OK"
    assert f"{len(load().safety_rules)} safety rules" in out


def test_check_hides_the_token_and_the_database_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LDN_BOT_TOKEN", "123456:super-secret-token")
    config = tmp_path / "bot.toml"
    config.write_text(
        '[storage]\nurl = "postgresql+psycopg://ldn:hunter2@db.example/ldn"\n', encoding="utf-8"
    )
    code, out, _ = run(["check", "--config", str(config)], capsys, monkeypatch)
    assert code == 0
    assert "token set" in out
    assert "super-secret-token" not in out
    assert "hunter2" not in out


# -- errors -------------------------------------------------------------------------------------


def _broken_knowledge(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(DEFAULT_PATH, kb)
    with (kb / "entries.yaml").open("a", encoding="utf-8") as f:
        f.write("broken: one: two\n")
    config = tmp_path / "bot.toml"
    config.write_text(f"[knowledge]\npath = '{kb.as_posix()}'\n", encoding="utf-8")
    return config


def _config_with(text: str) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        config = tmp_path / "bot.toml"
        config.write_text(text, encoding="utf-8")
        return config

    return make


CONFIG_ERRORS: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing-file": (lambda tmp_path: tmp_path / "absent.toml", "config file not found"),
    "malformed-toml": (_config_with("[clinic\nname = 'x'\n"), "not valid TOML"),
    "unknown-key": (_config_with("[clinic]\nfax = '555-0100'\n"), "unknown key [clinic] fax"),
    "broken-knowledge-yaml": (_broken_knowledge, "entries.yaml: not valid YAML at line"),
}


@pytest.mark.parametrize(
    "command", [["check"], ["ask", "What is LDN?"], ["chat"]], ids=["check", "ask", "chat"]
)
@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
@pytest.mark.parametrize("config_first", [True, False], ids=["config-first", "config-last"])
def test_bad_config_or_knowledge_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
    case: str,
    config_first: bool,
) -> None:
    make, expected = CONFIG_ERRORS[case]
    config = str(make(tmp_path))
    argv = ["--config", config, *command] if config_first else [*command, "--config", config]
    code, out, err = run(argv, capsys, monkeypatch, "What is LDN?\n")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ldn-bot: ")
    assert expected in lines[0]


@pytest.mark.parametrize("command", [["check"], ["unanswered"]], ids=["check", "unanswered"])
def test_unusable_storage_url_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[storage]\nurl = "sqlite.db"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = run([*command, "--config", str(config)], capsys, monkeypatch)
    assert "Traceback" not in err
    assert code == 2, out
    assert "OK" not in out.splitlines()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ldn-bot: ")


def test_unanswered_lists_counts_per_question_with_the_last_day(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from store import Store

    db = tmp_path / "bot.sqlite3"
    config = tmp_path / "bot.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    code, out, _ = run(["unanswered", "--config", str(config)], capsys, monkeypatch)
    assert code == 0 and out == "No unanswered questions in the last 90 days.\n"

    now = datetime.now(UTC)
    with Store.open(f"sqlite:///{db}") as store:
        for days_ago in (0, 1, 1):
            store.record_unanswered("dose at night", "fallback", now - timedelta(days=days_ago))
        store.record_unanswered("call [phone] about my dose", "clarify", now - timedelta(days=3))
        store.record_unanswered("expired", "fallback", now - timedelta(days=120))
    code, out, _ = run(["unanswered", "--config", str(config)], capsys, monkeypatch)
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("Unanswered questions, last 90 days")
    assert lines[1:] == [
        f"    3  {now:%Y-%m-%d}  dose at night",
        f"    1  {now - timedelta(days=3):%Y-%m-%d}  call [phone] about my dose",
    ]


# -- the installed command, as a real process ---------------------------------------------------

SCRIPT = Path(sys.executable).parent / "ldn-bot"


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            [str(SCRIPT)],
            id="console-script",
            marks=pytest.mark.skipif(not SCRIPT.exists(), reason=f"{SCRIPT} not installed"),
        ),
        pytest.param([sys.executable, "-m", "bot"], id="python-m-bot"),
    ],
)
def test_ask_json_stdin_answers_each_line_as_it_arrives(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONUNBUFFERED", "LDN_BOT_TOKEN"}}
    proc = subprocess.Popen(
        [*command, "ask", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        for question, status in (("What is LDN?", "answer"), ("I take tramadol", "safety")):
            # stdin stays open: the reply must arrive before the input ends.
            proc.stdin.write(question + "\n")
            proc.stdin.flush()
            line = pool.submit(proc.stdout.readline).result(timeout=READ_TIMEOUT)
            data = json.loads(line)
            assert set(data) == REPLY_KEYS
            assert (data["question"], data["status"]) == (question, status)
        proc.stdin.close()
        assert proc.wait(timeout=READ_TIMEOUT) == 0
        assert proc.stdout.read() == ""
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pool.shutdown(wait=True)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()

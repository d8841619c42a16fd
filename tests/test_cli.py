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
from bot.config import load_config
from knowledge import Engine, Reply, Status, load
from knowledge.loader import DEFAULT_PATH
from tests.test_knowledge import REPLY_KEYS

REPO = Path(__file__).resolve().parents[1]
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
    # The blank line gets its own line too, so that output line N answers input line N.
    assert [r["question"] for r in replies] == [questions[0], "", *questions[1:]]
    assert [r["status"] for r in replies] == ["answer", "empty", "safety", "fallback"]
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


def _ask_process(stdin: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONUNBUFFERED", "LDN_BOT_TOKEN"}}
    return subprocess.run(
        [sys.executable, "-m", "bot", "ask", *args],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        env=env,
        timeout=READ_TIMEOUT,
        check=False,
    )


def test_ask_json_stdin_decodes_bad_utf8_and_keeps_one_line_per_line() -> None:
    stdin = (
        b"What is LDN?\n\xff\xfe broken \xc3(\n\n   \nwhat\xe2\x80\xa8dose\r\nlast line no newline"
    )
    proc = _ask_process(stdin, "--json", "-")
    assert (proc.returncode, proc.stderr) == (0, b"")
    lines = proc.stdout.decode("utf-8").split("\n")
    assert lines[-1] == ""
    replies = [json.loads(line) for line in lines[:-1]]
    assert [r["question"] for r in replies] == [
        "What is LDN?",
        "\ufffd\ufffd broken \ufffd(",
        "",
        "   ",
        "what\u2028dose",
        "last line no newline",
    ]
    assert [r["status"] for r in replies][2:4] == ["empty", "empty"]
    # A line separator inside a question is escaped, so no reader splits the output line there.
    assert "\u2028" not in proc.stdout.decode("utf-8")
    assert len(proc.stdout.decode("utf-8").splitlines()) == len(replies)


def test_ask_into_a_closed_pipe_ends_quietly() -> None:
    questions = b"What is LDN?\n" * 3000
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONUNBUFFERED", "LDN_BOT_TOKEN"}}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        # The reader takes one line and goes away, as `| head -1` does.
        pool = ThreadPoolExecutor(max_workers=1)
        feeder = pool.submit(_feed, proc.stdin, questions)
        assert json.loads(proc.stdout.readline())["status"] == "answer"
        proc.stdout.close()
        code = proc.wait(timeout=READ_TIMEOUT)
        feeder.result(timeout=READ_TIMEOUT)
        pool.shutdown(wait=True)
        err = proc.stderr.read()
        assert err == b"", err
        assert code in (0, 141)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _feed(stream: io.BufferedWriter | object, data: bytes) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        stream.write(data)  # type: ignore[attr-defined]
        stream.close()  # type: ignore[attr-defined]


def test_ask_json_argument_that_is_blank_gets_the_empty_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["ask", "--json", "  "], capsys, monkeypatch)
    assert code == 0
    data = json.loads(out)
    assert set(data) == REPLY_KEYS and data["status"] == "empty"


def test_ask_prints_suggestions_as_questions_to_ask_next(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    clarify = clarify_case(engine)
    code, out, _ = run(["ask", clarify.question], capsys, monkeypatch)
    assert code == 0
    assert "number" not in out
    for suggestion in clarify.suggestions:
        assert f"  - {suggestion.question}\n" in out
    assert f'ldn-bot ask "{clarify.suggestions[0].question}"' in out


# -- help ---------------------------------------------------------------------------------------

COMMANDS = ("ask", "chat", "check", "run", "unanswered")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_says_what_it_does_and_lists_config(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--config" in out and "config.example.toml" in out
    usage, _, rest = out.partition("\n\n")
    assert usage.startswith(f"usage: ldn-bot {command}")
    description = rest.partition("\n\n")[0]
    assert len(description.split()) >= 8, description  # a sentence, not just the name
    if command in ("ask", "chat"):
        assert "does not record unanswered questions" in " ".join(out.split())


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"    {command} " in out


# -- check shows what answers will say ----------------------------------------------------------


def test_check_shows_the_clinic_values_and_warns_on_unset_ones(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[clinic]\nname = "Hill Pain Clinic"\nphone = "0113 496 0000"\nemergency_number = "999"\n',
        encoding="utf-8",
    )
    code, out, _ = run(["check", "--config", str(config)], capsys, monkeypatch)
    assert code == 0
    fill = load_config(config).clinic.placeholders()
    assert f"contact: {fill['clinic']}\n" in out and "Hill Pain Clinic on 0113 496 0000" in out
    assert "emergency: 999\n" in out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        'warning: [clinic] crisis_line is not set: answers show "a local crisis line"'
    ]


def test_check_warns_for_every_unset_clinic_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(["check"], capsys, monkeypatch)
    assert code == 0 and out.splitlines()[-1] == "OK"
    warned = {line.split()[2] for line in out.splitlines() if line.startswith("warning: [clinic]")}
    assert warned == {"name", "phone", "emergency_number", "crisis_line"}


# -- the database next to the config file ------------------------------------------------------


def test_unanswered_from_another_folder_reads_the_database_beside_the_config(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from store import Store, UnansweredQuestionRow

    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "bot.toml").write_text('[storage]\nurl = "sqlite:///ldn.db"\n', encoding="utf-8")
    store = Store.open(f"sqlite:///{conf / 'ldn.db'}")
    try:
        row = UnansweredQuestionRow("can i swim on ldn", "fallback", datetime.now(UTC))
        store.record_unanswered_many([row])
    finally:
        store.close()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, out, err = run(["unanswered", "--config", "../conf/bot.toml"], capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert "can i swim on ldn" in out
    assert not (tmp_path / "elsewhere" / "ldn.db").exists()


def test_unanswered_refuses_to_start_empty_when_the_database_is_at_the_old_place(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "bot.toml").write_text('[storage]\nurl = "sqlite:///ldn.db"\n', encoding="utf-8")
    (tmp_path / "ldn.db").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["unanswered", "--config", "conf/bot.toml"], capsys, monkeypatch)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ldn-bot: no database at ")
    assert not (conf / "ldn.db").exists()

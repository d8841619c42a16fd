"""`ldn-bot plan list/show`, `ldn-bot check` on plans, the [reminders] config, and a bad plans
file stopping `ldn-bot run` before polling with one line."""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import date, time
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, RemindersConfig, load_config
from reminders.parsing import parse_date, parse_time
from tests.fakebotapi import FakeBotApi

ROOT = Path(__file__).resolve().parent.parent
BAD_PLANS = (
    "plans:\n  - name: fast\n    steps:\n      - {dose_mg: 4.5, days: 3}\n      - {dose_mg: 9}\n"
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    old_in = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        code = main(argv)
    finally:
        sys.stdin = old_in
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def bad_config(tmp_path: Path) -> Path:
    (tmp_path / "plans.yaml").write_text(BAD_PLANS, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\nplans = "plans.yaml"\n', encoding="utf-8")
    return config


def test_plan_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", "list"], capsys)
    assert code == 0
    assert "standard" in out and "1.5 mg for 14 days, then 3 mg for 14 days, then 4.5 mg" in out
    assert "gentle" in out


def test_plan_show_prints_a_day_by_day_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plan", "show", "standard", "--start", "2026-12-07"], capsys)
    assert code == 0
    lines = [line for line in out.splitlines() if line.strip().startswith("day ")]
    assert len(lines) == 29  # 28 days of titration, then the first maintenance day
    assert "Mon 2026-12-07" in lines[0] and "1.5 mg" in lines[0]
    assert "Mon 2026-12-21" in lines[14] and "3 mg" in lines[14] and "step up" in lines[14]
    assert "4.5 mg" in lines[28] and "Maintenance" in lines[28]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "show", "nope"], "no plan named 'nope'"),
        (["plan", "show", "standard", "--start", "7 Dec"], "--start must be a date"),
    ],
)
def test_plan_show_bad_input_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_check_validates_the_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check"], capsys)
    assert code == 0 and "2 titration plans: standard, gentle" in out
    code, _, err = run(["check", "--config", str(bad_config(tmp_path))], capsys)
    assert code == 2
    assert err.strip() == (
        "ldn-bot: plans.yaml, plan 'fast', field 'steps[2].dose_mg': 9 mg is not a low dose "
        "(0-5 mg)"
    )


async def test_a_bad_plan_stops_start_up_with_one_line(tmp_path: Path) -> None:
    async with FakeBotApi(token="123:ABC") as server:
        config = bad_config(tmp_path)
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'[telegram]\ntoken = "123:ABC"\nbase_url = "{server.base_url}"\n'
            + f'[storage]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n',
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert not server.calls_to("getUpdates")
    lines = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 and "plan 'fast'" in lines[0] and lines[0].startswith("ldn-bot:")


def test_reminders_config(tmp_path: Path) -> None:
    assert load_config(None).reminders == RemindersConfig()
    file = tmp_path / "c.toml"
    file.write_text(
        "[reminders]\ntick_seconds = 30\ngrace_minutes = 60\nsnooze_minutes = 15\n"
        'nudge_after_minutes = 0\nplans = "mine.yaml"\n',
        encoding="utf-8",
    )
    reminders = load_config(file).reminders
    assert (reminders.tick_seconds, reminders.grace_minutes, reminders.snooze_minutes) == (
        30,
        60,
        15,
    )
    assert reminders.nudge_after_minutes == 0 and reminders.plans == tmp_path / "mine.yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tick_seconds = 1", "[reminders] tick_seconds must be between 5 and 600"),
        ("grace_minutes = -1", "grace_minutes must be between 0 and 720"),
        ('snooze_minutes = "30"', "snooze_minutes must be a whole number"),
        ("nudge = 5", "unknown key [reminders] nudge"),
    ],
)
def test_bad_reminders_config_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "c.toml"
    file.write_text(f"[reminders]\n{text}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21:30", time(21, 30)),
        (" 9:05pm ", time(21, 5)),
        ("9pm", time(21, 0)),
        ("12am", time(0, 0)),
        ("21.15", time(21, 15)),
        ("21h15", time(21, 15)),
        ("7:00", time(7, 0)),
        ("21", None),
        ("25:00", None),
        ("21:60", None),
        ("13pm", None),
        ("soon", None),
    ],
)
def test_parse_time(text: str, expected: time | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07", date(2026, 12, 7)),
        ("7.12.2026", date(2026, 12, 7)),
        ("7 Dec", date(2026, 12, 7)),
        ("Dec 7", date(2026, 12, 7)),
        ("7 December 2026", date(2026, 12, 7)),
        ("5 Jan", date(2027, 1, 5)),  # typed in December: next January
        ("today", date(2026, 12, 1)),
        ("Tomorrow", date(2026, 12, 2)),
        ("31 Feb", None),
        ("someday", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, date(2026, 12, 1)) == expected

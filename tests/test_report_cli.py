"""`ldn-bot stats`, `ldn-bot export` and `ldn-bot reload` against a seeded database.

The CLI reads the real clock, so the seed is laid out relative to today; the expected figures
are computed from the seed.
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config
from bot.reports import build_stats, clinic_today, stats_text
from reminders.adherence import adherence
from store import Store
from store.exports import COLUMNS
from tests.reportseed import seed_evenings

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    old_in = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        code = main(argv)
    finally:
        sys.stdin = old_in
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge" / "data", kb)
    config = tmp_path / "config.toml"
    config.write_text(
        '[clinic]\ntimezone = "Europe/London"\n'
        f'[knowledge]\npath = "kb"\n[storage]\nurl = "sqlite:///{tmp_path / "bot.sqlite3"}"\n',
        encoding="utf-8",
    )
    return config, kb


def test_stats_prints_what_stats_shows(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = setup
    now = datetime.now(UTC)
    today = clinic_today(load_config(config), now)
    with Store.open(load_config(config).storage.url) as store:
        evenings = seed_evenings(store, range(1, 11), today - timedelta(days=40), 40, now=now)
    code, out, _ = run(["stats", "--config", str(config)], capsys)
    assert code == 0
    window = [e.outcome for e in evenings if today - timedelta(days=7) <= e.evening < today]
    counted = adherence(window)
    assert f"{counted.taken} taken, {counted.skipped} skipped, {counted.missed} missed" in out
    with Store.open(load_config(config).storage.url) as store:
        assert out == stats_text(build_stats(store, load_config(config), now)) + "\n"


def test_export_writes_the_documented_columns(
    setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = setup
    now = datetime.now(UTC)
    today = clinic_today(load_config(config), now)
    first = today - timedelta(days=20)
    with Store.open(load_config(config).storage.url) as store:
        evenings = seed_evenings(store, range(1, 6), first, 21, now=now)
        store.record_consent(2, True, datetime.combine(first, time(0), UTC), "enrolment")
        store.link_clinic_ref(2, "MRN-2", now)
    out_file = tmp_path / "out.csv"
    since = today - timedelta(days=10)
    code, out, _ = run(
        ["export", "--since", since.isoformat(), "--out", str(out_file), "--config", str(config)],
        capsys,
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == COLUMNS
    expected = [e for e in evenings if e.chat_id == 2 and since <= e.evening <= today]
    assert [(r[0], r[2], r[6]) for r in rows[1:]] == [
        ("MRN-2", e.evening.isoformat(), e.outcome) for e in expected
    ]
    assert f"{len(expected)} patient-evenings" in out
    code, _, err = run(["export", "--since", "soon", "--out", str(out_file)], capsys)
    assert code == 2 and "YYYY-MM-DD" in err


def test_reload_rejects_a_broken_file_and_requests_a_good_one(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, kb = setup
    entries = kb / "entries.yaml"
    good = entries.read_text(encoding="utf-8")
    entries.write_text(good.replace("sources: [", "sources: [smith-2099, ", 1), encoding="utf-8")
    code, _, err = run(["reload", "--config", str(config), "--wait", "0"], capsys)
    assert code == 2
    assert "entries.yaml" in err and "sources" in err and "smith-2099" in err
    with Store.open(load_config(config).storage.url) as store:
        assert store.latest_reload_id() == 0  # nothing was asked of the bot
    entries.write_text(good, encoding="utf-8")
    code, out, _ = run(["reload", "--config", str(config), "--wait", "0"], capsys)
    assert code == 0 and "reload requested (#1)" in out
    with Store.open(load_config(config).storage.url) as store:
        request = store.get_reload(1)
        assert request is not None and request.state == "pending"

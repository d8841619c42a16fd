"""/stats, /export and /reload end to end, against a store seeded with known evenings.

The expected figures are computed here from the seed (tests/reportseed.py), never typed in.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import reports
from bot.alerts import ALERT_KINDS, process_alerts
from bot.context import Services
from bot.reload import check_requests
from knowledge import Engine, load
from reminders.adherence import adherence
from store.exports import COLUMNS, write_export
from tests.botharness import TOKEN, RunningBot, running_bot
from tests.fakebotapi import FakeBotApi, factories
from tests.reportseed import SeedAnswer, SeedEvening, seed_checkins, seed_evenings
from tests.staffharness import ADMIN, NURSE, say, sqlite_url, staff_config

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)  # London: Thu 10 Dec
TODAY = date(2026, 12, 10)
FIRST = date(2026, 10, 1)
SHARING = range(100, 110)  # agreed at enrolment, before the first evening
WITHDRAWN = range(110, 115)  # agreed, then withdrew on 20 Nov at noon
NEVER = range(115, 120)
WITHDRAWN_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


def stop_jobs(bot: RunningBot) -> None:
    """The tests run the jobs themselves, with a fixed clock; the scheduler's copies would race
    with them."""
    queue = bot.app.job_queue
    assert queue is not None
    for name in ("alerts", "reload", "reminders"):
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()


def services_of(bot: RunningBot) -> Services:
    services = bot.app.bot_data.services
    assert services is not None
    return services


@pytest.fixture
async def seeded(
    tmp_path: Path,
) -> AsyncIterator[tuple[RunningBot, list[SeedEvening], list[SeedAnswer]]]:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge" / "data", kb)
    plans = tmp_path / "plans.yaml"
    shutil.copy(ROOT / "reminders" / "data" / "plans.yaml", plans)
    async with FakeBotApi(token=TOKEN) as server:
        config = staff_config(
            server,
            sqlite_url(tmp_path / "bot.sqlite3"),
            knowledge={"path": str(kb)},
            reminders={"plans": str(plans)},
        )
        async with running_bot(server, config, engine=Engine(load(kb))) as running:
            services_of(running).clock = lambda: NOW
            stop_jobs(running)
            store = running.store
            days = (TODAY - FIRST).days + 1
            evenings = seed_evenings(store, range(100, 120), FIRST, days, now=NOW)
            answers = seed_checkins(store, evenings)
            for chat_id in [*SHARING, *WITHDRAWN]:
                store.record_consent(chat_id, True, NOW - timedelta(days=90), "enrolment")
                store.link_clinic_ref(chat_id, f"MRN-{chat_id}", NOW - timedelta(days=90))
            for chat_id in WITHDRAWN:
                store.record_consent(chat_id, False, WITHDRAWN_AT, "privacy")
            yield running, evenings, answers
        server.assert_no_violations()


def figure(taken: int, skipped: int, missed: int) -> str:
    counted = taken + skipped + missed
    return f"{taken} taken, {skipped} skipped, {missed} missed of {counted}"


async def test_stats_shows_the_figures_of_the_seed(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, evenings, answers = seeded
    reply = await say(bot, NURSE, "/stats")
    text = reply["text"]
    for days in (7, 30):
        window = [e.outcome for e in evenings if TODAY - timedelta(days=days) <= e.evening < TODAY]
        counted = adherence(window)
        assert figure(counted.taken, counted.skipped, counted.missed) in text
    assert "Patients with active reminders: 20" in text
    week = [a for a in answers if NOW - timedelta(days=7) <= a.recorded_at <= NOW]
    by_kind = Counter((a.item, a.severity) for a in week if a.severity is not None)
    for (item, severity), count in by_kind.items():
        line = next(
            line
            for line in text.splitlines()
            if line.strip().startswith(item.replace("_", " ") + ":")
        )
        assert f"{count} {severity}" in line
    none = sum(a.item == "none" for a in week)
    assert (f"none reported: {none}" in text) == (none > 0)
    assert "MRN-" not in text  # counts only


async def test_stats_counts_open_alerts_by_kind_without_naming_patients(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, _, _ = seeded
    events = [(100, "hold"), (101, "hold"), (102, "missed-3"), (NEVER[0], "hold")]
    for chat_id, kind in events:
        bot.store.record_event(chat_id, kind, NOW - timedelta(hours=1), ref="2026-12-09")
    await process_alerts(services_of(bot), NOW)
    (acknowledged, *_) = bot.store.open_alerts()
    bot.store.acknowledge_alert(acknowledged.id, NURSE, NOW)
    shared = Counter(kind for chat_id, kind in events if chat_id not in NEVER)
    shared[acknowledged.kind] -= 1
    text = (await say(bot, NURSE, "/stats"))["text"]
    assert f"Open alerts: {sum(shared.values())}" in text
    for kind, count in shared.items():
        assert f"  {ALERT_KINDS[kind]}: {count}" in text
    assert "MRN-" not in text and bot.store.pseudonym(100, NOW) not in text


async def test_export_sends_the_spec_columns_for_consenting_evenings(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, evenings, answers = seeded
    since = date(2026, 11, 1)
    mark = bot.server.mark()
    bot.server.push_update(factories.command(f"/export {since.isoformat()}", user_id=ADMIN))
    sent = await bot.server.wait_for(
        "sendDocument", lambda c: c.params.get("chat_id") == ADMIN, since=mark
    )
    document = sent.params["document"]
    assert document.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.body.decode("utf-8"))))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]

    def shared(night: SeedEvening) -> bool:
        due = datetime.combine(night.evening, time(21), UTC)
        return night.chat_id in SHARING or (night.chat_id in WITHDRAWN and due < WITHDRAWN_AT)

    expected = [e for e in evenings if since <= e.evening <= TODAY and shared(e)]
    got = [(r["clinic_ref"], r["evening"], r["outcome"], r["reminder"], r["step"]) for r in body]
    assert got == [
        (f"MRN-{e.chat_id}", e.evening.isoformat(), e.outcome, e.delivery, str(e.step + 1))
        for e in sorted(expected, key=lambda e: (e.chat_id, e.evening))
    ]
    pain = {(a.chat_id, a.evening.isoformat()): str(a.score) for a in answers if a.item == "pain"}
    for row in body:
        chat_id = int(row["clinic_ref"].removeprefix("MRN-"))
        assert row["pain"] == pain.get((chat_id, row["evening"]), "")
        assert row["pseudonym"] == bot.store.pseudonym(chat_id, NOW)  # as in the audit log
    assert str(sent.params.get("caption", "")).startswith(f"{len(body)} patient-evenings")
    (entry,) = bot.store.audit_entries(action="export")
    assert entry.actor == f"staff:{ADMIN}"


async def test_an_export_over_the_file_limit_is_sent_zipped_or_explained(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, _, _ = seeded
    since = date(2026, 10, 1)
    plain = io.StringIO()
    rows = write_export(bot.store, since, TODAY, plain, now=NOW)
    expected = plain.getvalue().encode("utf-8")
    # A limit under the plain CSV's size (as 6 months of 10,000 patients are under 50 MB).
    monkeypatch.setattr(reports, "MAX_DOCUMENT", len(expected) // 2)
    mark = bot.server.mark()
    bot.server.push_update(factories.command(f"/export {since.isoformat()}", user_id=ADMIN))
    sent = await bot.server.wait_for("sendDocument", to_admin, since=mark)
    document = sent.params["document"]
    assert document.filename == "ldn-export-20261001-20261210.zip"
    assert len(document.body) <= len(expected) // 2
    with zipfile.ZipFile(io.BytesIO(document.body)) as archive:
        assert archive.namelist() == ["ldn-export-20261001-20261210.csv"]
        assert archive.read("ldn-export-20261001-20261210.csv") == expected
    assert str(sent.params["caption"]).startswith(f"{rows} patient-evenings")
    assert "zipped" in str(sent.params["caption"])
    # Too large even zipped: a way out, and no document.
    monkeypatch.setattr(reports, "MAX_DOCUMENT", 100)
    reply = await say(bot, ADMIN, f"/export {since.isoformat()}")
    assert "too large" in reply["text"] and "ldn-bot export" in reply["text"]
    assert [c.method for c in bot.server.calls[mark:]].count("sendDocument") == 1


def to_admin(call: Any) -> bool:
    return bool(call.params.get("chat_id") == ADMIN)


async def test_export_with_a_bad_date_is_a_friendly_reply(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, _, _ = seeded
    reply = await say(bot, ADMIN, "/export someday")
    assert "for example /export" in reply["text"]


async def test_reload_good_then_broken_files(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, _, _ = seeded
    services = services_of(bot)
    config = services.config
    assert config.knowledge.path is not None and config.reminders.plans is not None
    before = services.engine
    regimen_before = bot.store.get_regimen(100)
    # A good edit: the standard plan's first dose changes; patients keep theirs.
    plans = config.reminders.plans
    plans.write_text(
        plans.read_text(encoding="utf-8").replace("dose_mg: 1.5", "dose_mg: 1"), "utf-8"
    )
    reply = await say(bot, ADMIN, "/reload")
    assert reply["text"].startswith("✅ Reloaded:")
    assert services.engine is not before
    assert services.require_plans().plans["standard"].steps[0].dose_mg != 1.5
    assert bot.store.get_regimen(100) == regimen_before
    good = services.engine
    # A broken entry: the error names file, entry and field; the old files stay in service.
    entries = config.knowledge.path / "entries.yaml"
    text = entries.read_text(encoding="utf-8")
    entries.write_text(text.replace("sources: [", "sources: [smith-2099, ", 1), "utf-8")
    reply = await say(bot, ADMIN, "/reload")
    assert reply["text"].startswith("⚠️ Not reloaded:")
    assert "entries.yaml" in reply["text"] and "smith-2099" in reply["text"]
    assert services.engine is good
    actions = [e.action for e in bot.store.audit_entries()]
    assert "reload" in actions and "reload-failed" in actions


async def test_a_reload_requested_through_the_store_is_applied(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, _, _ = seeded
    services = services_of(bot)
    assert await check_requests(services) is None  # the first look notes where things stand
    before = services.engine
    request_id = bot.store.request_reload(NOW, "cli")
    outcome = await check_requests(services)
    assert outcome is not None and outcome.ok and services.engine is not before
    record = bot.store.get_reload(request_id)
    assert record is not None and record.state == "done"
    assert await check_requests(services) is None


async def test_a_request_written_before_the_first_look_is_applied_once(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    # `ldn-bot reload` run just after the bot loaded its files, before its first look: the
    # request is still pending, and nobody else will answer it.
    bot, _, _ = seeded
    services = services_of(bot)
    answered = bot.store.request_reload(NOW - timedelta(hours=1), "cli")
    bot.store.finish_reload(answered, NOW - timedelta(hours=1), ok=True, result="earlier")
    pending = bot.store.request_reload(NOW, "cli")
    before = services.engine
    outcome = await check_requests(services)
    assert outcome is not None and outcome.ok and services.engine is not before
    record = bot.store.get_reload(pending)
    assert record is not None and record.state == "done"
    assert await check_requests(services) is None


async def test_a_first_look_does_not_reapply_an_answered_request(
    seeded: tuple[RunningBot, list[SeedEvening], list[SeedAnswer]],
) -> None:
    bot, _, _ = seeded
    services = services_of(bot)
    answered = bot.store.request_reload(NOW - timedelta(hours=1), "cli")
    bot.store.finish_reload(answered, NOW - timedelta(hours=1), ok=True, result="earlier")
    before = services.engine
    assert await check_requests(services) is None and services.engine is before

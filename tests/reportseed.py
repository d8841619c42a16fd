"""A store seeded with known evenings, for the report tests and bench/bench_reports.py.

Each patient's evenings come from a deterministic generator; the seed is returned as plain
values, so a test computes the expected figures from it instead of typing them in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert

from reminders import Regimen, load_plans
from store import Store
from store.models import CheckinAnswerRow, CheckinRow, EveningRow

BOOK = load_plans()
DELIVERIES = ("sent", "sent", "sent", "sent", "sent", "sent", "not_sent", "unknown", "blocked")
OUTCOMES = ("taken", "taken", "taken", "taken", "skipped", "missed", "missed")


@dataclass(frozen=True, slots=True)
class SeedEvening:
    chat_id: int
    evening: date
    step: int
    dose_mg: str
    delivery: str
    outcome: str


def seed_evenings(
    store: Store,
    chats: range | list[int],
    start: date,
    days: int,
    *,
    now: datetime,
    seed: int = 11,
    plan: str = "standard",
) -> list[SeedEvening]:
    """Give each chat a regimen starting at `start` and `days` evenings of random delivery and
    outcome (outcomes only where the reminder was delivered, or a late tap on an unknown one),
    inserted in batches. Returns what was inserted."""
    rng = random.Random(seed)
    made: list[SeedEvening] = []
    batch: list[dict[str, Any]] = []
    for chat_id in chats:
        regimen = Regimen.from_plan(BOOK.plans[plan], start, time(21), "Europe/London")
        store.save_regimen(chat_id, regimen, now)
        for offset in range(days):
            evening = start + timedelta(days=offset)
            night = regimen.tonight(evening)
            assert night is not None
            delivery = rng.choice(DELIVERIES)
            if delivery == "sent":
                outcome = rng.choice(OUTCOMES)
            elif delivery == "unknown":
                outcome = rng.choice(("none", "taken"))
            else:
                outcome = "none"
            due = datetime.combine(evening, time(21), UTC)
            made.append(
                SeedEvening(chat_id, evening, night.step, str(night.dose_mg), delivery, outcome)
            )
            batch.append(
                {
                    "chat_id": chat_id,
                    "evening": evening,
                    "dose_mg": str(night.dose_mg),
                    "previous_mg": None,
                    "step": night.step,
                    "step_up": False,
                    "label": night.label,
                    "due_at": due,
                    "ends_at": due + timedelta(hours=7),
                    "delivery": delivery,
                    "outcome": outcome,
                    "sent_at": due if delivery == "sent" else None,
                    "outcome_at": due + timedelta(hours=1) if outcome != "none" else None,
                }
            )
            if len(batch) >= 5000:
                insert_evenings(store, batch)
                batch = []
    if batch:
        insert_evenings(store, batch)
    return made


def insert_evenings(store: Store, rows: list[dict[str, Any]]) -> None:
    with store._write() as conn:
        conn.execute(insert(EveningRow), rows)


@dataclass(frozen=True, slots=True)
class SeedAnswer:
    chat_id: int
    evening: date
    item: str
    severity: str | None
    score: int | None
    recorded_at: datetime


ITEMS = ("vivid_dreams", "sleep", "nausea", "headache", "mood")
SEVERITIES = ("mild", "bothering", "severe")


def seed_checkins(
    store: Store, evenings: list[SeedEvening], *, every: int = 7, seed: int = 12
) -> list[SeedAnswer]:
    """A side-effect check-in on every `every`-th evening of each patient (answered with one
    to two items, or "none") and a pain score; inserted as the check-ins would store them."""
    rng = random.Random(seed)
    made: list[SeedAnswer] = []
    checkins: list[dict[str, Any]] = []
    for index, night in enumerate(evenings):
        if index % every:
            continue
        due = datetime.combine(night.evening, time(21), UTC)
        checkins.append(
            {
                "chat_id": night.chat_id,
                "local_date": night.evening,
                "kind": "side_effects",
                "step": night.step,
                "dose_mg": night.dose_mg,
                "delivery": "sent",
                "due_at": due,
                "expires_at": due + timedelta(hours=7),
                "sent_at": due,
            }
        )
        at = due + timedelta(minutes=5)
        if rng.random() < 0.3:
            made.append(SeedAnswer(night.chat_id, night.evening, "none", None, None, at))
        else:
            for item in rng.sample(ITEMS, rng.randint(1, 2)):
                severity = rng.choice(SEVERITIES)
                made.append(SeedAnswer(night.chat_id, night.evening, item, severity, None, at))
        made.append(SeedAnswer(night.chat_id, night.evening, "pain", None, rng.randint(0, 10), at))
    with store._write() as conn:
        ids = {}
        for start in range(0, len(checkins), 5000):
            part = checkins[start : start + 5000]
            for row in conn.execute(
                insert(CheckinRow).returning(
                    CheckinRow.id, CheckinRow.chat_id, CheckinRow.local_date
                ),
                part,
            ):
                ids[(row.chat_id, row.local_date)] = row.id
        answers = [
            {
                "checkin_id": ids[(a.chat_id, a.evening)],
                "chat_id": a.chat_id,
                "item": a.item,
                "severity": a.severity,
                "score": a.score,
                "recorded_at": a.recorded_at,
            }
            for a in made
        ]
        for start in range(0, len(answers), 5000):
            conn.execute(insert(CheckinAnswerRow), answers[start : start + 5000])
    return made

"""Reports for clinic staff: the figures of /stats and the rows of the export.

Counts only. The queries read; the arithmetic (adherence, missed runs) is in
:mod:`reminders.adherence`, so the CLI, the bot and the tests share one definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from reminders.adherence import COUNTED, Adherence

from .base import StoreBase, _aware
from .models import EveningRow, RegimenRow
from .records import _stored

if TYPE_CHECKING:
    from .core import Store

TOP_UNANSWERED = 5


@dataclass(frozen=True, slots=True)
class StepCount:
    plan: str
    step: int  # 1-based, as staff read it
    dose_mg: Decimal
    patients: int


@dataclass(frozen=True, slots=True)
class SideEffectCount:
    item: str
    severity: str
    count: int


@dataclass(frozen=True)
class StatsReport:
    """What /stats and `ldn-bot stats` show. ``today`` is the clinic's date; the adherence
    windows are the evenings before it (7 and 30 of them); side effects are those recorded in
    the 7 days up to ``at``."""

    at: datetime
    today: date
    active: int
    paused: int
    not_started: int
    per_step: tuple[StepCount, ...]
    adherence_7: Adherence
    adherence_30: Adherence
    side_effects: tuple[SideEffectCount, ...] = ()
    no_side_effects: int = 0
    open_alerts: dict[str, int] = field(default_factory=dict)
    unanswered: tuple[tuple[str, int], ...] = ()


class ReportQueries(StoreBase):
    def adherence_between(self, first: date, last: date) -> Adherence:
        """Outcomes of the evenings from `first` to `last` (inclusive), all patients."""
        with self._read() as conn:
            rows = conn.execute(
                select(EveningRow.outcome, func.count())
                .where(
                    EveningRow.evening >= first,
                    EveningRow.evening <= last,
                    EveningRow.outcome.in_(COUNTED),
                )
                .group_by(EveningRow.outcome)
            ).all()
        counts = {r[0]: int(r[1]) for r in rows}
        return Adherence(counts.get("taken", 0), counts.get("skipped", 0), counts.get("missed", 0))

    def regimen_census(self, now: datetime) -> tuple[int, int, int, tuple[StepCount, ...]]:
        """(active, paused, not started yet, active patients per plan step) at `now`, each
        patient's step read from their own regimen on their own evening."""
        _aware(now)
        active = paused = not_started = 0
        steps: Counter[tuple[str, int, Decimal]] = Counter()
        with self._read() as conn:
            rows = conn.execute(select(RegimenRow).where(RegimenRow.state != "stopped"))
            for row in rows:
                if row.state == "paused":
                    paused += 1
                    continue
                active += 1
                regimen = _stored(row).regimen
                night = regimen.tonight(regimen.evening_of(now))
                if night is None:
                    not_started += 1
                    continue
                steps[(regimen.plan_name, night.step + 1, night.dose_mg)] += 1
        per_step = tuple(
            StepCount(plan, step, dose, n) for (plan, step, dose), n in sorted(steps.items())
        )
        return active, paused, not_started, per_step


def side_effect_counts(
    answers: Iterable[tuple[str, str | None]],
) -> tuple[tuple[SideEffectCount, ...], int]:
    """(item, severity) answers counted by kind and severity; and how many said "none"."""
    counts: Counter[tuple[str, str]] = Counter()
    none = 0
    for item, severity in answers:
        if item == "none":
            none += 1
        elif severity is not None and item != "pain":
            counts[(item, severity)] += 1
    found = tuple(SideEffectCount(i, s, n) for (i, s), n in sorted(counts.items()))
    return found, none


def stats_report(store: Store, now: datetime, today: date) -> StatsReport:
    """The figures of /stats at `now`; `today` is the clinic's date at `now`."""
    active, paused, not_started, per_step = store.regimen_census(now)
    yesterday = today - timedelta(days=1)
    answers = store.checkin_answers_between(now - timedelta(days=7), now)
    side_effects, none = side_effect_counts((a.item, a.severity) for a in answers)
    return StatsReport(
        at=now,
        today=today,
        active=active,
        paused=paused,
        not_started=not_started,
        per_step=per_step,
        adherence_7=store.adherence_between(today - timedelta(days=7), yesterday),
        adherence_30=store.adherence_between(today - timedelta(days=30), yesterday),
        side_effects=side_effects,
        no_side_effects=none,
        open_alerts=store.open_alert_counts(),
        unanswered=tuple(
            (row.question, row.count)
            for row in store.unanswered_report(now, 90, limit=TOP_UNANSWERED)
        ),
    )

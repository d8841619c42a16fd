"""Charts and history: what /schedule's chart and /history cost.

    python bench/bench_charts.py [--renders 60] [--queries 300] [--url URL] [--save PNG]

1. /schedule's chart for a 6-month plan (26 weekly steps, then maintenance; 180 evenings
   marked, 26 pain scores): the first render in a fresh process (matplotlib's import
   included), then the median and p99 of `--renders` more, the PNG's size, and memory: the
   process's peak resident size after them and tracemalloc's peak for one render;
2. /history for a patient with a year of evenings (365, with check-ins and answers): the
   handler's work without Telegram (the store's two reads and the text), median and p99 of
   `--queries`; and the chart's read of the same year (400 evenings) with its data.

The default database is a SQLite file; `--url postgresql+psycopg://...` measures (2) on
PostgreSQL instead (in a fresh schema, dropped afterwards). Prints figures only.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bot.chart import chart_data, render_png  # noqa: E402
from bot.handlers.history import CHART_EVENINGS, HISTORY_EVENINGS, nights  # noqa: E402
from bot.history_texts import history_html  # noqa: E402
from reminders import Regimen, Step  # noqa: E402
from reminders.history import Night  # noqa: E402
from store import Store  # noqa: E402
from store.engine import normalize_url  # noqa: E402
from store.models import CheckinAnswerRow, CheckinRow, EveningRow  # noqa: E402

START = date(2025, 12, 1)
CHAT = 424242


def six_month_regimen() -> Regimen:
    steps = tuple(Step(Decimal("0.5") + Decimal("0.25") * (n // 2), 7) for n in range(26))
    return Regimen("long", (*steps, Step(Decimal("4.5"), None)), START, clock_time(21), "UTC")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def chart_figures(renders: int, save: Path | None) -> None:
    regimen = six_month_regimen()
    days = 180
    marks = ("taken",) * 8 + ("skipped", "missed")
    history = []
    for n in range(days):
        evening = START + timedelta(days=n)
        night = regimen.tonight(evening)
        assert night is not None
        history.append(Night(evening, night.dose_mg, "sent", marks[n % len(marks)]))
    pain = [(START + timedelta(days=6 + 7 * n), (n * 3) % 11) for n in range(26)]
    data = chart_data(regimen, history, pain, START + timedelta(days=days - 1))

    before_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    png = render_png(data)
    first = time.perf_counter() - started
    if save is not None:
        save.write_bytes(png)
    times = []
    for _ in range(renders):
        started = time.perf_counter()
        render_png(data)
        times.append(time.perf_counter() - started)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    render_png(data)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"chart, 6-month plan ({len(data.days)} days, {days} marks, {len(pain)} pain scores):")
    print(f"  first render (matplotlib import included): {first * 1000:.0f} ms")
    print(
        f"  render over {renders}: median {statistics.median(times) * 1000:.0f} ms, "
        f"p99 {percentile(times, 0.99) * 1000:.0f} ms"
    )
    print(f"  PNG: {len(png) / 1024:.0f} KiB")
    print(
        f"  memory: peak resident {before_rss_mb:.0f} MB before the first render, "
        f"{peak_rss_mb:.0f} MB after them; "
        f"tracemalloc peak of one render {traced_peak / 1e6:.1f} MB"
    )


def year_of_evenings(store: Store) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    store.record_chat(CHAT, "private", now, started=True)
    regimen = six_month_regimen()
    store.save_regimen(CHAT, regimen, now)
    outcomes = ("taken",) * 8 + ("skipped", "missed")
    evenings: list[dict[str, Any]] = []
    checkins: list[dict[str, Any]] = []
    for n in range(365):
        evening = START + timedelta(days=n)
        night = regimen.tonight(evening)
        assert night is not None
        due = datetime.combine(evening, clock_time(21), UTC)
        evenings.append(
            {
                "chat_id": CHAT,
                "evening": evening,
                "dose_mg": str(night.dose_mg),
                "previous_mg": None,
                "step": night.step,
                "step_up": night.step_up,
                "label": night.label,
                "due_at": due,
                "ends_at": due + timedelta(hours=7),
                "delivery": "sent",
                "outcome": outcomes[n % len(outcomes)],
            }
        )
        for kind in ("pain",) if n % 7 == 6 else ("side_effects",) if n % 7 == 3 else ():
            checkins.append(
                {
                    "chat_id": CHAT,
                    "local_date": evening,
                    "kind": kind,
                    "step": night.step,
                    "dose_mg": str(night.dose_mg),
                    "delivery": "sent",
                    "due_at": due,
                    "expires_at": due + timedelta(hours=7),
                }
            )
    engine = store._engine  # a bench fills the tables in bulk
    with engine.begin() as conn:
        conn.execute(insert(EveningRow), evenings)
        ids = conn.execute(
            insert(CheckinRow).returning(CheckinRow.id, CheckinRow.kind), checkins
        ).all()
        answers = []
        for checkin_id, kind in ids:
            answer = {"checkin_id": checkin_id, "chat_id": CHAT, "recorded_at": now}
            if kind == "pain":
                answers.append({**answer, "item": "pain", "severity": None, "score": 5})
            else:
                answers.append({**answer, "item": "sleep", "severity": "mild", "score": None})
                answers.append({**answer, "item": "nausea", "severity": "bothering", "score": None})
        conn.execute(insert(CheckinAnswerRow), answers)


def history_figures(store: Store, queries: int) -> None:
    year_of_evenings(store)
    today = START + timedelta(days=364)
    times = []
    for _ in range(queries):
        started = time.perf_counter()
        evenings = store.evenings_for_chat(CHAT, HISTORY_EVENINGS)
        answers = store.checkin_answers_for_chat(CHAT, today - timedelta(days=HISTORY_EVENINGS))
        html = history_html(nights(evenings), answers, today)
        times.append(time.perf_counter() - started)
    assert "last 30 days" in html
    print(f"/history, a year of evenings ({store.backend}):")
    print(
        f"  store reads + text over {queries}: median {statistics.median(times) * 1000:.2f} ms, "
        f"p99 {percentile(times, 0.99) * 1000:.2f} ms"
    )
    stored = store.get_regimen(CHAT)
    assert stored is not None
    times = []
    for _ in range(max(queries // 10, 5)):
        started = time.perf_counter()
        evenings = store.evenings_for_chat(CHAT, CHART_EVENINGS)
        answers = store.checkin_answers_for_chat(CHAT)
        pain = [(a.local_date, a.score) for a in answers if a.score is not None]
        chart_data(stored.regimen, nights(evenings), pain, today)
        times.append(time.perf_counter() - started)
    print(
        f"  the chart's reads + data for the same year: median "
        f"{statistics.median(times) * 1000:.1f} ms, p99 {percentile(times, 0.99) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=60)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--url", default=None, help="PostgreSQL URL for (2); default SQLite")
    parser.add_argument("--save", type=Path, default=None, help="write the chart's PNG here")
    args = parser.parse_args()
    chart_figures(args.renders, args.save)
    if args.url:
        schema = f"bench_{uuid.uuid4().hex}"
        admin = create_engine(normalize_url(args.url))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = normalize_url(args.url).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            with Store.open(url.render_as_string(hide_password=False)) as store:
                history_figures(store, args.queries)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        Store.open(f"sqlite:///{folder}/bench.sqlite3") as store,
    ):
        history_figures(store, args.queries)


if __name__ == "__main__":
    main()

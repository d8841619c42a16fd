"""Staff reports at scale: /stats and the export for 10,000 patients with 6 months of evenings.

    python bench/bench_reports.py [--patients 10000] [--days 182] [--url URL] [--repeat 3]

Seeds a database (SQLite file by default; `--url postgresql+psycopg://...` uses a fresh
schema, dropped afterwards) with a regimen per patient, one evening per patient per day with
random deliveries and outcomes, a side-effect check-in a week with a pain score, and consent
for 70% of the patients (a tenth of them withdrawn halfway). Then times what /stats and
`ldn-bot stats` compute (the report) and what /export and `ldn-bot export` write (the CSV),
and prints the figures, the export's size and the process's peak memory. Figures only.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.reports import (  # noqa: E402
    ExportDocument,
    export_document,
    stats_text,
)
from store import Store  # noqa: E402
from store.exports import write_export  # noqa: E402
from store.reports import stats_report  # noqa: E402
from tests.reportseed import insert_evenings, seed_checkins, seed_evenings  # noqa: E402

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
BATCH = 250


def seed(store: Store, patients: int, days: int) -> None:
    first = NOW.date() - timedelta(days=days - 1)
    withdrawn_at = NOW - timedelta(days=days // 2)
    for start in range(1, patients + 1, BATCH):
        chats = range(start, min(start + BATCH, patients + 1))
        evenings = seed_evenings(store, chats, first, days, now=NOW, seed=start)
        seed_checkins(store, evenings, seed=start)
        for chat_id in chats:
            if chat_id % 10 < 7:
                store.record_consent(chat_id, True, NOW - timedelta(days=days + 1), "enrolment")
                store.link_clinic_ref(chat_id, f"MRN-{chat_id:06d}", NOW - timedelta(days=days))
            if chat_id % 10 == 0:
                store.record_consent(chat_id, False, withdrawn_at, "privacy")


def timed(label: str, repeat: int, run: object) -> float:
    assert callable(run)
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - began)
    median = statistics.median(seconds)
    print(f"{label}: median {median:.2f} s (min {min(seconds):.2f}, max {max(seconds):.2f})")
    return median


def close_night(store: Store, patients: int) -> None:
    """The reminders' nightly close with the missed-run check: every patient's next evening
    sent and unanswered, closed as missed at once (the day boundary's one big tick)."""
    evening = NOW.date() + timedelta(days=1)
    due = datetime.combine(evening, datetime.min.time(), UTC) + timedelta(hours=21)
    rows = [
        {
            "chat_id": chat_id,
            "evening": evening,
            "dose_mg": "4.5",
            "previous_mg": None,
            "step": 2,
            "step_up": False,
            "label": "Maintenance",
            "due_at": due,
            "ends_at": due + timedelta(hours=7),
            "delivery": "sent",
            "outcome": "none",
        }
        for chat_id in range(1, patients + 1)
    ]
    insert_evenings(store, rows)
    began = time.perf_counter()
    closed = store.close_missed(due + timedelta(hours=8))
    seconds = time.perf_counter() - began
    events = sum(1 for _ in store.events_without_alert(["missed-3"], NOW, limit=patients))
    print(
        f"close_missed with the missed-run check: {closed} evenings in {seconds:.2f} s, "
        f"{events} missed-3 events"
    )


def measure(url: str, args: argparse.Namespace, out_dir: Path) -> None:
    store = Store.open(url)
    try:
        began = time.perf_counter()
        seed(store, args.patients, args.days)
        print(
            f"seeded {args.patients} patients x {args.days} evenings on {store.backend} "
            f"in {time.perf_counter() - began:.0f} s"
        )
        today = NOW.date()
        timed("stats report (/stats, ldn-bot stats)", args.repeat,
              lambda: stats_text(stats_report(store, NOW, today)))  # fmt: skip
        print(stats_text(stats_report(store, NOW, today)).split("\n\nTop")[0])
        target = out_dir / "export.csv"
        rows = 0

        def export() -> None:
            nonlocal rows
            with target.open("w", encoding="utf-8", newline="") as file:
                rows = write_export(store, today - timedelta(days=args.days), today, file, now=NOW)

        seconds = timed("export, 6 months (/export, ldn-bot export)", args.repeat, export)
        size = target.stat().st_size
        print(f"export: {rows} rows, {size / 1e6:.1f} MB, {rows / seconds:,.0f} rows/s")
        month = today - timedelta(days=30)

        def export_month() -> None:
            with (out_dir / "month.csv").open("w", encoding="utf-8", newline="") as file:
                write_export(store, month, today, file, now=NOW)

        timed("export, last 30 days (/export default)", args.repeat, export_month)
        made: list[ExportDocument] = []

        def document() -> None:
            since = today - timedelta(days=args.days)
            made[:] = [export_document(store, since, today, NOW)]

        timed("/export's document, 6 months (zipped when over 50 MB)", 1, document)
        sent = made[0]
        size_sent = "too large" if sent.data is None else f"{len(sent.data) / 1e6:.1f} MB"
        print(f"/export sends {sent.name}: {size_sent}")
        close_night(store, args.patients)
    finally:
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", default=None, help="postgresql+psycopg://... (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.url is None:
            measure(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args, Path(tmp))
            return
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(args.url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            separator = "&" if "?" in args.url else "?"
            measure(f"{args.url}{separator}options=-csearch_path%3D{schema}", args, Path(tmp))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()

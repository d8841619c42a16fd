"""The staff reports as text: one rendering for /stats and `ldn-bot stats`."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.alerts import ALERT_KINDS
from bot.config import Config
from reminders.adherence import Adherence
from reminders.plan import mg
from store import Store
from store.exports import write_export
from store.reports import StatsReport, stats_report

SEVERITY_ORDER = ("severe", "bothering", "mild")
# Telegram takes documents of up to 50 MB from bots; a little under, for the multipart framing.
MAX_DOCUMENT = 49 * 1024 * 1024
SPOOL = 8 * 1024 * 1024  # an export larger than this is written to a temporary file


@dataclass(frozen=True)
class ExportDocument:
    """The export as /export sends it: the CSV, or the CSV zipped when the plain file is over
    `limit` (a CSV shrinks about tenfold, so six months of a large clinic still fits); `data`
    is None when even the zip is too large."""

    name: str
    data: bytes | None
    rows: int
    zipped: bool


def export_document(
    store: Store, since: date, until: date, now: datetime, *, limit: int = MAX_DOCUMENT
) -> ExportDocument:
    """Write the export (blocking: run in a worker thread), memory bounded by the larger of
    `limit` and the spool."""
    name = f"ldn-export-{since:%Y%m%d}-{until:%Y%m%d}"
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        rows = write_export(store, since, until, text, now=now)
        text.flush()
        text.detach()  # the wrapper must not close the file it writes to
        size = raw.tell()
        raw.seek(0)
        if size <= limit:
            return ExportDocument(f"{name}.csv", raw.read(), rows, zipped=False)
        packed = io.BytesIO()
        with (
            zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open(f"{name}.csv", "w", force_zip64=True) as member,
        ):
            shutil.copyfileobj(raw, member)
    data = packed.getvalue()
    return ExportDocument(f"{name}.zip", data if len(data) <= limit else None, rows, zipped=True)


def clinic_today(config: Config, now: datetime) -> date:
    """The clinic's date at `now` ([clinic] timezone)."""
    return now.astimezone(ZoneInfo(config.clinic_timezone)).date()


def build_stats(store: Store, config: Config, now: datetime) -> StatsReport:
    return stats_report(store, now, clinic_today(config, now))


def _ratio(figure: Adherence) -> str:
    if figure.ratio is None:
        return "no evenings recorded"
    return (
        f"{figure.ratio:.0%} taken ({figure.taken} taken, {figure.skipped} skipped, "
        f"{figure.missed} missed of {figure.counted})"
    )


def stats_text(report: StatsReport) -> str:
    """The report as plain lines (counts only, no patient appears)."""
    lines = [
        f"LDN bot statistics, {report.today:%a %d %b %Y}",
        "",
        f"Patients with active reminders: {report.active}"
        + (f" (+{report.paused} paused)" if report.paused else ""),
    ]
    if report.not_started:
        lines.append(f"  plan not started yet: {report.not_started}")
    for step in report.per_step:
        lines.append(f"  {step.plan}, step {step.step} ({mg(step.dose_mg)} mg): {step.patients}")
    lines += [
        "",
        "Adherence (taken of the evenings answered or missed):",
        f"  last 7 days:  {_ratio(report.adherence_7)}",
        f"  last 30 days: {_ratio(report.adherence_30)}",
        "",
        "Side effects reported in the last 7 days:",
    ]
    if report.side_effects or report.no_side_effects:
        by_item: dict[str, dict[str, int]] = {}
        for count in report.side_effects:
            by_item.setdefault(count.item, {})[count.severity] = count.count
        for item in sorted(by_item):
            parts = [
                f"{by_item[item][severity]} {severity}"
                for severity in SEVERITY_ORDER
                if severity in by_item[item]
            ]
            lines.append(f"  {item.replace('_', ' ')}: {', '.join(parts)}")
        if report.no_side_effects:
            lines.append(f"  none reported: {report.no_side_effects}")
    else:
        lines.append("  none")
    total = sum(report.open_alerts.values())
    lines += ["", f"Open alerts: {total}"]
    for kind, open_count in sorted(report.open_alerts.items()):
        lines.append(f"  {ALERT_KINDS.get(kind, kind)}: {open_count}")
    if total:
        lines.append("  (/alerts lists them)")
    lines += ["", "Top unanswered questions (90 days):"]
    if report.unanswered:
        lines += [f"  {count:>4}  {question}" for question, count in report.unanswered]
    else:
        lines.append("  none")
    return "\n".join(lines)

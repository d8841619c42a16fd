"""The staff reports as text: one rendering for /stats and `ldn-bot stats`."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.config import Config
from reminders.adherence import Adherence
from reminders.plan import mg
from store import Store
from store.reports import StatsReport, stats_report

SEVERITY_ORDER = ("severe", "bothering", "mild")


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
        lines.append(f"  {kind}: {open_count}")
    lines += ["", "Top unanswered questions (90 days):"]
    if report.unanswered:
        lines += [f"  {count:>4}  {question}" for question, count in report.unanswered]
    else:
        lines.append("  none")
    return "\n".join(lines)

"""/schedule's chart: the plan's dose steps over its weeks, each evening's taken / skipped /
missed mark, and the pain score as a second line. A PNG, readable on a phone.

:func:`chart_data` gathers plain values; :func:`render_png` draws them with matplotlib's
object API (``Figure`` and the Agg canvas, never pyplot, which keeps global state and is not
safe in a server). matplotlib is imported inside :func:`render_png`, so the bot's start-up
does not pay for it (about 0.4 s), and the render runs off the event loop (the caller uses a
worker thread of its own, one chart at a time: :mod:`bot.handlers.history`).

Readability: large type, a white background, and marks that differ by shape as well as by
colour (the Okabe-Ito palette, safe for the common kinds of colour blindness).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from reminders import Regimen
from reminders.history import Night, status
from reminders.plan import titration_days

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

# Okabe-Ito colours; every mark also has its own shape.
BLUE: Final = "#0072B2"
GREEN: Final = "#009E73"
ORANGE: Final = "#E69F00"
VERMILION: Final = "#D55E00"
PURPLE: Final = "#CC79A7"
INK: Final = "#111111"

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.6, 150  # 1200 x 840 pixels: sharp on a phone, small file
MAINTENANCE_SHOWN = 14  # days of the open-ended last step drawn after the titration
MAX_DAYS = 400  # a chart wider than this shows its most recent days
TITLE_FITS = 34  # characters of the bold title that fit at full size


@dataclass(frozen=True, slots=True)
class ChartData:
    title: str
    days: tuple[date, ...]  # every evening drawn, in order
    doses: tuple[float, ...]  # the plan's dose on each of them (holds applied)
    taken: tuple[tuple[date, float], ...]
    skipped: tuple[tuple[date, float], ...]
    missed: tuple[tuple[date, float], ...]
    pain: tuple[tuple[date, int], ...]
    today: date
    paused: tuple[date, ...] = ()  # evenings not reminded because the patient paused


def chart_data(
    regimen: Regimen,
    nights: Sequence[Night],
    pain: Sequence[tuple[date, int]],
    today: date,
    *,
    state: str = "",
) -> ChartData:
    """The plan from its start to two weeks into maintenance (or to today, when later), with
    the recorded evenings and pain scores on it. `state` ("paused", "stopped") is said in the
    title, so that a chart without marks lately explains itself."""
    span = titration_days(regimen.steps) + sum(h.days for h in regimen.holds) + MAINTENANCE_SHOWN
    last = max(regimen.start + timedelta(days=span - 1), today)
    first = max(regimen.start, last - timedelta(days=MAX_DAYS - 1))
    days: list[date] = []
    doses: list[float] = []
    evening = first
    while evening <= last:
        night = regimen.tonight(evening)
        assert night is not None  # on or after the start
        days.append(evening)
        doses.append(float(night.dose_mg))
        evening += timedelta(days=1)
    marks: dict[str, list[tuple[date, float]]] = {
        "taken": [],
        "skipped": [],
        "missed": [],
        "paused": [],
    }
    for recorded in nights:
        shown = status(recorded)
        if shown in marks and first <= recorded.evening <= last:
            marks[shown].append((recorded.evening, float(Decimal(recorded.dose_mg))))
    title = f"Your plan: {regimen.plan_title or regimen.plan_name}"
    if state in ("paused", "stopped"):
        title += f" (reminders {state})"
    return ChartData(
        title=title,
        days=tuple(days),
        doses=tuple(doses),
        taken=tuple(sorted(marks["taken"])),
        skipped=tuple(sorted(marks["skipped"])),
        missed=tuple(sorted(marks["missed"])),
        pain=tuple(sorted((d, s) for d, s in pain if first <= d <= last)),
        today=today,
        paused=tuple(sorted(d for d, _ in marks["paused"])),
    )


def render_png(data: ChartData) -> bytes:
    """Draw the chart; returns PNG bytes. Blocking: call it in a worker thread."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = max(data.doses) if data.doses else 5.0
    ax.step(date2num(data.days), data.doses, where="post", color=BLUE, linewidth=4, zorder=2)
    # Taken marks shrink as the days drawn grow, so that a long plan's evenings stay apart;
    # skipped and missed, the exceptions worth seeing, stay large enough to find on a phone.
    scale = max(0.42, min(1.0, (45 / max(len(data.days), 1)) ** 0.5))
    _marks(ax, data.taken, "o", GREEN, 12 * scale)
    _marks(ax, data.skipped, "^", ORANGE, max(10.0, 14 * scale))
    _marks(ax, data.missed, "X", VERMILION, max(10.0, 14 * scale))
    if data.paused:
        # A pale band under paused evenings: why they have no mark, without a colour to learn.
        for day in data.paused:
            start = float(date2num(day))
            ax.axvspan(start - 0.5, start + 0.5, color="#DDDDDD", linewidth=0, zorder=0)
    if data.days and data.days[0] <= data.today <= data.days[-1]:
        ax.axvline(float(date2num(data.today)), color=INK, linestyle=":", linewidth=2, zorder=1)
        # Near either edge the label leans inwards, so that it is never cut off.
        where = (data.today - data.days[0]).days / max(len(data.days) - 1, 1)
        ax.annotate(
            "today",
            (float(date2num(data.today)), top * 1.22),
            fontsize=16,
            ha="left" if where < 0.08 else "right" if where > 0.92 else "center",
            va="top",
            color=INK,
            backgroundcolor="white",
        )
    ax.set_ylim(0, top * 1.3)
    ax.set_ylabel("Dose (mg)", fontsize=18, color=INK)
    ax.tick_params(axis="both", labelsize=16, colors=INK, width=1.5, length=6)
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(DateFormatter("%-d %b"))
    ax.grid(axis="y", color="#BBBBBB", linewidth=1)
    for side in ("top",):
        ax.spines[side].set_visible(False)
    # The legend shows every kind of mark at full size, whatever the size drawn.
    handles: list[Artist] = [Line2D([], [], color=BLUE, linewidth=4)]
    labels = ["Plan dose"]
    for points, marker, colour, label in (
        (data.taken, "o", GREEN, "Taken"),
        (data.skipped, "^", ORANGE, "Skipped"),
        (data.missed, "X", VERMILION, "Missed"),
    ):
        if points:
            handles.append(_legend_mark(marker, colour))
            labels.append(label)
    if data.paused:
        from matplotlib.patches import Patch

        handles.append(Patch(color="#DDDDDD"))
        labels.append("Paused")
    if data.pain:
        pain_ax = ax.twinx()
        days = date2num([d for d, _ in data.pain])
        scores = [s for _, s in data.pain]
        (line,) = pain_ax.plot(
            days,
            scores,
            color=PURPLE,
            linewidth=3,
            linestyle="--",
            marker="s",
            markersize=10,
            markeredgecolor=INK,
        )
        pain_ax.set_ylim(0, 13)
        pain_ax.set_yticks([0, 2, 4, 6, 8, 10])
        pain_ax.set_ylabel("Pain score", fontsize=18, color=INK)
        pain_ax.tick_params(axis="y", labelsize=16, colors=INK)
        pain_ax.spines["top"].set_visible(False)
        handles.append(line)
        labels.append("Pain (0-10)")
    # A long plan name (or "reminders paused") gets smaller type rather than being cut off.
    size = max(14.0, min(22.0, 22 * TITLE_FITS / max(len(data.title), 1)))
    ax.set_title(data.title, fontsize=size, fontweight="bold", color=INK, loc="left", pad=14)
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(len(labels), 3),
        fontsize=16,
        frameon=False,
        handlelength=1.6,
    )
    fig.subplots_adjust(left=0.12, right=0.88, top=0.88, bottom=0.28 if len(labels) > 3 else 0.21)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor="white")
    return out.getvalue()


def _legend_mark(marker: str, colour: str) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D(
        [], [], linestyle="none", marker=marker, markersize=13, color=colour, markeredgecolor=INK
    )


def _marks(
    ax: Axes, points: Sequence[tuple[date, float]], marker: str, colour: str, size: float
) -> None:
    from matplotlib.dates import date2num

    if not points:
        return
    ax.plot(
        date2num([d for d, _ in points]),
        [v for _, v in points],
        linestyle="none",
        marker=marker,
        markersize=size,
        color=colour,
        markeredgecolor=INK,
        markeredgewidth=1.2 if size >= 9 else 0.8,
        zorder=3,
    )

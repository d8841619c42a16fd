"""The clinic's export: one CSV row per patient-evening, consenting patients only.

An evening is included only when the patient had agreed to share at that evening's reminder
time (their consent history, :mod:`store.sharing`). Columns, in order (:data:`COLUMNS`):

    clinic_ref       the clinic's reference ("" if the patient has none)
    pseudonym        the bot's pseudonym for the patient (as in the audit log)
    evening          the patient's local evening, YYYY-MM-DD
    step             the plan step that evening, 1-based
    dose_mg          the dose the reminder asked for
    reminder         what became of the reminder: sent, unknown, not_sent, blocked
    outcome          taken, skipped, missed, or none (no tap and not counted)
    vivid_dreams, sleep, nausea, headache, mood
                     that evening's side-effect check-in: mild, bothering, severe, or ""
    no_side_effects  "yes" when the check-in was answered "none"
    pain             that evening's pain score 0-10, or ""

Rows are ordered by patient, then evening. Written in chunks of patients, so memory stays flat
however many rows there are.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import select

from .models import CheckinAnswerRow, CheckinRow, EveningRow

if TYPE_CHECKING:
    from .core import Store

SIDE_EFFECTS = ("vivid_dreams", "sleep", "nausea", "headache", "mood")
COLUMNS = (
    "clinic_ref",
    "pseudonym",
    "evening",
    "step",
    "dose_mg",
    "reminder",
    "outcome",
    *SIDE_EFFECTS,
    "no_side_effects",
    "pain",
)
CHUNK = 500


def _answers(
    store: Store, chats: Sequence[int], since: date, until: date
) -> dict[tuple[int, date], dict[str, str]]:
    """Check-in answers by (chat, local evening): item -> severity, "yes" or the score."""
    found: dict[tuple[int, date], dict[str, str]] = {}
    with store._read() as conn:
        rows = conn.execute(
            select(
                CheckinAnswerRow.chat_id,
                CheckinRow.local_date,
                CheckinAnswerRow.item,
                CheckinAnswerRow.severity,
                CheckinAnswerRow.score,
            )
            .join(CheckinRow, CheckinRow.id == CheckinAnswerRow.checkin_id)
            .where(
                CheckinAnswerRow.chat_id.in_(list(chats)),
                CheckinRow.local_date >= since,
                CheckinRow.local_date <= until,
            )
        )
        for row in rows:
            cell = found.setdefault((row.chat_id, row.local_date), {})
            if row.item == "none":
                cell["no_side_effects"] = "yes"
            elif row.item == "pain":
                cell["pain"] = "" if row.score is None else str(row.score)
            else:
                cell[row.item] = row.severity or ""
    return found


def write_export(store: Store, since: date, until: date, out: TextIO, *, now: datetime) -> int:
    """Write the header and every included patient-evening from `since` to `until`
    (inclusive) to `out`; returns the number of rows (header not counted)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    written = 0
    candidates = store.chats_that_ever_shared()
    for start in range(0, len(candidates), CHUNK):
        chats = candidates[start : start + CHUNK]
        timelines = store.consent_timelines(chats)
        store.ensure_pseudonyms(chats, now)
        names = store.staff_names_for(chats)
        answers = _answers(store, chats, since, until)
        with store._read() as conn:
            evenings = conn.execute(
                select(
                    EveningRow.chat_id,
                    EveningRow.evening,
                    EveningRow.step,
                    EveningRow.dose_mg,
                    EveningRow.delivery,
                    EveningRow.outcome,
                    EveningRow.due_at,
                )
                .where(
                    EveningRow.chat_id.in_(chats),
                    EveningRow.evening >= since,
                    EveningRow.evening <= until,
                )
                .order_by(EveningRow.chat_id, EveningRow.evening)
            ).all()
        for row in evenings:
            timeline = timelines.get(row.chat_id)
            if timeline is None or not timeline.at(row.due_at):
                continue
            ref, pseudonym = names[row.chat_id]
            cell = answers.get((row.chat_id, row.evening), {})
            writer.writerow(
                (
                    ref or "",
                    pseudonym or "",
                    row.evening.isoformat(),
                    row.step + 1,
                    row.dose_mg,
                    row.delivery,
                    row.outcome,
                    *(cell.get(item, "") for item in SIDE_EFFECTS),
                    cell.get("no_side_effects", ""),
                    cell.get("pain", ""),
                )
            )
            written += 1
    return written

"""The symptom check-ins' words and buttons: the question, the severity step, what a tap
recorded, and the answer to a severe side effect.

Built from the stored check-in and its answers, so the message can be rebuilt exactly after
each tap. The bot never suggests changing the dose: a severe side effect gets the clinic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.reminder_texts import day
from bot.texts import escape
from reminders.checkins import (
    BY_CODE,
    BY_ITEM,
    NONE,
    SEVERITIES,
    SEVERITY_LABELS,
    SIDE_EFFECTS,
    SideEffect,
)
from reminders.plan import mg
from store import CheckinAnswerRecord, CheckinRecord

BACK, DONE, PAIN = "b", "k", "p"
_SEVERITY_CODES = {str(i + 1): severity for i, severity in enumerate(SEVERITIES)}
_SEVERITY_ICONS = {"mild": "🟢", "bothering": "🟠", "severe": "🔴"}
TYPE_ANYTHING = (
    "You can also type anything else in reply and I'll answer. Your clinic decides any change "
    "to your dose."
)


@dataclass(frozen=True, slots=True)
class Choice:
    """A decoded tap: pick an item, answer it (with severity or score), go back, or finish."""

    action: Literal["pick", "answer", "back", "done"]
    item: str | None = None
    severity: str | None = None
    score: int | None = None


def parse_choice(choice: str) -> Choice | None:
    """The choice part of ``c:<id>:<choice>``, or None when it is not one we make."""
    if choice == BACK:
        return Choice("back")
    if choice == DONE:
        return Choice("done")
    if choice.startswith(PAIN) and choice[1:].isdigit() and 0 <= int(choice[1:]) <= 10:
        return Choice("answer", "pain", score=int(choice[1:]))
    effect = BY_CODE.get(choice[:1])
    if effect is None:
        return None
    if len(choice) == 1:
        return Choice("answer", "none") if effect is NONE else Choice("pick", effect.item)
    severity = _SEVERITY_CODES.get(choice[1:])
    if severity is None or effect is NONE:
        return None
    return Choice("answer", effect.item, severity=severity)


def answered_line(answer: CheckinAnswerRecord) -> str:
    if answer.item == "pain":
        return f"Pain: <b>{answer.score}/10</b>"
    if answer.item == "none":
        return "None of these"
    label = BY_ITEM[answer.item].label
    severity = answer.severity or ""
    return (
        f"{_SEVERITY_ICONS.get(severity, '')} {escape(label)}: {SEVERITY_LABELS.get(severity, '')}"
    )


def checkin_html(
    checkin: CheckinRecord,
    answers: Sequence[CheckinAnswerRecord] = (),
    *,
    then_pain: bool = False,
    before: str = "",
) -> str:
    """The check-in message, with what has been recorded so far. `then_pain`: the weekly
    pain score follows in this same message; `before`: what an earlier part of the message
    recorded (the side effects, above the pain score)."""
    if checkin.kind == "pain":
        text = (
            "📊 <b>Your weekly pain score</b>\n"
            "How has your pain been over the last week, from 0 (no pain) to 10 (the worst "
            "you can imagine)?"
        )
    else:
        text = (
            f"💬 <b>How is {mg(checkin.dose_mg)} mg going?</b>\n"
            f"Since your dose went up to {mg(checkin.dose_mg)} mg, have you noticed any of "
            "these? Tap each one you have, or “None of these”."
        )
        if then_pain:
            text += " After that, one more question: your weekly pain score."
    if answers:
        text += "\n\n<b>Recorded:</b>\n" + "\n".join(answered_line(a) for a in answers)
        if checkin.kind == "side_effects" and "none" not in {a.item for a in answers}:
            text += "\nTap one again to change how bad it is."
    if before:
        text = f"{before}\n\n{text}"
    return f"{text}\n\n<i>{escape(TYPE_ANYTHING)}</i>"


def checkin_keyboard(
    checkin: CheckinRecord, answers: Sequence[CheckinAnswerRecord] = ()
) -> InlineKeyboardMarkup | None:
    """The buttons still to tap (None once the check-in is complete). A side effect already
    answered keeps its button, showing the answer, so that the patient can change it."""
    done = {a.item: a for a in answers}
    if checkin.kind == "pain":
        if "pain" in done:
            return None
        scores = [
            InlineKeyboardButton(str(n), callback_data=callbacks.symptom(checkin.id, f"p{n}"))
            for n in range(11)
        ]
        return InlineKeyboardMarkup([scores[:6], scores[6:]])
    if "none" in done:
        return None
    rows = [
        [InlineKeyboardButton(_button(e, done.get(e.item)), callback_data=_pick(checkin, e))]
        for e in SIDE_EFFECTS
    ]
    if not done:
        rows.append(
            [InlineKeyboardButton(NONE.label, callback_data=callbacks.symptom(checkin.id, "x"))]
        )
    else:
        rows.append(
            [InlineKeyboardButton("That's all", callback_data=callbacks.symptom(checkin.id, DONE))]
        )
    return InlineKeyboardMarkup(rows)


def _button(effect: SideEffect, answer: CheckinAnswerRecord | None) -> str:
    if answer is None or answer.severity is None:
        return effect.label
    icon = _SEVERITY_ICONS.get(answer.severity, "")
    return f"{icon} {effect.label}: {SEVERITY_LABELS.get(answer.severity, '')}"


def _pick(checkin: CheckinRecord, effect: SideEffect) -> str:
    return callbacks.symptom(checkin.id, effect.code)


def severity_html(
    checkin: CheckinRecord, item: str, current: CheckinAnswerRecord | None = None
) -> str:
    label = escape(BY_ITEM[item].label.lower())
    text = (
        f"💬 <b>How bad is the {label}?</b>\n"
        f"Since your dose went up to {mg(checkin.dose_mg)} mg on your plan."
    )
    if current is not None and current.severity is not None:
        text += f"\nRecorded so far: {SEVERITY_LABELS.get(current.severity, '')}."
    return text


def severity_keyboard(checkin: CheckinRecord, item: str) -> InlineKeyboardMarkup:
    code = BY_ITEM[item].code
    buttons = [
        InlineKeyboardButton(
            f"{_SEVERITY_ICONS[s]} {SEVERITY_LABELS[s]}",
            callback_data=callbacks.symptom(checkin.id, f"{code}{i + 1}"),
        )
        for i, s in enumerate(SEVERITIES)
    ]
    back = InlineKeyboardButton("← Back", callback_data=callbacks.symptom(checkin.id, BACK))
    return InlineKeyboardMarkup([buttons, [back]])


def recorded_html(checkin: CheckinRecord, answers: Sequence[CheckinAnswerRecord]) -> str:
    """What a check-in recorded, in a line or a few."""
    when = day(checkin.local_date)
    if not answers:
        return f"💬 Check-in of {when}: nothing recorded."
    lines = "\n".join(answered_line(a) for a in answers)
    return f"💬 <b>Check-in of {when}</b>, recorded:\n{lines}"


def finished_html(checkin: CheckinRecord, answers: Sequence[CheckinAnswerRecord]) -> str:
    return f"{recorded_html(checkin, answers)}\n\nThank you. /history shows your answers."


def severe_html(item: str, places: Mapping[str, str]) -> str:
    """What a severe side effect gets when no safety rule matched: the clinic, never a dose.
    It does not promise that the clinic has been told: whether anyone reads the record
    tonight is not the patient's to guess, so they are asked to get in touch themselves."""
    label = escape(BY_ITEM[item].label.lower())
    text = (
        f"🔴 <b>You said the {label} is severe.</b>\n"
        f"Please tell {escape(places['clinic'])} about it soon: they know your treatment and "
        "will advise you. I've recorded it with your check-ins, but please don't count on me "
        "to pass it on. Don't change your dose on your own in the meantime.\n\n"
    )
    if item == "mood" and places.get("crisis"):
        text += (
            f"If you feel unsafe or have thoughts of harming yourself, contact "
            f"{escape(places['crisis'])} or call {escape(places['emergency'])} now."
        )
    else:
        text += f"If it feels like an emergency, call {escape(places['emergency'])} now."
    return text


def severe_question(item: str) -> str:
    """How a severe side effect is put to the engine, so the safety rules see it first."""
    return f"I have a severe side effect on LDN: {BY_ITEM[item].label.lower()}"

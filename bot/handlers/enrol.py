"""Enrolment by the clinic: /enrol (staff) makes a one-time link; opening it (/start CODE)
sets up the plan and start date, links the clinic's reference and asks once whether the patient
agrees to share adherence and check-ins. /privacy shows that consent and changes it; /updates
turns clinic broadcasts off and on.

Pending steps (replace an existing regimen? consent?) are a row in the store, so a restart or a
second process continues them.
"""

from __future__ import annotations

from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot import callbacks
from bot import reminder_texts as rt
from bot.context import BotContext, Services
from bot.handlers.common import edit_html, remember_chat, send_html
from bot.handlers.plan_stages import stage_message
from bot.staff import audit, code_hash, new_code, staff_only
from bot.texts import STALE_BUTTON, escape
from reminders.parsing import parse_date
from store.audit import staff_name
from store.broadcasts import UPDATES_KEY
from store.enrolment import Enrolment, Opened, PendingEnrolment

LINK_INVALID = "This link is not valid. Please check it with your clinic."
LINK_EXPIRED = "This enrolment link has expired. Please ask your clinic for a new one."
LINK_USED = (
    "This enrolment link was already used. If that was you, your setup is kept: /plan shows "
    "it. Otherwise please ask your clinic for a new link."
)
LINK_PRIVATE = (
    "Enrolment links work only in a private chat with me: open the link on your own phone, "
    "or tap my name and then Start."
)
USAGE = (
    "Usage: <code>/enrol PLAN START [REFERENCE]</code>, for example "
    "<code>/enrol standard 2026-12-07 MRN 1234</code>. Plans: {plans}."
)


def _e(what: str) -> str:
    return callbacks.Callback("e", what).encode()


def _button(label: str, what: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=_e(what))


async def make_link(
    services: Services,
    plan_name: str,
    start: date,
    ref: str | None,
    created_by: int | None,
    username: str,
) -> tuple[str, int]:
    """A new one-time enrolment link (shown once; only its code's hash is stored)."""
    code = new_code()
    now = services.clock()
    expires = now + timedelta(days=services.config.staff.enrolment_days)
    store = services.require_store()
    enrolment_id = await services.db(
        store.create_enrolment,
        code_hash(code),
        plan_name,
        start,
        now,
        expires,
        ref=ref,
        created_by=created_by,
    )
    actor = staff_name(created_by) if created_by is not None else "cli"
    # The reference names a patient: it stays out of the audit log.
    await audit(
        services,
        actor,
        "enrol",
        subject=f"enrolment:{enrolment_id}",
        detail=f"plan {plan_name}, start {start}",
    )
    return f"https://t.me/{username}?start={code}", enrolment_id


@staff_only()
async def enrol(update: Update, context: BotContext) -> None:
    """Make a one-time enrolment link: /enrol PLAN START [REFERENCE]."""
    user = update.effective_user
    assert user is not None
    services = context.services
    book = services.require_plans()
    args = list(context.args or ())
    usage = USAGE.format(plans=", ".join(book.names()))
    if len(args) < 2 or book.get(args[0]) is None:
        await send_html(update, context, [usage])
        return
    today = services.clock().date()
    start = parse_date(args[1], today)
    if start is None or abs((start - today).days) > 365:
        await send_html(update, context, ["I couldn't read the start date. " + usage])
        return
    ref = " ".join(args[2:]).strip()[:64] or None
    link, _ = await make_link(services, args[0], start, ref, user.id, context.bot.username)
    days = services.config.staff.enrolment_days
    await send_html(
        update,
        context,
        [
            f"Enrolment link (one use, valid {days} days) for plan {escape(args[0])} from "
            f"{rt.long_day(start)}{', ' + escape(ref) if ref else ''}. Give it to the patient:",
            escape(link),
        ],
    )


def _consent_question(services: Services) -> tuple[str, InlineKeyboardMarkup]:
    clinic = escape(services.config.clinic.name or "your clinic")
    text = (
        f"<b>One question from {clinic}</b>\n\n"
        f"May I share with {clinic} whether you took each dose (taken, skipped, missed) and "
        "your answers to check-ins? Your questions to me are never shared.\n\n"
        "You can change your mind at any time with /privacy."
    )
    rows = [[_button("Yes, share", "yes"), _button("No, don't share", "no")]]
    return text, InlineKeyboardMarkup(rows)


async def open_link(update: Update, context: BotContext, code: str) -> None:
    """/start CODE: use an enrolment link in this chat."""
    chat = update.effective_chat
    if chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        # The link stays unused: it is the patient's own, for their private chat with the bot.
        await send_html(update, context, [LINK_PRIVATE])
        return
    services = context.services
    store = services.require_store()
    now = services.clock()
    current = await services.db(store.get_regimen, chat.id)
    stage = "replace" if current is not None else "consent"
    opened = await services.db(store.open_enrolment, code_hash(code), chat.id, now, stage=stage)
    if opened.result is Opened.USED and opened.enrolment is not None:
        pending = await services.db(store.pending_enrolment, chat.id)
        if pending is not None and pending.enrolment.id == opened.enrolment.id:
            # The same patient tapping their link again (the question scrolled away, or
            # they left it for the morning): ask the open question again.
            await _ask_pending(update, context, pending)
            return
    if opened.result is not Opened.OPENED or opened.enrolment is None:
        problem = {Opened.EXPIRED: LINK_EXPIRED, Opened.USED: LINK_USED}
        await send_html(update, context, [problem.get(opened.result, LINK_INVALID)])
        return
    if current is None:
        await _start_draft(services, chat.id, opened.enrolment)
    pending = await services.db(store.pending_enrolment, chat.id)
    if pending is not None:
        await _ask_pending(update, context, pending)


async def _ask_pending(update: Update, context: BotContext, pending: PendingEnrolment) -> None:
    """The enrolment's open question: replace the chat's regimen? or share with the clinic?"""
    services = context.services
    enrolment = pending.enrolment
    plan = services.require_plans().get(enrolment.plan_name)
    intro = (
        f"Your clinic has set up a plan for you: <b>{escape(plan.title)}</b>, starting "
        f"{rt.long_day(enrolment.start_date)}."
        if plan is not None
        else "Your clinic chose a plan that is no longer offered here "
        f"({escape(enrolment.plan_name)}): you will pick one in the reminder setup. Please check "
        "it with your clinic."
    )
    chat = update.effective_chat
    assert chat is not None
    store = services.require_store()
    current = await services.db(store.get_regimen, chat.id)
    if pending.stage == "replace" and current is None:
        # The reminders it would replace were stopped meanwhile: nothing to ask.
        if await services.db(store.settle_enrolment, chat.id, "replace", "consent"):
            await _start_draft(services, chat.id, enrolment)
    elif pending.stage == "replace" and current is not None:
        text = (
            f"{intro}\n\nYou already have reminders ({escape(current.regimen.plan_title)}). "
            "Replace them with your clinic's plan?"
        )
        rows = [[_button("Use the clinic's plan", "rep"), _button("Keep mine", "keep")]]
        await send_html(update, context, [text], InlineKeyboardMarkup(rows))
        return
    question, markup = _consent_question(services)
    await send_html(update, context, [intro, question], markup)
    await _send_setup_step(update, context)


async def _send_setup_step(update: Update, context: BotContext) -> None:
    """The reminder setup's next step, sent with the consent question rather than after it:
    a patient who leaves that question unanswered still gets their reminders set up."""
    chat = update.effective_chat
    assert chat is not None
    draft = await context.services.db(context.services.require_store().get_draft, chat.id)
    if draft is not None:
        text, markup = stage_message(context.services, draft)
        await send_html(update, context, [text], markup)


async def _start_draft(services: Services, chat_id: int, enrolment: Enrolment) -> None:
    store = services.require_store()
    await services.db(store.delete_draft, chat_id)
    # A plan removed from the clinic's file since the link was made: the patient picks one.
    known = services.require_plans().get(enrolment.plan_name) is not None
    await services.db(
        store.save_draft,
        chat_id,
        "zone" if known else "plan",
        services.clock(),
        plan_name=enrolment.plan_name if known else None,
        start_date=enrolment.start_date,
    )


async def enrolment_button(update: Update, context: BotContext) -> None:
    """Replace or keep the regimen, answer the consent question, change consent (/privacy) or
    clinic updates (/updates)."""
    query = update.callback_query
    chat = update.effective_chat
    decoded = callbacks.decode(query.data if query else None)
    if query is None or chat is None or decoded is None or chat.type != ChatType.PRIVATE:
        if query is not None:
            await query.answer(STALE_BUTTON, show_alert=True)
        return
    services = context.services
    store = services.require_store()
    now = services.clock()
    what = decoded.value
    if what in ("grant", "withdraw"):
        if (await consent_status(services, chat.id))[0] is None:
            # Only a patient the clinic enrolled is ever shown these buttons: a forged one
            # from a self-set-up patient shares nothing.
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        await services.db(store.record_consent, chat.id, what == "grant", now, "privacy")
        await query.answer()
        text, markup = await consent_status(services, chat.id)
        await edit_html(query, text or "", markup)
        return
    if what in ("upd:on", "upd:off"):
        await remember_chat(update, context)
        await services.db(store.set_preference, chat.id, UPDATES_KEY, what[4:], now)
        await query.answer()
        text, markup = await updates_status(services, chat.id)
        await edit_html(query, text, markup)
        return
    pending = await services.db(store.pending_enrolment, chat.id)
    if what in ("rep", "keep") and pending is not None and pending.stage == "replace":
        if not await services.db(store.settle_enrolment, chat.id, "replace", "consent"):
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        if what == "rep":
            await _start_draft(services, chat.id, pending.enrolment)
        await query.answer()
        await edit_html(
            query,
            "Using your clinic's plan." if what == "rep" else "Your reminders stay as they are.",
        )
        question, markup = _consent_question(services)
        await send_html(update, context, [question], markup)
        await _send_setup_step(update, context)
        return
    if what in ("yes", "no") and pending is not None and pending.stage == "consent":
        if not await services.db(store.settle_enrolment, chat.id, "consent", None):
            await query.answer(STALE_BUTTON, show_alert=True)
            return
        await services.db(store.record_consent, chat.id, what == "yes", now, "enrolment")
        await query.answer()
        await edit_html(
            query,
            "Thank you: "
            + (
                "your clinic will see your dose record and check-ins."
                if what == "yes"
                else "nothing is shared with your clinic."
            )
            + " /privacy changes this.",
        )
        return
    await query.answer(STALE_BUTTON, show_alert=True)


async def consent_status(
    services: Services, chat_id: int
) -> tuple[str | None, InlineKeyboardMarkup | None]:
    """What /privacy adds for a patient enrolled by the clinic: sharing now, and a button."""
    store = services.require_store()
    history = await services.db(store.consent_history, chat_id)
    ref = await services.db(store.clinic_ref, chat_id)
    if not history and ref is None:
        return None, None
    sharing = bool(history) and history[-1].granted
    since = f" since {rt.long_day(history[-1].at.date())}" if history else ""
    text = (
        (
            "<b>Sharing with your clinic</b>\n\n"
            + (
                f"On{since}: your clinic sees whether you took each dose and your check-in answers."
                if sharing
                else f"Off{since}: nothing is shared with your clinic."
            )
            + "\n\nYour earlier answers: "
            + ", ".join(f"{'yes' if c.granted else 'no'} ({c.at:%d %b %Y})" for c in history)
        )
        if history
        else "<b>Sharing with your clinic</b>\n\nOff: you have not said yes."
    )
    button = (
        _button("Stop sharing", "withdraw") if sharing else _button("Share with my clinic", "grant")
    )
    return text, InlineKeyboardMarkup([[button]])


async def privacy_consent(update: Update, context: BotContext) -> None:
    """After /privacy: the clinic-sharing status, for patients the clinic enrolled."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    text, markup = await consent_status(context.services, chat.id)
    if text is not None:
        await send_html(update, context, [text], markup)


async def updates_status(services: Services, chat_id: int) -> tuple[str, InlineKeyboardMarkup]:
    preferences = await services.db(services.require_store().get_preferences, chat_id)
    off = preferences.get(UPDATES_KEY) == "off"
    text = (
        "Clinic updates are <b>off</b>: only notices the clinic marks urgent reach you."
        if off
        else "Clinic updates are <b>on</b>: news from your clinic reaches you here."
    )
    button = _button("Turn on", "upd:on") if off else _button("Turn off", "upd:off")
    return text, InlineKeyboardMarkup([[button]])


async def updates(update: Update, context: BotContext) -> None:
    """Show clinic updates on or off, with a button to change it (/updates on|off too)."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    services = context.services
    await remember_chat(update, context)
    wanted = (context.args or [""])[0].lower()
    if wanted in ("on", "off"):
        await services.db(
            services.require_store().set_preference, chat.id, UPDATES_KEY, wanted, services.clock()
        )
    text, markup = await updates_status(services, chat.id)
    await send_html(update, context, [text], markup)

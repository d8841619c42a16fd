"""/broadcast: staff write a message, choose the audience, see it exactly as patients will,
then send it now, schedule it (in the clinic's time zone) or cancel. (/broadcasts is in
:mod:`bot.handlers.broadcast_list`.)

The conversation is the broadcast's own row (state ``draft`` and its ``stage``), so a restart
or another process continues it. Typed answers are replies to the bot's prompt (ForceReply).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ApplicationHandlerStop

from bot import callbacks
from bot.broadcasts import content_maker, entities_json, launch, number, staff_ids
from bot.context import BotContext, Services
from bot.handlers.common import edit_html, send_html
from bot.sender import Delivery, SendFailed
from bot.staff import audit, refuse, staff_only, staff_user
from bot.texts import escape
from reminders.parsing import parse_date, parse_time
from store.audit import staff_name
from store.broadcasts import Audience, BroadcastRecord

PROMPT_MESSAGE = "New broadcast to patients"
PROMPT_WHEN = "When should it go out?"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
AUDIENCE_NAMES = {"all": "all active patients", "titrating": "patients still titrating"}


def _b(what: str, value: str = "") -> str:
    return callbacks.Callback("b", f"{what}:{value}").encode()


def _button(label: str, what: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=_b(what, value))


def audience_of(record: BroadcastRecord) -> Audience | None:
    if record.audience is None:
        return None
    return Audience(record.audience, record.plan_name, record.urgent)


def audience_name(record: BroadcastRecord) -> str:
    if record.audience == "plan":
        return f"patients on the plan {escape(record.plan_name or '')}"
    return AUDIENCE_NAMES.get(record.audience or "", "nobody yet")


async def _prompt(services: Services, chat_id: int, text: str, placeholder: str) -> None:
    result = await services.require_sender().call(
        chat_id,
        lambda bot: bot.send_message(
            # An empty placeholder is a Bad Request: none then.
            chat_id,
            text,
            reply_markup=ForceReply(input_field_placeholder=placeholder or None),
        ),
        what="sendMessage",
    )
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)


@staff_only()
async def broadcast(update: Update, context: BotContext) -> None:
    """Start writing a broadcast (``/broadcast cancel`` drops the one being written)."""
    user = update.effective_user
    assert user is not None
    services = context.services
    store = services.require_store()
    if context.args and context.args[0].lower() == "cancel":
        draft = await services.db(store.current_draft, user.id)
        if draft is not None:
            await services.db(store.cancel_broadcast, draft.id, services.clock())
        await send_html(update, context, ["The broadcast you were writing is cancelled."])
        return
    await services.db(store.new_broadcast_draft, user.id, services.clock())
    await _prompt(
        services,
        user.id,
        f"{PROMPT_MESSAGE}. Reply to this message with what patients should read: text, or a "
        "photo or a PDF with a caption. Formatting is kept.",
        "The clinic is closed on Monday…",
    )


def _audience_keyboard(services: Services) -> InlineKeyboardMarkup:
    rows = [
        [_button("All active patients", "aud", "all")],
        [_button("Patients still titrating", "aud", "titrating")],
    ]
    rows += [
        [_button(f"On plan: {name}", "plan", name)] for name in services.require_plans().names()
    ]
    rows.append([_button("Cancel", "cancel")])
    return InlineKeyboardMarkup(rows)


async def broadcast_reply(update: Update, context: BotContext) -> None:
    """The broadcast's message, or its time, typed as a reply to the prompt; else passes on."""
    message = update.effective_message
    if message is None or (prompt := _prompt_of(message, context.bot.id)) is None:
        return
    if await staff_user(update, context) is None:
        return  # a patient never sees these prompts: their message is a question as usual
    user = update.effective_user
    assert user is not None
    services = context.services
    store = services.require_store()
    draft = await services.db(store.current_draft, user.id)
    wanted = "message" if prompt == PROMPT_MESSAGE else "when"
    if draft is None or draft.stage != wanted:
        await send_html(
            update, context, ["That broadcast is finished. Send /broadcast to write one."]
        )
        raise ApplicationHandlerStop
    if wanted == "message":
        await _take_message(update, context, message, draft)
    else:
        await _take_time(update, context, message, draft)
    raise ApplicationHandlerStop


def _prompt_of(message: Message, bot_id: int) -> str | None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot_id:
        return None
    text = replied.text or ""
    return next((p for p in (PROMPT_MESSAGE, PROMPT_WHEN) if text.startswith(p)), None)


async def _take_message(
    update: Update, context: BotContext, message: Message, draft: BroadcastRecord
) -> None:
    services = context.services
    store = services.require_store()
    if message.photo:
        kind, file_id = "photo", message.photo[-1].file_id
    elif message.document is not None and message.document.mime_type == "application/pdf":
        kind, file_id = "document", message.document.file_id
    elif message.text:
        kind, file_id = "text", None
    else:
        await _prompt(
            services,
            draft.created_by,
            f"{PROMPT_MESSAGE}: please reply with text, a photo or a PDF.",
            "",
        )
        return
    text = message.text if kind == "text" else message.caption
    entities = message.entities if kind == "text" else message.caption_entities
    limit = TEXT_LIMIT if kind == "text" else CAPTION_LIMIT
    if text is not None and (length := utf16_length(text)) > limit:
        # Telegram Premium lets staff write longer captions than a bot may send: say so now,
        # not after the preview fails.
        await _prompt(
            services,
            draft.created_by,
            f"{PROMPT_MESSAGE}: that {'text' if kind == 'text' else 'caption'} has "
            f"{number(length)} characters; patients can be sent at most {number(limit)}. "
            "Please reply with a shorter one.",
            "",
        )
        return
    await services.db(
        store.update_draft,
        draft.id,
        stage="audience",
        kind=kind,
        text=text,
        entities=entities_json(entities),
        file_id=file_id,
    )
    await send_html(update, context, ["Who should receive it?"], _audience_keyboard(services))


def utf16_length(text: str) -> int:
    """The length Telegram's limits count (UTF-16 code units: an emoji can count two)."""
    return len(text.encode("utf-16-le")) // 2


def _in_clinic_time(services: Services, text: str) -> datetime | None:
    """ "2026-12-07 09:00", "tomorrow 9:00", "09:30" (today) in the clinic's zone, as UTC."""
    zone = ZoneInfo(services.config.clinic_timezone)
    today = services.clock().astimezone(zone).date()
    words = text.strip().rsplit(" ", 1)
    day = parse_date(words[0], today) if len(words) == 2 else today
    at = parse_time(words[-1])
    if day is None or at is None:
        return None
    return datetime.combine(day, at, tzinfo=zone)


async def _take_time(
    update: Update, context: BotContext, message: Message, draft: BroadcastRecord
) -> None:
    services = context.services
    store = services.require_store()
    when = _in_clinic_time(services, message.text or "")
    now = services.clock()
    if when is None or not now < when <= now + timedelta(days=365):
        if when is None:
            problem = "I couldn't read that as a date and time."
        elif when <= now:
            clinic_now = now.astimezone(when.tzinfo)
            problem = f"That time has passed (it is {clinic_now:%a %d %b %H:%M} at the clinic)."
        else:
            problem = "That time is more than a year away."
        await _prompt(
            services,
            draft.created_by,
            f"{PROMPT_WHEN} {problem} For example "
            "2026-12-07 09:00, tomorrow 9:00, or 17:30 for today.",
            "tomorrow 9:00",
        )
        return
    audience = audience_of(draft)
    assert audience is not None
    count = len(await services.db(store.audience, audience, now, await staff_ids(services)))
    if not await services.db(store.schedule_broadcast, draft.id, when):
        await send_html(
            update, context, ["That broadcast is finished. Send /broadcast to write one."]
        )
        return
    local = f"{when:%a %d %b %Y %H:%M} ({services.config.clinic_timezone})"
    await audit(
        services,
        staff_name(draft.created_by),
        "broadcast-scheduled",
        subject=f"broadcast:{draft.id}",
        detail=f"for {when.isoformat()}, {draft.audience}{' urgent' if draft.urgent else ''}",
    )
    await send_html(
        update,
        context,
        [
            f"Broadcast #{draft.id} is scheduled for {local}, to {audience_name(draft)} "
            f"({number(count)} now; counted again when it goes). /broadcasts cancels it."
        ],
    )


async def _preview(update: Update, context: BotContext, draft: BroadcastRecord) -> None:
    """The message exactly as patients will get it, then the count and the choices."""
    services = context.services
    store = services.require_store()
    audience = audience_of(draft)
    assert audience is not None
    count = len(
        await services.db(store.audience, audience, services.clock(), await staff_ids(services))
    )
    await send_html(update, context, ["Preview, exactly as patients will see it:"])
    outcome = await services.require_sender().call(
        draft.created_by, content_maker(draft, draft.created_by), what="preview"
    )
    if outcome.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        await send_html(
            update,
            context,
            [
                "Telegram refused this message, so patients could not get it either. Send "
                "/broadcast to write it again."
            ],
        )
        await services.db(store.cancel_broadcast, draft.id, services.clock())
        return
    urgent = (
        "\n⚠️ Marked urgent: it reaches also patients who turned updates off."
        if draft.urgent
        else ""
    )
    if count == 0:
        urgent += "\nNobody is in this audience now: Send now would reach no one."
    rows = [[_button("Send now", "now"), _button("Schedule…", "sch")]]
    if await staff_user(update, context, "admin") is not None:
        rows.append([_button("Unmark urgent" if draft.urgent else "Mark urgent", "urg")])
    rows.append([_button("Cancel", "cancel")])
    await send_html(
        update,
        context,
        [f"This goes to <b>{number(count)}</b> {audience_name(draft)}.{urgent}"],
        InlineKeyboardMarkup(rows),
    )


@staff_only()
async def broadcast_button(update: Update, context: BotContext) -> None:
    """A choice in the conversation: audience, plan, urgent, send now, schedule, cancel."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    decoded = callbacks.decode(query.data)
    what, _, value = (decoded.value if decoded else "").partition(":")
    services = context.services
    store = services.require_store()
    draft = await services.db(store.current_draft, user.id)
    if draft is None:
        await query.answer(
            "That broadcast is finished. Send /broadcast to write one.", show_alert=True
        )
        return
    if what == "cancel":
        await query.answer()
        await services.db(store.cancel_broadcast, draft.id, services.clock())
        await edit_html(query, "Cancelled; nothing was sent.")
        return
    if what in ("aud", "plan") and draft.stage == "audience":
        plans = services.require_plans().names()
        if (what == "aud" and value not in AUDIENCE_NAMES) or (
            what == "plan" and value not in plans
        ):
            await refuse(update, context, "broadcast_button")
            return
        await query.answer()
        updated = await services.db(
            store.update_draft,
            draft.id,
            stage="preview",
            audience="plan" if what == "plan" else value,
            plan_name=value if what == "plan" else None,
        )
        if updated is not None:
            await edit_html(query, f"Audience: {audience_name(updated)}.")
            await _preview(update, context, updated)
        return
    if draft.stage != "preview":
        await query.answer("Please finish the step before.", show_alert=True)
        return
    if what == "urg":
        if await staff_user(update, context, "admin") is None:
            await refuse(update, context, "broadcast_urgent")
            return
        await query.answer()
        updated = await services.db(store.update_draft, draft.id, urgent=not draft.urgent)
        if updated is not None:
            await edit_html(query, "Urgent: " + ("yes" if updated.urgent else "no"))
            await _preview(update, context, updated)
        return
    if what == "sch":
        await query.answer()
        await services.db(store.update_draft, draft.id, stage="when")
        zone = services.config.clinic_timezone
        await _prompt(
            services,
            user.id,
            f"{PROMPT_WHEN} Reply with a date and time in the "
            f"clinic's time zone ({zone}), e.g. 2026-12-07 09:00 or tomorrow 9:00.",
            "tomorrow 9:00",
        )
        return
    if what == "now":
        audience = audience_of(draft)
        assert audience is not None
        now = services.clock()
        if not await services.db(store.audience, audience, now, await staff_ids(services)):
            await query.answer(
                "Nobody is in this audience now: nothing was sent. Schedule it, or Cancel.",
                show_alert=True,
            )
            return
        await query.answer()
        total = await launch(services, draft.id, now)
        if total is None:
            await edit_html(query, "That broadcast is finished.")
            return
        await audit(
            services,
            staff_name(user.id),
            "broadcast-sent",
            subject=f"broadcast:{draft.id}",
            detail=f"{total} recipients, {draft.audience}{' urgent' if draft.urgent else ''}",
        )
        await edit_html(
            query,
            f"Broadcast #{draft.id}: sending to {number(total)} patients. "
            "Progress and a report follow here.",
        )
        return
    await refuse(update, context, "broadcast_button")

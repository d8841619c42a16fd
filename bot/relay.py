"""Relayed messages between a staff member and a patient, through the bot.

After "Message patient" on an alert, the staff member's next text goes to the patient,
signed with the clinic's name, as a message the patient can reply to; the patient's replies
to it (for :data:`REPLY_WINDOW`) come back to that staff member. The bot sends both, so it
works whatever either side's Telegram privacy settings. Both are audited without their text,
and the text is never logged. A patient's reply is still read for safety: a crisis in it gets
the safety answer (and its alert) as any message would.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import ForceReply, Update
from telegram.constants import ChatType, ParseMode
from telegram.ext import ApplicationHandlerStop

from bot import alerts, render
from bot.context import BotContext, Services
from bot.handlers.checkin import send_checkin
from bot.handlers.common import send_html
from bot.sender import Delivery
from bot.staff import may_be_staff, role_of
from bot.texts import escape
from knowledge import Status
from store.audit import staff_name

log = logging.getLogger(__name__)

REPLY_WINDOW = timedelta(days=7)
# A relayed message is one Telegram message (the patient replies to it), with the clinic's
# heading and signature around the text: the text must leave room for them.
MAX_RELAYED = 3500
RELAY_CLOSED = (
    "This message from the clinic can no longer be answered here, so your reply was not "
    "passed on to them. Please contact {clinic} directly."
)


def clinic_name(services: Services) -> str:
    """The signature of relayed messages: ``[clinic] name``."""
    return services.config.clinic.name or "your clinic"


async def relay_text(update: Update, context: BotContext) -> None:
    """A staff member's message being composed, or a patient's reply to a relayed message;
    anything else passes on to the other handlers."""
    message = update.effective_message
    chat = update.effective_chat
    user = update.effective_user
    if message is None or chat is None or user is None or not message.text:
        return
    if chat.type != ChatType.PRIVATE:
        return
    services = context.services
    store = services.require_store()
    now = services.clock()
    replied = message.reply_to_message
    if (
        replied is not None
        and replied.from_user is not None
        and replied.from_user.id == context.bot.id
    ):
        relay = await services.db(
            store.relay_for_reply, chat.id, replied.message_id, now, closed_too=True
        )
        if relay is not None:
            open_window = relay.reply_until is not None and relay.reply_until > now
            if open_window and await role_of(services, relay.staff_id) is not None:
                await _patient_reply(update, context, relay.id, relay.staff_id)
                raise ApplicationHandlerStop
            # The window has closed, or the staff member has left: say the reply did not reach
            # the clinic, then answer it as any message (a crisis in it still gets its answer).
            clinic = services.engine.clinic.placeholders()["clinic"]
            await send_html(update, context, [escape(RELAY_CLOSED.format(clinic=clinic))])
            return
    # Only staff compose: patients' messages (nearly all of them) skip the store read.
    if not await may_be_staff(services, user.id):
        return
    composing = await services.db(store.composing_relay, user.id, now)
    if composing is None or await role_of(services, user.id) is None:
        return
    await _send_to_patient(update, context, composing.id, composing.chat_id)
    raise ApplicationHandlerStop


async def _send_to_patient(
    update: Update, context: BotContext, relay_id: int, patient_chat_id: int
) -> None:
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    services = context.services
    store = services.require_store()
    now = services.clock()
    if not await services.db(store.has_consent, patient_chat_id):
        await services.db(store.cancel_relay, relay_id, user.id)
        await send_html(
            update,
            context,
            ["This patient no longer shares with the clinic, so the message was not sent."],
        )
        return
    if len(message.text) > MAX_RELAYED:
        await send_html(
            update,
            context,
            [
                f"That message is {len(message.text)} characters long; please keep it under "
                f"{MAX_RELAYED} and send it again (nothing was sent)."
            ],
        )
        return
    if not await services.db(store.claim_relay, relay_id, now):
        return  # a replayed update: already sent
    clinic = clinic_name(services)
    text = (
        f"✉️ <b>A message from {escape(clinic)}</b>\n\n{escape(message.text)}\n\n"
        f"— {escape(clinic)}\n\n<i>Reply to this message to answer them.</i>"
    )
    result = await services.require_sender().call(
        patient_chat_id,
        lambda bot: bot.send_message(
            patient_chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=ForceReply(input_field_placeholder="Your reply to the clinic"),
        ),
        what="sendMessage",
    )
    ref = await services.db(alerts.reference, services, patient_chat_id)
    if result.delivery is Delivery.BLOCKED:
        # The patient blocked the bot (or left Telegram): sending again cannot reach them.
        await services.db(store.relay_delivered, relay_id, None, None)
        await services.db(store.cancel_relay, relay_id, user.id)
        log.warning("relayed message not delivered: the patient's chat is blocked")
        await send_html(
            update,
            context,
            [
                f"⚠️ {escape(ref)} has blocked the bot or left Telegram, so the message could "
                "not be delivered (nothing was sent). Please contact them another way."
            ],
        )
        return
    if result.delivery is not Delivery.SENT or result.value is None:
        await services.db(store.relay_delivered, relay_id, None, None)
        log.warning("relayed message not delivered (%s)", result.delivery.value)
        await send_html(
            update,
            context,
            [
                f"⚠️ The message could not be delivered to {escape(ref)} "
                f"({escape(result.delivery.value)}). Send it again to retry."
            ],
        )
        return
    await services.db(store.relay_delivered, relay_id, result.value.message_id, now + REPLY_WINDOW)
    subject = await services.db(store.pseudonym, patient_chat_id, now)
    await services.db(
        store.append_audit,
        staff_name(user.id),
        "relay-sent",
        now,
        subject=subject,
        detail=f"relay {relay_id}",
    )
    log.info("relayed a staff message (relay %d)", relay_id)
    await send_html(
        update,
        context,
        [f"✅ Sent to {escape(ref)}, signed “{escape(clinic)}”. Their reply will come here."],
    )


async def _patient_reply(update: Update, context: BotContext, relay_id: int, staff_id: int) -> None:
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and message.text is not None and chat is not None
    services = context.services
    store = services.require_store()
    now = services.clock()
    text = message.text
    ref = await services.db(alerts.reference, services, chat.id)
    sender = services.require_sender()
    for part in render.pack([f"✉️ <b>Reply from {escape(ref)}</b>", escape(text)]):
        result = await sender.send_message(staff_id, part)
        if result.delivery is not Delivery.SENT:
            break
    subject = await services.db(store.pseudonym, chat.id, now)
    if result.delivery is Delivery.SENT:
        await services.db(store.count_relay_reply, relay_id)
        # The patient is the actor, named only by their pseudonym.
        await services.db(
            store.append_audit,
            subject,
            "relay-reply",
            now,
            subject=subject,
            detail=f"relay {relay_id} to {staff_name(staff_id)}",
        )
        log.info("relayed a patient's reply (relay %d)", relay_id)
    else:
        log.warning("a patient's reply could not be relayed (%s)", result.delivery.value)
    # Safety first, as for any message: a crisis in a reply gets its answer now.
    reply = services.engine.ask(text)
    if reply.status is Status.SAFETY:
        await send_html(update, context, render.reply_html(reply), urgent=True)
        await alerts.note_safety_answer(update, context, reply.entry_id)
    elif reply.checkin is not None:
        await send_checkin(update, context, reply.checkin)
    done = (
        "✅ Sent to the clinic."
        if result.delivery is Delivery.SENT
        else "⚠️ Sorry, I couldn't pass that on just now. Please call the clinic."
    )
    await send_html(update, context, [done])

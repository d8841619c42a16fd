"""/alerts and an alert's buttons: Acknowledge, Message patient (staff only)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot import alerts, callbacks
from bot.context import BotContext, Services
from bot.handlers.common import edit_html, send_html
from bot.relay import clinic_name
from bot.sender import Lane
from bot.staff import staff_only
from bot.texts import STALE_BUTTON, escape
from store.alerts import AlertRecord
from store.audit import staff_name

log = logging.getLogger(__name__)

LISTED = 20  # open alerts shown by /alerts (oldest first)
COMPOSE = timedelta(minutes=30)  # how long "Message patient" waits for the staff's text


def _list_html(services: Services, open_alerts: list[AlertRecord]) -> str:
    if not open_alerts:
        return "✅ No open alerts."
    # How many are open in all: a list cut at LISTED must not look like the whole of it.
    total = sum(services.require_store().open_alert_counts().values())
    shown = f"the oldest {len(open_alerts)} shown" if total > len(open_alerts) else "oldest first"
    lines = [f"🔔 <b>Open alerts: {total}</b> ({shown}):", ""]
    for alert in open_alerts:
        ref = alerts.reference(services, alert.chat_id)
        lines.append(
            f"#{alert.id} · {escape(ref)} · {escape(alerts.what_happened(alert))} · "
            f"<i>{escape(alerts.local_time(services, alert.occurred_at))}</i>"
        )
    return "\n".join(lines)


def _list_keyboard(open_alerts: list[AlertRecord]) -> InlineKeyboardMarkup | None:
    if not open_alerts:
        return None
    rows = [alerts.alert_keyboard(alert, listed=True).inline_keyboard[0] for alert in open_alerts]
    return InlineKeyboardMarkup(rows)


async def _listing(services: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    store = services.require_store()
    open_alerts = await services.db(store.open_alerts, limit=LISTED)
    html = await services.db(_list_html, services, open_alerts)
    return html, _list_keyboard(open_alerts)


@staff_only()
async def alerts_command(update: Update, context: BotContext) -> None:
    """List the open alerts, each with Acknowledge and Message patient."""
    html, markup = await _listing(context.services)
    await send_html(update, context, [html], markup)


@staff_only()
async def alert_button(update: Update, context: BotContext) -> None:
    """Acknowledge an alert, start a message to its patient, or cancel that message."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    decoded = callbacks.decode_alert(query.data)
    if decoded is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    number, choice = decoded
    if choice == callbacks.RELAY_CANCEL:
        await _cancel_relay(update, context, number)
    elif choice == callbacks.ALERT_MESSAGE:
        await _start_relay(update, context, number)
    else:
        await _acknowledge(update, context, number, listed=choice == callbacks.ALERT_LISTED_ACK)


async def _acknowledge(update: Update, context: BotContext, alert_id: int, *, listed: bool) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    services = context.services
    store = services.require_store()
    now = services.clock()
    result = await services.db(store.acknowledge_alert, alert_id, user.id, now)
    if result is None:
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    alert, mine = result
    subject = await services.db(store.pseudonym, alert.chat_id, now)
    if mine:
        await services.db(
            store.append_audit,
            staff_name(user.id),
            "alert-acknowledged",
            now,
            subject=subject,
            detail=f"alert {alert.id} ({alert.kind})",
        )
        log.info("alert %d acknowledged", alert.id)
        await query.answer("Acknowledged")
    else:
        who = await services.db(alerts.staff_name, services, alert.acknowledged_by)
        await query.answer(f"Already acknowledged by {who}", show_alert=True)
    if listed:
        html, markup = await _listing(services)
        await edit_html(query, html, markup)
        return
    ref = await services.db(alerts.reference, services, alert.chat_id)
    html = await services.db(alerts.alert_html, services, alert, ref)
    await edit_html(query, html, alerts.alert_keyboard(alert))
    if mine:
        await _update_other_copies(services, alert, html, user.id)


async def _update_other_copies(
    services: Services, alert: AlertRecord, html: str, acknowledged_by: int
) -> None:
    """The other recipients' copies of the alert say who acknowledged it."""
    store = services.require_store()
    sender = services.require_sender()
    markup = alerts.alert_keyboard(alert)
    for staff_id, state, message_id in await services.db(store.alert_deliveries, alert.id):
        if staff_id == acknowledged_by or state != "sent" or message_id is None:
            continue
        await sender.call(
            staff_id,
            _editor(staff_id, message_id, html, markup),
            lane=Lane.INTERACTIVE,
            what="editMessageText",
            counted=False,
        )


def _editor(
    chat_id: int, message_id: int, html: str, markup: InlineKeyboardMarkup
) -> Callable[[Bot], Awaitable[Message | bool]]:
    """The edit of one staff member's copy of an alert, as the sender calls it."""

    def edit(bot: Bot) -> Awaitable[Message | bool]:
        return bot.edit_message_text(
            html, chat_id=chat_id, message_id=message_id, parse_mode="HTML", reply_markup=markup
        )

    return edit


async def _start_relay(update: Update, context: BotContext, alert_id: int) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    services = context.services
    store = services.require_store()
    now = services.clock()
    alert = await services.db(store.get_alert, alert_id)
    if alert is None or alert.state == "withheld":
        await query.answer(STALE_BUTTON, show_alert=True)
        return
    if not await services.db(store.has_consent, alert.chat_id):
        await query.answer(
            "This patient no longer shares with the clinic, so the bot cannot pass on a message.",
            show_alert=True,
        )
        return
    relay_id = await services.db(
        store.start_relay, user.id, alert.chat_id, now, COMPOSE, alert_id=alert.id
    )
    ref = await services.db(alerts.reference, services, alert.chat_id)
    await query.answer()
    signed = clinic_name(services)
    cancel = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Cancel", callback_data=callbacks.alert(relay_id, "x"))]]
    )
    await send_html(
        update,
        context,
        [
            f"✉️ Write your message to <b>{escape(ref)}</b> now (within "
            f"{COMPOSE.seconds // 60} minutes). I'll send your next message to them, signed "
            f"“{escape(signed)}”; their reply will come back to you here."
        ],
        cancel,
    )


async def _cancel_relay(update: Update, context: BotContext, relay_id: int) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    services = context.services
    if await services.db(services.require_store().cancel_relay, relay_id, user.id):
        await query.answer("Cancelled")
        await edit_html(query, "✉️ Message cancelled: nothing was sent.")
        return
    await query.answer("This message was already sent or cancelled.", show_alert=True)

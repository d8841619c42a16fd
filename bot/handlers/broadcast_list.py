"""/broadcasts: recent broadcasts with their counts; one scheduled or still sending can be
cancelled (its rows not yet claimed are not sent)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.broadcasts import report_text
from bot.context import BotContext, Services
from bot.handlers.broadcast import audience_name
from bot.handlers.common import edit_html, send_html
from bot.staff import audit, refuse, staff_only
from store.audit import staff_name


def _stop_button(broadcast_id: int) -> InlineKeyboardButton:
    data = callbacks.Callback("b", f"stop:{broadcast_id}").encode()
    return InlineKeyboardButton(f"Cancel #{broadcast_id}", callback_data=data)


@staff_only()
async def broadcast_stop_button(update: Update, context: BotContext) -> None:
    """Cancel a scheduled or in-flight broadcast (b:stop:<id>, under /broadcasts)."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    decoded = callbacks.decode(query.data)
    number_text = (decoded.value if decoded else "").removeprefix("stop:")
    if not number_text.isdigit() or len(number_text) > 18:
        await refuse(update, context, "broadcast_stop_button")
        return
    broadcast_id = int(number_text)
    services = context.services
    was = await services.db(
        services.require_store().cancel_broadcast, broadcast_id, services.clock()
    )
    if was is None:
        await query.answer("It had already finished.", show_alert=True)
        return
    await audit(
        services,
        staff_name(user.id),
        "broadcast-cancelled",
        subject=f"broadcast:{broadcast_id}",
        detail=f"was {was}",
    )
    await query.answer("Cancelled.")
    text, markup = await broadcasts_list(services)
    await edit_html(query, text, markup)


async def broadcasts_list(services: Services) -> tuple[str, InlineKeyboardMarkup | None]:
    store = services.require_store()
    recent = await services.db(store.recent_broadcasts, 10)
    if not recent:
        return "No broadcasts yet. /broadcast writes one.", None
    zone = ZoneInfo(services.config.clinic_timezone)
    lines = ["<b>Recent broadcasts</b>"]
    rows = []
    for record in recent:
        counts = await services.db(store.outbox_counts, record.id)
        when = record.started_at or record.scheduled_for
        shown = f"{when.astimezone(zone):%d %b %H:%M}" if when else ""
        head = f"#{record.id} {record.state} {shown}, to {audience_name(record)}"
        if record.state == "scheduled":
            lines.append(f"\n{head}")
        else:
            lines.append("\n" + head + "\n" + report_text(record, counts).split("\n", 1)[1])
        if record.state in ("scheduled", "sending"):
            rows.append([_stop_button(record.id)])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


@staff_only()
async def broadcasts(update: Update, context: BotContext) -> None:
    """Recent broadcasts with their counts; in-flight and scheduled ones can be cancelled."""
    text, markup = await broadcasts_list(context.services)
    await send_html(update, context, [text], markup)

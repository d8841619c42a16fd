"""Staff reports and upkeep: /stats (staff), /export and /reload (admins)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from telegram import InputFile, Update

from bot import reload, reports
from bot.context import BotContext
from bot.handlers.common import send_html
from bot.sender import Delivery, SendFailed
from bot.staff import staff_only
from bot.texts import escape
from reminders.parsing import parse_date
from store.audit import staff_name

log = logging.getLogger(__name__)

EXPORT_DAYS = 30  # /export without a date: the last 30 days


@staff_only()
async def stats(update: Update, context: BotContext) -> None:
    """Counts for the clinic: patients, steps, adherence, side effects, alerts, questions."""
    services = context.services
    report = await services.db(
        reports.build_stats, services.require_store(), services.config, services.clock()
    )
    await send_html(update, context, [f"<pre>{escape(reports.stats_text(report))}</pre>"])


@staff_only("admin")
async def export(update: Update, context: BotContext) -> None:
    """Send the adherence and check-ins of consenting patients as a CSV file."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None:
        return
    services = context.services
    now = services.clock()
    today = reports.clinic_today(services.config, now)
    since = today - timedelta(days=EXPORT_DAYS)
    if context.args:
        parsed = parse_date(" ".join(context.args), today)
        if parsed is None or parsed > today:
            await send_html(
                update,
                context,
                ["Please give the first evening as a date, for example /export 2026-11-01."],
            )
            return
        since = parsed
    store = services.require_store()
    document = await services.db(
        reports.export_document, store, since, today, now, limit=reports.MAX_DOCUMENT
    )
    rows = document.rows
    await services.db(
        store.append_audit, staff_name(user.id), "export", now, detail=f"since {since}: {rows} rows"
    )
    log.info("export made: %d rows, %s", rows, "zipped" if document.zipped else "plain")
    if document.data is None:
        await send_html(
            update,
            context,
            [
                f"The export since {_day(since)} ({rows} patient-evenings) is too large to send "
                "here even zipped. Please choose a later first evening (for example "
                f"/export {today - timedelta(days=EXPORT_DAYS):%Y-%m-%d}), or run "
                "<code>ldn-bot export</code> on the server."
            ],
        )
        return
    data = document.data
    caption = f"{rows} patient-evenings since {_day(since)} (consenting patients only)"
    if document.zipped:
        caption += "; zipped, as the CSV is over Telegram's 50 MB limit"
    result = await services.require_sender().call(
        chat.id,
        lambda bot: bot.send_document(
            chat.id, InputFile(data, filename=document.name), caption=caption
        ),
        what="sendDocument",
    )
    if result.delivery in (Delivery.NOT_SENT, Delivery.UNKNOWN):
        raise SendFailed(result)


def _day(value: date) -> str:
    return f"{value:%d %b %Y}"


@staff_only("admin")
async def reload_command(update: Update, context: BotContext) -> None:
    """Reload the knowledge base and plans here, and ask the other processes to do the same."""
    user = update.effective_user
    if user is None:
        return
    services = context.services
    store = services.require_store()
    actor = staff_name(user.id)
    request_id = await services.db(store.request_reload, services.clock(), actor)
    # This process applies it now; the others see the request on their next look.
    services.reload_seen = max(services.reload_seen or 0, request_id)
    outcome = await reload.reload_now(services, actor=actor, request_id=request_id)
    if outcome.ok:
        text = f"✅ Reloaded: {escape(outcome.message)}."
    else:
        text = (
            f"⚠️ Not reloaded: {escape(outcome.message)}\n\n"
            "The knowledge base and plans in service are unchanged."
        )
    await send_html(update, context, [text])

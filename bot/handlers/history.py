"""/history (the last evenings, adherence, side effects and pain scores), /mydata (everything
stored about the chat, as a JSON file), and /schedule's chart."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType

from bot import chart
from bot import reminder_texts as rt
from bot.context import BotContext
from bot.handlers.common import send_html
from bot.history_texts import history_html
from bot.media import send_document, send_photo
from reminders.history import Night
from store import EveningRecord, StoredRegimen

log = logging.getLogger(__name__)

HISTORY_EVENINGS = 30  # the rows /history reads: enough for the 30-day adherence
CHART_EVENINGS = 400  # the rows the chart reads (chart.MAX_DAYS)
EXPORT_FORMAT = "ldn-bot-mydata/1"
# Charts are drawn in a worker thread of their own, one at a time: a render is about 0.1 s of
# CPU, and a burst of /schedule queues there instead of taking the default executor's threads
# (which run every store call) or every core from the replies.
_DRAWER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")


MYDATA_PRIVATE_ONLY = (
    "To get your data, send /mydata in your private chat with me: in a group it would show "
    "others what is stored."
)


def nights(evenings: list[EveningRecord]) -> list[Night]:
    return [Night(e.evening, e.dose_mg, e.delivery, e.outcome, e.note) for e in evenings]


async def history(update: Update, context: BotContext) -> None:
    """The last 14 evenings, adherence over 7 and 30 days, recent side effects and pain."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    store = services.require_store()
    stored = await services.db(store.get_regimen, chat.id)
    if stored is None:
        await send_html(update, context, [rt.NO_REGIMEN])
        return
    today = stored.regimen.evening_of(services.clock())
    evenings = await services.db(store.evenings_for_chat, chat.id, HISTORY_EVENINGS)
    answers = await services.db(
        store.checkin_answers_for_chat, chat.id, today - timedelta(days=HISTORY_EVENINGS)
    )
    await send_html(update, context, [history_html(nights(evenings), answers, today)])


async def send_schedule_chart(update: Update, context: BotContext, stored: StoredRegimen) -> None:
    """The plan as a chart, with what was recorded; drawn in a worker thread."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    store = services.require_store()
    today = stored.regimen.evening_of(services.clock())
    evenings = await services.db(store.evenings_for_chat, chat.id, CHART_EVENINGS)
    answers = await services.db(store.checkin_answers_for_chat, chat.id)
    pain = [(a.local_date, a.score) for a in answers if a.kind == "pain" and a.score is not None]
    state = stored.pause.state.value if stored.pause.silent(today) else ""
    data = chart.chart_data(stored.regimen, nights(evenings), pain, today, state=state)
    png = await asyncio.get_running_loop().run_in_executor(_DRAWER, chart.render_png, data)
    await send_photo(
        update,
        context,
        png,
        filename="ldn-plan.png",
        caption="Your plan's doses, with ● taken, ▲ skipped, ✖ missed and your pain scores.",
    )


async def mydata(update: Update, context: BotContext) -> None:
    """Send everything stored about this chat as a JSON file (the README explains each field)."""
    chat = update.effective_chat
    if chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        # A group's rows name its members (events, the inbox): sent only in a private chat.
        await send_html(update, context, [MYDATA_PRIVATE_ONLY])
        return
    services = context.services
    now = services.clock()
    tables = await services.db(services.require_store().export_chat, chat.id)
    document = {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "chat_id": chat.id,
        "tables": tables,
    }
    data = json.dumps(document, ensure_ascii=False, indent=2).encode()
    log.info("mydata exported: %d rows", sum(len(rows) for rows in tables.values()))
    await send_document(
        update,
        context,
        data,
        filename=f"ldn-bot-data-{now:%Y-%m-%d}.json",
        caption="Everything this bot stores about this chat. /forget deletes it all.",
    )

"""Staff alerts: events of consenting patients become alerts, sent to the staff on alert.

The handlers only record events (``record_event``: a kind and an opaque ref, never words);
this job turns them into alerts. Each event gets one alert row (unique per event, so a restart
or a second process never doubles one), open only when the patient had agreed to share at the
moment of the event (``consent_at``); otherwise it is withheld and nothing is shared. Each
recipient's message is a delivery row claimed before the send and sent through the sender's
interactive lane; one that could not be delivered is tried again later, and the alert stays
open (and in /alerts) until a staff member acknowledges it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import callbacks
from bot.context import BotContext, Services
from bot.sender import Delivery, Lane
from bot.staff import role_of
from bot.texts import escape
from store import StoreError
from store.alerts import MISSED_3, AlertRecord
from store.audit import staff_name as audit_name
from store.events import EventRecord

log = logging.getLogger(__name__)

SAFETY_ANSWER = "safety-answer"
# What each alertable event kind says to staff: what happened, never the patient's words.
ALERT_KINDS: dict[str, str] = {
    SAFETY_ANSWER: "Safety answer given",
    "safety-help": "“I need help now” tapped",
    "severe-side-effect": "Severe side effect reported in a check-in",
    "hold": "“Stay on my current dose” tapped on a step-up",
    MISSED_3: "3 evenings missed in a row",
}
# What staff are asked to do, under each alert: a nurse reading it late at night knows the next
# step without opening anything else. The bot has already answered the patient.
ALERT_ADVICE: dict[str, str] = {
    SAFETY_ANSWER: "The bot gave its urgent safety answer. Contact the patient now.",
    "safety-help": "The bot gave its urgent safety answer. Contact the patient now.",
    "severe-side-effect": "Contact the patient today about this side effect.",
    "hold": "The patient stays on their dose for now: review their plan.",
    MISSED_3: "Check in with the patient about their doses.",
}
HOW_TO = "Tap Acknowledge once someone is on it; Message patient writes to them through the bot."
# Events older than this when first looked at are not alerted (a bot that was down for weeks
# does not flood the staff with old news); the events themselves stay.
LOOKBACK = timedelta(days=7)
ALERT_BATCH = 200


@dataclass
class AlertReport:
    raised: int = 0
    withheld: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)


async def note_safety_answer(
    update: Update,
    context: BotContext,
    kind: str | None,
    *,
    unless_between: tuple[datetime, datetime] | None = None,
) -> None:
    """Record that a tier-1 safety answer was given (for the staff alerts); never the words.
    A failure is logged: the patient already has the answer. ``unless_between``: record
    nothing when the chat has this answer recorded in that window (an edited message: the
    message as first sent raised it, and staff get one alert for it, not two)."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    user = update.effective_user
    try:
        if unless_between is not None and await services.db(
            services.require_store().has_event_between,
            chat.id,
            SAFETY_ANSWER,
            kind,
            *unless_between,
        ):
            log.info("safety answer already noted for this message: kind=%s", kind)
            return
        await services.db(
            services.require_store().record_event,
            chat.id,
            SAFETY_ANSWER,
            services.clock(),
            user_id=user.id if user else None,
            ref=kind,
        )
    except StoreError as exc:
        log.warning("could not record a safety answer event: %s", type(exc).__name__)


def recipients(services: Services) -> list[int]:
    """``[staff] alert_to``, or every staff member (config and invited) when it is empty.

    Only staff ever get an alert: an id in ``alert_to`` that is not (or no longer) staff is
    left out, since an alert is a patient's health news. When that leaves nobody, every staff
    member gets it rather than no one."""
    staff = services.config.staff
    stored = [member.user_id for member in services.require_store().list_staff()]
    everyone = sorted({*staff.admins, *staff.staff, *stored})
    chosen = [user_id for user_id in dict.fromkeys(staff.alert_to) if user_id in everyone]
    if len(chosen) < len(set(staff.alert_to)):
        log.warning(
            "[staff] alert_to lists %d id(s) that are not staff: no alert goes to them",
            len(set(staff.alert_to)) - len(chosen),
        )
    if not everyone:
        log.warning("no staff to alert: the alert waits in /alerts for the first staff member")
    return chosen or everyone


def _detail(services: Services, event: EventRecord) -> str | None:
    """A short code for the alert: the safety kind, the side effect, the evening."""
    ref = event.ref or ""
    if event.kind == "safety-help" and ref.isdigit():
        checkin = services.require_store().get_event(int(ref))
        return checkin.ref if checkin is not None else None
    if event.kind == "severe-side-effect":
        return ref.partition(":")[2] or None
    if event.kind == "hold":
        return ref.partition(":")[0] or None
    return ref or None


def raise_alerts(services: Services, now: datetime) -> AlertReport:
    """Turn new alertable events into alerts (blocking: run in a worker thread)."""
    store = services.require_store()
    report = AlertReport()
    while True:
        events = store.events_without_alert(ALERT_KINDS, now - LOOKBACK, limit=ALERT_BATCH)
        for event in events:
            # Only the clinic's own patients (enrolled by its link, so with its reference) can
            # agree to share; a consent row without one (a forged button) shares nothing.
            share = store.shared_at(event.chat_id, event.occurred_at) and (
                store.clinic_ref(event.chat_id) is not None
            )
            alert = store.create_alert(
                event,
                now,
                share=share,
                recipients=recipients(services) if share else [],
                detail=_detail(services, event),
            )
            if alert is not None:
                if share:
                    report.raised += 1
                else:
                    report.withheld += 1
        if len(events) < ALERT_BATCH:
            return report


def reference(services: Services, chat_id: int) -> str:
    """How staff see a patient: the clinic's reference, else the bot's pseudonym."""
    store = services.require_store()
    return store.clinic_ref(chat_id) or store.pseudonym(chat_id, services.clock())


def what_happened(alert: AlertRecord) -> str:
    label = ALERT_KINDS.get(alert.kind, alert.kind)
    return f"{label} ({alert.detail})" if alert.detail else label


def local_time(services: Services, at: datetime) -> str:
    """A moment in the clinic's time zone ([clinic] timezone)."""
    return f"{at.astimezone(ZoneInfo(services.config.clinic_timezone)):%a %d %b %H:%M}"


def alert_html(services: Services, alert: AlertRecord, ref: str) -> str:
    """The alert as staff read it: the reference and what happened, never the words."""
    lines = [
        f"🔔 <b>Alert #{alert.id}</b>: {escape(ref)}",
        escape(what_happened(alert)),
        f"<i>{escape(local_time(services, alert.occurred_at))}</i>",
    ]
    if alert.state == "acknowledged" and alert.acknowledged_at is not None:
        lines.append(
            f"✅ Acknowledged by {escape(staff_name(services, alert.acknowledged_by))} "
            f"at {escape(local_time(services, alert.acknowledged_at))}"
        )
        return "\n".join(lines)
    advice = ALERT_ADVICE.get(alert.kind)
    lines += ["", *([escape(advice)] if advice else []), f"<i>{escape(HOW_TO)}</i>"]
    return "\n".join(lines)


def staff_name(services: Services, user_id: int | None) -> str:
    """How staff see each other: as in the audit log (``staff:<user id>``)."""
    return audit_name(user_id) if user_id is not None else "staff"


def alert_keyboard(alert: AlertRecord, *, listed: bool = False) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            f"✅ Acknowledge #{alert.id}" if listed else "✅ Acknowledge",
            callback_data=callbacks.alert(alert.id, callbacks.ALERT_LISTED_ACK if listed else "a"),
        ),
        InlineKeyboardButton(
            "✉️ Message patient", callback_data=callbacks.alert(alert.id, callbacks.ALERT_MESSAGE)
        ),
    ]
    if alert.state != "open":
        buttons = buttons[1:]
    return InlineKeyboardMarkup([buttons])


async def deliver_alerts(services: Services, now: datetime, report: AlertReport) -> None:
    """Send claimed alert messages to staff, each recorded as it goes."""
    store = services.require_store()
    sender = services.require_sender()
    while True:
        claimed = await services.db(store.claim_alert_deliveries, now)
        if not claimed:
            return
        for delivery in claimed:
            if await role_of(services, delivery.staff_id) is None:
                # Removed from the staff since the alert was raised: a retry must not carry
                # a patient's news to them. Not sent, and not tried again.
                await services.db(store.record_alert_delivery, delivery.id, "blocked", now)
                key = "no longer staff"
                report.deliveries[key] = report.deliveries.get(key, 0) + 1
                continue
            ref = await services.db(reference, services, delivery.alert.chat_id)
            html = await services.db(alert_html, services, delivery.alert, ref)
            result = await sender.send_message(
                delivery.staff_id,
                html,
                lane=Lane.INTERACTIVE,
                reply_markup=alert_keyboard(delivery.alert),
            )
            message_id = result.value.message_id if result.value is not None else None
            await services.db(
                store.record_alert_delivery,
                delivery.id,
                result.delivery.value,
                now,
                message_id=message_id,
            )
            key = result.delivery.value
            report.deliveries[key] = report.deliveries.get(key, 0) + 1
            if result.delivery is not Delivery.SENT:
                log.warning("alert %d to a staff member: %s", delivery.alert.id, key)


async def process_alerts(services: Services, now: datetime) -> AlertReport:
    """One look: new events to alerts, then the deliveries due."""
    report = await services.db(raise_alerts, services, now)
    await deliver_alerts(services, now, report)
    if report.raised or report.withheld or report.deliveries:
        log.info(
            "alerts: %d raised, %d withheld (no consent), sends %s",
            report.raised,
            report.withheld,
            report.deliveries,
        )
    return report


async def alert_tick(context: BotContext) -> None:
    """Job: alerts from new events, and their deliveries. One process at a time (the one that
    sends bulk); the rows' claims alone already keep an alert from being doubled."""
    services = context.services
    if not await services.may_send_bulk():
        return
    await process_alerts(services, services.clock())

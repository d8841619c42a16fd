"""The :class:`Store`: every database operation the bot performs, as typed methods.

Each domain keeps its queries in its own module (:mod:`store.chats`, :mod:`store.events`,
...), all built on :class:`store.base.StoreBase`; this class combines them.
"""

from __future__ import annotations

from .alerts import AlertQueries
from .audit import AuditQueries
from .broadcasts import BroadcastQueries
from .chats import ChatQueries
from .checkin_answers import CheckinAnswerQueries
from .checkins import CheckinQueries
from .enrolment import EnrolmentQueries
from .events import EventQueries
from .export import ExportQueries
from .followups import FollowupQueries
from .inbox import InboxQueries
from .outbox import OutboxQueries
from .patients import PatientQueries
from .regimens import RegimenQueries
from .relays import RelayQueries
from .reminders import ReminderQueries
from .reports import ReportQueries
from .sharing import SharingQueries
from .staff import StaffQueries


class Store(
    ChatQueries,
    EventQueries,
    InboxQueries,
    RegimenQueries,
    ReminderQueries,
    FollowupQueries,
    CheckinQueries,
    CheckinAnswerQueries,
    StaffQueries,
    AuditQueries,
    PatientQueries,
    ExportQueries,
    EnrolmentQueries,
    BroadcastQueries,
    OutboxQueries,
    AlertQueries,
    RelayQueries,
    ReportQueries,
    SharingQueries,
):
    """The bot's database. Thread-safe: each call uses its own pooled connection.

    Create with :meth:`open`; release with :meth:`close` (or use as a context manager).
    Methods raise :class:`ValueError` for invalid arguments (naive datetimes, unknown chat
    kinds...) and :class:`~store.StoreError` (or a subclass) when the database fails.
    """

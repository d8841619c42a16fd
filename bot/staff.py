"""Who is staff, the deny-by-default gate on staff commands and buttons, and the audit log.

Staff are the user ids in ``[staff]`` of the config (admins and staff) and the people an admin
invited (the store). Everyone else is a patient: a staff command or button from them gets
exactly what an unknown command or a stale button gets, and the attempt is audited (under
their pseudonym). Staff commands work only in private chats with the bot.

Handlers opt in with a decorator, so a new staff command cannot forget the check::

    @staff_only()            # staff and admins
    async def broadcast(update, context) -> None: ...

    @staff_only("admin")     # admins only
    async def staff_command(update, context) -> None: ...
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import staff_texts, texts
from bot.context import BotContext, Services
from bot.handlers.forget import stale_button
from bot.handlers.unknown import unknown_command
from store import StoreError
from store.audit import staff_name
from store.staff import Role

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def config_role(services: Services, user_id: int) -> Role | None:
    staff = services.config.staff
    if user_id in staff.admins:
        return "admin"
    if user_id in staff.staff:
        return "staff"
    return None


async def role_of(services: Services, user_id: int) -> Role | None:
    """The user's role: the config's first (an admin there stays admin), then the store's."""
    role = config_role(services, user_id)
    if role is not None:
        return role
    return await services.db(services.require_store().stored_role, user_id)


# How stale the list of invited staff may be for may_be_staff: an invitation redeemed in
# another process is seen this much later at most (this process sees its own at once).
STAFF_CACHE_SECONDS = 30.0


async def may_be_staff(services: Services, user_id: int) -> bool:
    """Whether the user is staff, from the config or a list of invited members read at most
    every STAFF_CACHE_SECONDS: a cheap test for handlers that every patient's message passes
    (a store read for each one cost more than answering the question)."""
    if config_role(services, user_id) is not None:
        return True
    now = time.monotonic()
    cache = services.staff_cache
    if cache is None or now - cache[0] > STAFF_CACHE_SECONDS:
        staff = await services.db(services.require_store().list_staff)
        cache = (now, frozenset(member.user_id for member in staff))
        services.staff_cache = cache
    return user_id in cache[1]


def forget_staff_cache(services: Services) -> None:
    """This process changed who is staff: read the list again at the next test."""
    services.staff_cache = None


def allows(role: Role | None, needed: Role) -> bool:
    return role == "admin" or (role == "staff" and needed == "staff")


async def audit(
    services: Services,
    actor: str,
    action: str,
    *,
    subject: str | None = None,
    detail: str | None = None,
) -> None:
    """Append an audit entry now. ``actor``/``subject``: :func:`store.audit.staff_name`, a
    pseudonym (:func:`pseudonym_of`) or ``"cli"``; never a patient's words."""
    store = services.require_store()
    await services.db(
        store.append_audit, actor, action, services.clock(), subject=subject, detail=detail
    )


async def pseudonym_of(services: Services, chat_id: int) -> str:
    """How a patient (a chat, or a person by user id) is named in the audit log."""
    store = services.require_store()
    return await services.db(store.pseudonym, chat_id, services.clock())


async def refuse(update: Update, context: BotContext, what: str) -> None:
    """Answer as if the command or button did not exist; audit the attempt."""
    services = context.services
    user = update.effective_user
    chat = update.effective_chat
    if user is not None:
        role = await role_of(services, user.id)
        actor = staff_name(user.id) if role is not None else await pseudonym_of(services, user.id)
        where = "private" if chat is not None and chat.type == ChatType.PRIVATE else "group"
        try:
            await audit(services, actor, "refused", detail=f"{what} ({where})")
            if role is None and user.id in await services.db(
                services.require_store().removed_staff
            ):
                # Removed while the bot ran (`ldn-bot staff remove`): the menu goes now.
                await show_menu(context.bot, user.id, None)
        except StoreError as exc:
            log.warning("could not audit a refused staff command (%s)", type(exc).__name__)
    if update.callback_query is not None:
        await stale_button(update, context)
    else:
        await unknown_command(update, context)


async def staff_user(update: Update, context: BotContext, needed: Role = "staff") -> Role | None:
    """The sender's role when they may use a staff feature here (a private chat), else None."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != ChatType.PRIVATE:
        return None
    role = await role_of(context.services, user.id)
    return role if allows(role, needed) else None


def staff_only(needed: Role = "staff") -> Callable[[Handler], Handler]:
    """Run the handler only for staff (``needed="admin"``: admins) in a private chat."""

    def decorate(handler: Handler) -> Handler:
        what = handler.__name__

        @functools.wraps(handler)
        async def gated(update: Update, context: BotContext) -> None:
            if await staff_user(update, context, needed) is None:
                await refuse(update, context, what)
                return
            await handler(update, context)

        return gated

    return decorate


# -- one-time codes ----------------------------------------------------------------------


def new_code() -> str:
    """A one-time code (16 URL-safe characters, 96 bits), fit for a /start deep link."""
    return secrets.token_urlsafe(12)


def code_hash(code: str) -> str:
    """What the store keeps of a code. The codes are random enough that a fast hash does."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


# -- the command menu --------------------------------------------------------------------


def menu_for(role: Role) -> list[BotCommand]:
    commands = [*texts.COMMANDS, *staff_texts.STAFF_COMMANDS]
    if role == "admin":
        commands += staff_texts.ADMIN_COMMANDS
    return [BotCommand(name, description) for name, description in commands]


async def show_menu(bot: Bot, user_id: int, role: Role | None) -> None:
    """Staff see their commands in their own chat's menu; a removed member sees the patients'."""
    scope = BotCommandScopeChat(chat_id=user_id)
    try:
        if role is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(menu_for(role), scope=scope)
    except TelegramError as exc:
        # A member who never started the bot: their menu is set when they do (/join).
        log.warning("could not set a staff member's command menu (%s)", type(exc).__name__)


async def install_menus(bot: Bot, services: Services) -> None:
    """At start: every staff member's menu, from the config and the store; members removed
    (also by `ldn-bot staff remove`, which cannot reach Telegram's menus) lose theirs."""
    members: dict[int, Role | None] = {}
    for user_id in await services.db(services.require_store().removed_staff):
        members[user_id] = None
    for record in await services.db(services.require_store().list_staff):
        members[record.user_id] = record.role
    for user_id in services.config.staff.staff:
        members[user_id] = "staff"
    for user_id in services.config.staff.admins:
        members[user_id] = "admin"
    for user_id, role in sorted(members.items()):
        await show_menu(bot, user_id, role)

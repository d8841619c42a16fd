"""/staff (admins: list, invite, remove) and /join CODE (anyone holding an invitation)."""

from __future__ import annotations

from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot import callbacks, staff_texts
from bot.context import BotContext, Services
from bot.handlers.common import edit_html, send_html
from bot.staff import (
    audit,
    code_hash,
    config_role,
    forget_staff_cache,
    new_code,
    pseudonym_of,
    refuse,
    role_of,
    show_menu,
    staff_only,
)
from bot.texts import escape
from store.audit import staff_name
from store.staff import Redeemed, Role


def _x(what: str, value: str = "") -> str:
    return callbacks.Callback("x", f"{what}:{value}").encode()


async def invite(services: Services, role: Role, created_by: int | None) -> tuple[str, int]:
    """A new one-time invitation: (its code, shown once; its id). Only the hash is stored."""
    code = new_code()
    now = services.clock()
    expires = now + timedelta(hours=services.config.staff.invite_hours)
    store = services.require_store()
    invite_id = await services.db(
        store.create_invite, code_hash(code), role, now, expires, created_by=created_by
    )
    actor = staff_name(created_by) if created_by is not None else "cli"
    await audit(services, actor, "invite", subject=f"invite:{invite_id}", detail=f"role {role}")
    return code, invite_id


async def staff_list(services: Services) -> tuple[str, InlineKeyboardMarkup]:
    config = services.config.staff
    stored = await services.db(services.require_store().list_staff)
    lines = ["<b>Clinic staff</b>", ""]
    for user_id in config.admins:
        lines.append(f"• {user_id}: admin (config)")
    for user_id in config.staff:
        if user_id not in config.admins:
            lines.append(f"• {user_id}: staff (config)")
    buttons = []
    for member in stored:
        if config_role(services, member.user_id) is not None:
            continue
        lines.append(f"• {member.user_id}: {member.role} (invited {member.added_at:%Y-%m-%d})")
        buttons.append(
            [
                InlineKeyboardButton(
                    f"Remove {member.user_id}", callback_data=_x("rm", str(member.user_id))
                )
            ]
        )
    if len(lines) == 2:
        lines.append("Nobody yet.")
    lines += ["", "Staff listed in the config are removed by editing it."]
    buttons.append(
        [
            InlineKeyboardButton("Invite staff", callback_data=_x("inv", "staff")),
            InlineKeyboardButton("Invite admin", callback_data=_x("inv", "admin")),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


@staff_only("admin")
async def staff_command(update: Update, context: BotContext) -> None:
    """List staff with buttons to invite and remove (admins only)."""
    text, markup = await staff_list(context.services)
    await send_html(update, context, [text], markup)


@staff_only("admin")
async def staff_button(update: Update, context: BotContext) -> None:
    """Invite (x:inv:<role>) or remove (x:rm:<user id>) a member."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    services = context.services
    admin = update.effective_user.id
    decoded = callbacks.decode(query.data)
    what, _, value = (decoded.value if decoded else "").partition(":")
    if what == "inv" and value in ("staff", "admin"):
        await query.answer()
        code, _ = await invite(services, value, admin)  # type: ignore[arg-type]
        hours = services.config.staff.invite_hours
        await send_html(
            update,
            context,
            [
                f"One-time invitation ({value}), valid for {hours} h. The new member sends "
                "this to the bot:",
                f"<code>/join {escape(code)}</code>",
            ],
        )
        return
    if what == "rm" and value.isdigit():
        user_id = int(value)
        removed = await services.db(services.require_store().remove_staff, user_id)
        forget_staff_cache(services)
        await query.answer("Removed." if removed else "Not an invited member.")
        if removed:
            await audit(services, staff_name(admin), "remove", subject=staff_name(user_id))
            await show_menu(context.bot, user_id, await role_of(services, user_id))
        text, markup = await staff_list(services)
        await edit_html(query, text, markup)
        return
    await refuse(update, context, "staff_button")


async def join(update: Update, context: BotContext) -> None:
    """Become staff with a one-time invitation code."""
    user = update.effective_user
    chat = update.effective_chat
    services = context.services
    code = " ".join(context.args or ())
    if user is None or chat is None or chat.type != ChatType.PRIVATE or not code:
        await refuse(update, context, "join")
        return
    role = await role_of(services, user.id)
    if role is not None:
        await send_html(update, context, [staff_texts.JOIN_ALREADY.format(role=role)])
        return
    store = services.require_store()
    redemption = await services.db(store.redeem_invite, code_hash(code), user.id, services.clock())
    forget_staff_cache(services)
    if redemption.result is Redeemed.UNKNOWN:
        await refuse(update, context, "join")
        return
    if redemption.result is not Redeemed.JOINED:
        actor = await pseudonym_of(services, user.id)
        await audit(services, actor, "join-refused", detail=redemption.result.value)
        reply = (
            staff_texts.JOIN_EXPIRED
            if redemption.result is Redeemed.EXPIRED
            else staff_texts.JOIN_USED
        )
        await send_html(update, context, [reply])
        return
    await audit(services, staff_name(user.id), "join", subject=f"invite:{redemption.invite_id}",
                detail=f"role {redemption.role}")  # fmt: skip
    await show_menu(context.bot, user.id, redemption.role)
    await send_html(update, context, [staff_texts.JOINED.format(role=redemption.role)])

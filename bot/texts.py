"""The bot's own words (everything that is not a knowledge-base answer)."""

from __future__ import annotations

from html import escape as _escape

from knowledge import ClinicInfo


def escape(text: str) -> str:
    """Escape text for Telegram HTML (&, <, >; quotes need no escaping there)."""
    return _escape(text, quote=False)


EXAMPLE_ENTRIES = ("side-effects", "when-to-take", "sleep-problems", "how-ldn-works")

COMMANDS = (
    ("start", "Welcome and what I can do"),
    ("topics", "Browse the topics I know about"),
    ("plan", "Set up or change your dose reminders"),
    ("today", "Tonight's dose and what is recorded"),
    ("schedule", "Your titration plan, step by step"),
    ("pause", "Pause reminders for a few days"),
    ("resume", "Turn reminders back on"),
    ("stop", "Stop reminders (your plan is kept)"),
    ("time", "Show or change the reminder time"),
    ("timezone", "Show or change your time zone"),
    ("history", "Your last evenings, side effects and pain scores"),
    ("checkins", "Turn symptom check-ins off or on"),
    ("mydata", "Everything stored about you, as a file"),
    ("help", "How to use this bot"),
    ("sources", "The studies and slides behind my answers"),
    ("privacy", "What I store and how to delete it"),
    ("forget", "Delete everything stored about this chat"),
    ("updates", "Turn news from your clinic on or off"),
)


def welcome(clinic: ClinicInfo) -> str:
    contact = escape(clinic.placeholders()["clinic"])
    emergency = escape(clinic.placeholders()["emergency"])
    return (
        "👋 <b>Hello! I answer questions about low dose naltrexone (LDN).</b>\n\n"
        "Ask me in your own words, for example about side effects, when to take your dose or "
        "how LDN works. Every answer comes from your clinic's information and shows its "
        "sources. When I don't know, I say so.\n\n"
        "Send /plan to get a reminder each evening that follows your titration plan.\n\n"
        "<b>Please note:</b> I give general information, not personal medical advice, and I "
        "never change your dose. For questions about your own treatment, contact "
        f"{contact}. In an emergency, call {emergency}.\n\n"
        "<b>Privacy:</b> I store this chat's id and your settings so I can work; questions I "
        "can't answer are kept for the clinic without any link to you. /privacy tells more, "
        "and /forget deletes everything linked to this chat.\n\n"
        "Try one of these:"
    )


def help_text() -> str:
    lines = "\n".join(f"/{name} — {escape(desc)}" for name, desc in COMMANDS)
    return (
        "<b>How to use me</b>\n\n"
        "Type any question about LDN, like <i>can't sleep on ldn</i> or <i>what dose do I "
        "start on</i>. If I'm not sure what you mean, I'll offer topics to pick from.\n\n"
        f"{lines}\n\n"
        "In a group, mention me or reply to one of my messages."
    )


def privacy(retention_days: int) -> str:
    return (
        "<b>What I store</b>\n\n"
        "• This chat's id and type, when it first and last used me, and whether you pressed "
        "Start: so the clinic's reminders and updates can reach you later.\n"
        "• Your settings for this bot, if you choose any.\n"
        "• If you set up reminders (/plan): your plan, reminder time and time zone, and for "
        "each evening the dose it asked for, whether the reminder was delivered and what you "
        "tapped (taken, skipped) or that nothing was tapped (missed).\n"
        "• If you answer symptom check-ins: the side effects you tapped and how bad, and your "
        "pain scores, with the evening they belong to (/checkins turns them off).\n"
        "• Questions I could not answer, with names, phone numbers, e-mail addresses, dates "
        "and other numbers taken out, <b>without any link to you or this chat</b>: only the "
        f"day and how often each was asked, for {retention_days} days, so the clinic can add "
        "answers.\n\n"
        "/mydata sends you all of it as a file. "
        "Your messages are kept only until I have answered them (usually a second), and I "
        "do not store my answers. /forget deletes everything linked "
        "to this chat; the unanswered questions above cannot be traced back to you, so they "
        "stay until they expire. Please don't type names or phone numbers in questions."
    )


FORGET_CONFIRM = (
    "This deletes everything stored about this chat: its record, your settings, your "
    "reminder plan, every evening recorded and your check-in answers. "
    "You can use the bot again at any time afterwards. Delete now?"
)
FORGET_DONE = "Done: nothing about this chat is stored any more."
FORGET_KEPT = "Nothing was deleted."
FORGET_NOT_YOURS = "Only the person who asked to delete the data can confirm it."
UNKNOWN_COMMAND = (
    "I don't know that command. Send /help to see what I can do, or just type your question."
)
STALE_BUTTON = "Sorry, that button no longer works. Please ask again or use /topics."
TOPICS = "<b>Topics</b>\n\nChoose a subject:"
ERROR = "Sorry, something went wrong on my side. Please try again in a moment."


# Tier 2: the learned safety signal thinks a message may be a crisis that no rule recognised.
# A short, warm question by kind goes first, with two buttons; the ordinary answer follows.
CHECKIN = {
    "self-harm": "I want to check on you before I answer. Are you safe right now?",
    "overdose": (
        "I want to check on you before I answer. Have you, or someone with you, taken more "
        "than the usual dose?"
    ),
    "severe-reaction": (
        "I want to check on you before I answer. Are you having a severe reaction right now, "
        "such as swelling, trouble breathing, or a rash with blisters?"
    ),
    "opioids": (
        "I want to check on you before I answer. Are you taking opioid pain relief, or having "
        "an operation or emergency treatment? LDN blocks opioids, so the team must know."
    ),
}
CHECKIN_DEFAULT = "I want to check on you before I answer. Are you safe right now?"
CHECKIN_HELP_BUTTON = "I need help now"
CHECKIN_OK_BUTTON = "I'm OK"
CHECKIN_HELP_SENT = "You asked for help. Here is what to do now:"
CHECKIN_OK_DONE = (
    "Thank you for letting me know you're OK. If anything changes, tell me or call {emergency}."
)
CHECKIN_NOT_YOURS = "Only the person who was asked can answer this check-in."


def checkin(kind: str) -> str:
    return CHECKIN.get(kind, CHECKIN_DEFAULT)

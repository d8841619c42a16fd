"""Callback data: short, opaque, checked again on the server when a button is pressed.

    a:<entry-id>     answer this entry in place (clarify suggestion, topic list)
    q:<entry-id>     answer this entry as a new message (example questions under /start)
    t:               the topic categories;  t:<category-id>  the entries of one category
    f:yes / f:no     the /forget confirmation
    s:<event-id>:h   "I need help now" on a safety check-in;  s:<event-id>:o  "I'm OK"
    r:<evening-id>:<t|s|k|h>   a reminder's Taken / Snooze / Skip tonight / Stay on my dose
    p:<field>:<value>          a /plan setup choice (plan, start, time, zone, ok, edit, cancel)
    w:<days>                   /pause ("wait") for that many days (0: until /resume)
    x:<what>[:<value>]         staff management (/staff): invite, remove; staff only
    e:<what>[:<value>]         enrolment and consent: replace regimen, share yes/no
    b:<what>[:<value>]         the /broadcast conversation and /broadcasts; staff only
    c:<checkin-id>:<choice>    a symptom check-in: a side effect's letter (d s n h m), then
                               with its severity (d1 mild, d2 bothering, d3 severe); x none;
                               p<0-10> a pain score; b back to the list; k done
    l:<alert-id>:<a|k|m>       a staff alert's Acknowledge (a; k from the /alerts list) or
                               Message patient (m);  l:<relay-id>:x  cancel that message

Never patient data; every value fits Telegram's 64-byte limit because ids are <= 40 chars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Action = Literal["a", "q", "t", "f", "s", "r", "p", "w", "x", "e", "b", "c", "l"]
_ACTIONS: frozenset[str] = frozenset(
    {"a", "q", "t", "f", "s", "r", "p", "w", "x", "e", "b", "c", "l"}
)
CHECKIN_HELP = "h"
CHECKIN_OK = "o"
MAX_BYTES = 64


@dataclass(frozen=True, slots=True)
class Callback:
    action: Action
    value: str

    def encode(self) -> str:
        data = f"{self.action}:{self.value}"
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data!r}")
        return data


def answer_here(entry_id: str) -> str:
    return Callback("a", entry_id).encode()


def answer_new(entry_id: str) -> str:
    return Callback("q", entry_id).encode()


def topics(category_id: str = "") -> str:
    return Callback("t", category_id).encode()


def forget(confirm: bool) -> str:
    return Callback("f", "yes" if confirm else "no").encode()


def checkin(event_id: int, answer: str) -> str:
    """A check-in button: the check-in's event id and h (help now) or o (I'm OK)."""
    if answer not in (CHECKIN_HELP, CHECKIN_OK):
        raise ValueError(f"unknown check-in answer {answer!r}")
    return Callback("s", f"{event_id}:{answer}").encode()


def decode_checkin(data: str | None) -> tuple[int, str] | None:
    """(event id, h or o) of a check-in button, or None when malformed."""
    decoded = decode(data)
    if decoded is None or decoded.action != "s":
        return None
    number, sep, answer = decoded.value.partition(":")
    if not sep or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    if answer not in (CHECKIN_HELP, CHECKIN_OK):
        return None
    return int(number), answer


def reminder(evening_id: int, choice: str) -> str:
    return Callback("r", f"{evening_id}:{choice}").encode()


def plan(field: str, value: str = "") -> str:
    return Callback("p", f"{field}:{value}").encode()


def pause(days: int) -> str:
    return Callback("w", str(days)).encode()


def symptom(checkin_id: int, choice: str) -> str:
    """A symptom check-in button (see the module docstring for `choice`)."""
    return Callback("c", f"{checkin_id}:{choice}").encode()


def decode_symptom(data: str | None) -> tuple[int, str] | None:
    """(check-in id, choice) of a symptom check-in button, or None when malformed; the choice
    itself is checked by the handler against what the check-in asks."""
    decoded = decode(data)
    if decoded is None or decoded.action != "c":
        return None
    number, sep, choice = decoded.value.partition(":")
    if not sep or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    if not choice.isascii() or not 1 <= len(choice) <= 3:
        return None
    return int(number), choice


def decode(data: str | None) -> Callback | None:
    """The callback, or None for anything malformed (stale or forged buttons)."""
    if not data or len(data.encode()) > MAX_BYTES or ":" not in data:
        return None
    action, value = data.split(":", 1)
    if action not in _ACTIONS:
        return None
    return Callback(action, value)  # type: ignore[arg-type]


# -- staff alerts (issue #11) ---------------------------------------------------------------

ALERT_ACK = "a"
ALERT_LISTED_ACK = "k"
ALERT_MESSAGE = "m"
RELAY_CANCEL = "x"
_ALERT_CHOICES = frozenset({ALERT_ACK, ALERT_LISTED_ACK, ALERT_MESSAGE, RELAY_CANCEL})


def alert(number: int, choice: str) -> str:
    """An alert's button (or, with x, a relay's cancel button): the row's id and the choice."""
    if choice not in _ALERT_CHOICES:
        raise ValueError(f"unknown alert choice {choice!r}")
    return Callback("l", f"{number}:{choice}").encode()


def decode_alert(data: str | None) -> tuple[int, str] | None:
    """(id, choice) of an alert button, or None when malformed."""
    decoded = decode(data)
    if decoded is None or decoded.action != "l":
        return None
    number, sep, choice = decoded.value.partition(":")
    if not sep or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    if choice not in _ALERT_CHOICES:
        return None
    return int(number), choice

"""Symptom check-ins without an event loop: which evenings ask, adherence, the buttons'
callback data, the chart (a PNG that decodes, within Telegram's photo limits) and the
README's field-by-field description of /mydata."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot import callbacks
from bot import checkin_texts as ct
from bot.chart import MAX_DAYS, chart_data, render_png
from bot.config import ConfigError, load_config
from reminders import Regimen, Step, load_plans
from reminders.checkins import checkins_due
from reminders.history import Night, adherence, status
from store import CheckinRecord
from store.models import CHAT_LINKED_TABLES

BOOK = load_plans()
START = date(2026, 12, 1)
ROOT = Path(__file__).resolve().parent.parent


def regimen(plan: str = "standard", start: date = START, **changes: object) -> Regimen:
    made = Regimen.from_plan(BOOK.plans[plan], start, time(21), "Europe/London")
    return made if not changes else Regimen(**{**_fields(made), **changes})  # type: ignore[arg-type]


def _fields(made: Regimen) -> dict[str, object]:
    return {name: getattr(made, name) for name in made.__slots__}  # type: ignore[attr-defined]


def asked(reg: Regimen, days: int, after: int = 3) -> list[tuple[str, date]]:
    out = []
    for offset in range(days):
        evening = reg.start + timedelta(days=offset)
        out += [(c.kind, c.evening) for c in checkins_due(reg, evening, after_days=after)]
    return out


def test_standard_plan_asks_three_days_into_each_higher_dose_and_weekly_pain() -> None:
    kinds = asked(regimen(), 60)
    effects = [d for k, d in kinds if k == "side_effects"]
    assert effects == [date(2026, 12, 18), date(2027, 1, 1)]  # 3 mg on 15 Dec, 4.5 on 29 Dec
    pain = [d for k, d in kinds if k == "pain"]
    assert pain == [START + timedelta(days=6 + 7 * n) for n in range(8)]


def test_gentle_plan_asks_after_every_step_up_and_a_configured_delay() -> None:
    effects = [d for k, d in asked(regimen("gentle"), 70, after=5) if k == "side_effects"]
    assert effects == [START + timedelta(days=7 * n + 5) for n in range(1, 9)]


def test_a_held_step_up_is_asked_about_when_it_really_happens() -> None:
    held = regimen().with_hold(date(2026, 12, 15), 7)  # "Stay on my current dose" that evening
    effects = [d for k, d in asked(held, 60) if k == "side_effects"]
    assert effects == [date(2026, 12, 25), date(2027, 1, 8)]


def test_short_steps_lower_doses_and_the_first_step() -> None:
    steps = (
        Step(Decimal("1"), 2),
        Step(Decimal("2"), 2),
        Step(Decimal("1.5"), 5),
        Step(Decimal("3"), None),
    )
    reg = regimen(steps=steps)
    effects = [d for k, d in asked(reg, 20) if k == "side_effects"]
    # 2 mg lasts two days: asked on its last; 1.5 mg is lower: not asked; 3 mg from the 10th.
    assert effects == [date(2026, 12, 4), date(2026, 12, 13)]
    assert checkins_due(reg, START - timedelta(days=1)) == []


def test_adherence_never_counts_an_outage_or_tonight() -> None:
    def night(day: int, delivery: str, outcome: str) -> Night:
        return Night(START + timedelta(days=day), Decimal("1.5"), delivery, outcome)

    nights = [
        night(0, "sent", "taken"),
        night(1, "sent", "missed"),
        night(2, "not_sent", "none"),  # the bot was down
        night(3, "blocked", "none"),
        night(4, "unknown", "skipped"),
        night(5, "sent", "taken"),
        night(6, "sent", "none"),  # tonight, not answered yet
    ]
    today = START + timedelta(days=6)
    assert [status(n, today) for n in nights] == [
        "taken",
        "missed",
        "not_sent",
        "not_sent",
        "skipped",
        "taken",
        "open",
    ]
    week = adherence(nights, today, 7)
    assert (week.taken, week.counted, week.percent) == (2, 4, 50)
    # An earlier evening whose send was cut off (it may never have arrived) and a paused one:
    # shown for what they are, neither counted.
    earlier = [
        night(-1, "unknown", "none"),
        Night(START - timedelta(days=2), Decimal("1.5"), "not_sent", "none", "paused"),
    ]
    assert [status(n, today) for n in earlier] == ["no_answer", "paused"]
    assert adherence([*nights, *earlier], today, 9) == adherence(nights, today, 9)
    assert adherence(nights, today, 2).percent == 100
    assert adherence([], today, 30).percent is None


def checkin(kind: str) -> CheckinRecord:
    return CheckinRecord(
        id=123456789012,
        chat_id=1,
        local_date=START,
        kind=kind,
        step=1,
        dose_mg=Decimal("3"),
        delivery="sent",
        due_at=None,  # type: ignore[arg-type]
        expires_at=None,  # type: ignore[arg-type]
        sent_at=None,
        message_id=1,
    )


def all_buttons(kind: str) -> list[str]:
    found = ct.checkin_keyboard(checkin(kind))
    assert found is not None
    data = [b.callback_data for row in found.inline_keyboard for b in row]
    if kind == "side_effects":
        for item in ("vivid_dreams", "sleep", "nausea", "headache", "mood"):
            markup = ct.severity_keyboard(checkin(kind), item)
            data += [b.callback_data for row in markup.inline_keyboard for b in row]
    return [str(d) for d in data]


@pytest.mark.parametrize("kind", ["side_effects", "pain"])
def test_every_button_decodes_to_what_it_offers(kind: str) -> None:
    for data in all_buttons(kind):
        assert len(data.encode()) <= callbacks.MAX_BYTES
        decoded = callbacks.decode_symptom(data)
        assert decoded is not None and decoded[0] == 123456789012
        assert ct.parse_choice(decoded[1]) is not None, data


def test_side_effect_choices() -> None:
    assert ct.parse_choice("d") == ct.Choice("pick", "vivid_dreams")
    assert ct.parse_choice("d3") == ct.Choice("answer", "vivid_dreams", severity="severe")
    assert ct.parse_choice("m1") == ct.Choice("answer", "mood", severity="mild")
    assert ct.parse_choice("x") == ct.Choice("answer", "none")
    assert ct.parse_choice("p10") == ct.Choice("answer", "pain", score=10)


@pytest.mark.parametrize("junk", ["", "z", "d4", "d0", "x1", "p11", "p-1", "pp", "d33", "k1"])
def test_forged_choices_are_refused(junk: str) -> None:
    assert ct.parse_choice(junk) is None


@pytest.mark.parametrize("data", ["c:", "c:1", "c:x:d", "c:1:dddd", "s:1:d", "c:1:", "c:١:d"])
def test_forged_symptom_callbacks_are_refused(data: str) -> None:
    assert callbacks.decode_symptom(data) is None


PLACES = {"clinic": "the clinic on 01234", "emergency": "999", "crisis": "a crisis line (116 123)"}
DOSE_ADVICE = ("reduce", "lower your", "increase", "stop taking", "skip", "cut", "halve")


@pytest.mark.parametrize("item", ["vivid_dreams", "sleep", "nausea", "headache", "mood"])
def test_severe_answers_never_advise_a_dose(item: str) -> None:
    text = ct.severe_html(item, PLACES).lower()
    assert "01234" in text and "999" in text
    assert ("116 123" in text) == (item == "mood")  # a severe mood change: the crisis line too
    for advice in DOSE_ADVICE:
        assert advice not in text


def test_no_checkin_text_advises_a_dose() -> None:
    side, pain = checkin("side_effects"), checkin("pain")
    texts = [
        ct.checkin_html(side, then_pain=True),
        ct.checkin_html(pain, before=ct.recorded_html(side, [])),
        ct.severity_html(side, "nausea"),
        ct.finished_html(side, []),
    ]
    for text in texts:
        for advice in DOSE_ADVICE:
            assert advice not in text.lower(), (advice, text)


def six_month_plan() -> Regimen:
    steps = tuple(Step(Decimal("0.5") + Decimal("0.25") * (n // 3), 7) for n in range(25))
    return Regimen("long", (*steps, Step(Decimal("4.5"), None)), START, time(21), "Europe/London")


def decoded_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        image.load()  # every pixel: a truncated or corrupt file raises here
        assert image.format == "PNG"
        return image.size


@pytest.mark.parametrize("months", [1, 6])
def test_the_chart_is_a_png_within_telegrams_photo_limits(months: int) -> None:
    reg = regimen() if months == 1 else six_month_plan()
    days = 30 * months
    nights = [
        Night(
            START + timedelta(days=n),
            reg.tonight(START + timedelta(days=n)).dose_mg,  # type: ignore[union-attr]
            "sent",
            ("taken", "skipped", "missed")[n % 3],
        )
        for n in range(days)
    ]
    pain = [(START + timedelta(days=6 + 7 * n), n % 11) for n in range(days // 7)]
    data = chart_data(reg, nights, pain, START + timedelta(days=days - 1))
    assert len(data.taken) == len(data.skipped) == len(data.missed) == days // 3
    assert data.doses[0] == 1.5 or months == 6
    png = render_png(data)
    width, height = decoded_size(png)
    assert len(png) <= 10 * 1024 * 1024
    assert width + height <= 10_000 and max(width, height) / min(width, height) <= 20
    assert (width, height) == (1200, 840)


def test_a_very_long_regimen_charts_its_most_recent_days() -> None:
    reg = regimen()
    today = START + timedelta(days=3 * MAX_DAYS)
    data = chart_data(reg, [], [], today)
    assert len(data.days) == MAX_DAYS and data.days[-1] == today
    assert decoded_size(render_png(data)) == (1200, 840)


def test_checkin_config_keys(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("[reminders]\ncheckin_after_days = 5\npain_every_days = 0\n", "utf-8")
    loaded = load_config(file).reminders
    assert (loaded.checkin_after_days, loaded.pain_every_days) == (5, 0)
    assert load_config(None).reminders.checkin_after_days == 3
    file.write_text("[reminders]\ncheckin_after_days = 0\n", "utf-8")
    with pytest.raises(ConfigError, match="checkin_after_days must be between 1 and 14"):
        load_config(file)


def test_the_readme_describes_every_field_mydata_exports() -> None:
    """/mydata exports every column of every chat-linked table; the README must say what each
    one means, as `table.column` in its /mydata section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What /mydata contains", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", section))
    missing = [
        f"{link.table.name}.{column}"
        for link in CHAT_LINKED_TABLES
        for column in link.table.c.keys()  # noqa: SIM118 - the column names
        if f"{link.table.name}.{column}" not in documented
    ]
    assert missing == [], f"document these in README.md's /mydata section: {missing}"


def test_the_bot_starts_without_importing_matplotlib() -> None:
    """matplotlib costs about 0.4 s to import: only the first chart pays for it."""
    code = (
        "import sys\n"
        "from bot.app import build_application\n"
        "import bot.handlers.history, bot.chart\n"
        "print('matplotlib' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_paused_patients_chart_says_so_and_shows_the_paused_evenings() -> None:
    reg = regimen()
    paused = [
        Night(START + timedelta(days=n), Decimal("1.5"), "not_sent", "none", "paused")
        for n in range(3, 6)
    ]
    late = Night(START + timedelta(days=6), Decimal("1.5"), "not_sent", "none", "late")
    today = START + timedelta(days=6)
    data = chart_data(reg, [*paused, late], [], today, state="paused")
    assert data.title == "Your plan: Standard (reminders paused)"
    assert data.paused == tuple(n.evening for n in paused)  # an outage is not a pause
    assert not data.taken and not data.missed
    assert decoded_size(render_png(data)) == (1200, 840)
    assert chart_data(reg, [], [], today).title == "Your plan: Standard"

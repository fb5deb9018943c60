"""Skills: language, numbers, durations and clock times in RU/EN, and every reflex intent's
answer — with a fixed clock, a real SQLite timer book and a recording memory."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from tars_edge.skills import ActionBook, ActionConfigError, SkillBook, TimerBook, alert_text
from tars_edge.skills import system as system_skill
from tars_edge.skills.language import detect_language
from tars_edge.skills.when import find_clock, parse_duration
from tars_edge.skills.words import parse_number, tokenize

# Monday 3 March 2025, 13:00 local time
NOW = datetime(2025, 3, 3, 13, 0).astimezone()


class RecordingMemory:
    def __init__(self):
        self.facts: list[tuple[str, list]] = []

    def remember(self, text, tags=None, source="user"):
        self.facts.append((text, list(tags or [])))
        return len(self.facts)


@pytest.fixture
def book(tmp_path):
    memory = RecordingMemory()
    timers = TimerBook(tmp_path)
    skills = SkillBook(timers=timers, memory=memory, state_dir=tmp_path)
    skills.recorded = memory
    yield skills
    timers.close()


def ask(book, text, intent="quick_action", now=NOW):
    return book.answer(intent, text, now=now)


# ---- language and numbers ------------------------------------------------------------------
@pytest.mark.parametrize("text, lang", [
    ("который час", "ru"), ("what time is it", "en"), ("TARS, который час?", "ru"),
    ("ТАРС, what's the time", "en"), ("7:30", "en"), ("поставь timer на 5 минут", "ru"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_detect_language_default_for_no_letters():
    assert detect_language("12:00", default="ru") == "ru"


@pytest.mark.parametrize("text, value", [
    ("five", 5), ("twenty five", 25), ("twenty-five", 25), ("one hundred and twenty", 120),
    ("пять", 5), ("двадцать пять", 25), ("пятнадцати", 15), ("сорок", 40), ("сто двадцать", 120),
    ("одну", 1), ("две", 2), ("1,5", 1.5), ("90", 90),
])
def test_parse_number(text, value):
    number = parse_number(tokenize(text), 0)
    assert number is not None and number[0] == value


# ---- durations and clock times ---------------------------------------------------------------
@pytest.mark.parametrize("text, seconds", [
    ("на 5 минут", 300), ("for ten minutes", 600), ("через полчаса", 1800),
    ("timer for 1 hour 15 minutes", 4500), ("an hour and a half", 5400),
    ("полтора часа", 5400), ("два с половиной часа", 9000), ("90s", 90), ("3-minute timer", 180),
    ("half an hour", 1800), ("quarter of an hour", 900), ("четверть часа", 900),
    ("на час", 3600), ("сорок пять секунд", 45), ("один час и двадцать минут", 4800),
    ("twelve minute timer", 720), ("засеки полминуты", 30), ("set timer 2 min", 120),
])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["в 7 часов", "at 7:30", "what time is it", "пять"])
def test_no_duration_in_clock_times_or_plain_numbers(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize("text, alarm, expected", [
    ("at 7:30", False, "03 19:30"),  # the sooner of 7:30 and 19:30 after 13:00
    ("at 7:30", True, "04 07:30"),  # an alarm means the hour as said
    ("at 7 pm", False, "03 19:00"), ("в 7 утра", False, "04 07:00"),
    ("в 11 ночи", False, "03 23:00"), ("в 2 ночи", False, "04 02:00"),
    ("в 2 часа дня", False, "03 14:00"), ("18:00", False, "03 18:00"),
    ("tomorrow at 9", False, "04 09:00"), ("завтра в 9", False, "04 09:00"),
    ("half past six", False, "03 18:30"), ("quarter to eight", False, "03 19:45"),
    ("без пятнадцати шесть", True, "04 05:45"), ("полвосьмого", False, "03 19:30"),
    ("at seven thirty", False, "03 19:30"), ("в семь тридцать", False, "03 19:30"),
    ("noon", False, "04 12:00"), ("tonight", False, "03 20:00"), ("вечером", False, "03 19:00"),
    ("the day after tomorrow at 10", False, "05 10:00"),
])
def test_clock_times(text, alarm, expected):
    clock = find_clock(tokenize(text), frozenset({"на", "for"}) if alarm else frozenset())
    assert clock is not None
    assert clock.resolve(NOW, prefer_as_said=alarm).strftime("%d %H:%M") == expected


# ---- greeting, farewell, time, status -------------------------------------------------------
def test_greeting_and_farewell_follow_language_and_time_of_day(book):
    assert ask(book, "привет", "greeting").text == "Добрый день! Чем помочь?"
    morning = NOW.replace(hour=8)
    assert ask(book, "hello there", "greeting", morning).text.startswith("Good morning")
    assert "All systems nominal" in ask(book, "hi, how are you?", "greeting").text
    assert ask(book, "good night TARS", "farewell").text == "Good night!"
    assert ask(book, "пока", "farewell").text.startswith("Пока")


@pytest.mark.parametrize("text, expected", [
    ("который час", "Сейчас 13:00."),
    ("what time is it", "It's 13:00."),
    ("какое сегодня число", "Сегодня понедельник, 3 марта 2025 года."),
    ("what's the date today", "Today is Monday, 3 March 2025."),
    ("what day is it today", "Today is Monday, 3 March 2025."),
    ("какой сегодня день недели", "Сегодня понедельник, 3 марта 2025 года."),
    ("what month is it", "It's March 2025."),
    ("какой сейчас месяц", "Сейчас март 2025 года."),
    ("which week of the year is it", "It's week 10 of 2025."),
    ("is it late", "It's 13:00, afternoon."),
    ("what's the date and time", "It's 13:00 on Monday, 3 March 2025."),
])
def test_time_skill(book, text, expected):
    assert ask(book, text, "time").text == expected


def test_time_skill_12h_clock(tmp_path):
    from tars_edge.skills import SkillSettings
    skills = SkillBook(SkillSettings(clock="12h"), state_dir=tmp_path)
    assert skills.answer("time", "what time is it", now=NOW).text == "It's 1:00 pm."


def test_status_topics_in_both_languages(book):
    reply = ask(book, "how much memory is free", "status")
    assert reply.skill == "status.memory" and "GB" in reply.text and reply.data["mem_total_bytes"] > 0
    reply = ask(book, "сколько места на диске", "status")
    assert reply.skill == "status.disk" and "ГБ" in reply.text
    reply = ask(book, "какая загрузка процессора", "status")
    assert reply.skill == "status.cpu" and reply.text.startswith("Загрузка процессора")
    reply = ask(book, "how long have you been running", "status")
    assert reply.skill == "status.uptime" and "up for" in reply.text
    reply = ask(book, "system status", "status")
    assert reply.skill == "status" and "CPU load" in reply.text and "Disk" in reply.text


def test_status_says_when_a_sensor_is_missing(book, monkeypatch):
    monkeypatch.setattr(system_skill.psutil, "sensors_battery", lambda: None, raising=False)
    monkeypatch.setattr(system_skill.psutil, "sensors_temperatures", dict, raising=False)
    assert ask(book, "how much battery is left", "status").text == \
        "There is no battery: I'm running on mains power."
    assert ask(book, "какая температура процессора", "status").text == \
        "Система не даёт доступа к датчику температуры."
    battery = SimpleNamespace(percent=76.0, power_plugged=False, secsleft=7800)
    monkeypatch.setattr(system_skill.psutil, "sensors_battery", lambda: battery, raising=False)
    assert ask(book, "battery?", "status").text == \
        "Battery at 76%, on battery, about 2 hours 10 minutes left."


# ---- timers, alarms, reminders --------------------------------------------------------------
@pytest.mark.parametrize("text, kind, reply", [
    ("set a timer for 5 minutes", "timer", "Timer set for 5 minutes."),
    ("поставь таймер на пять минут", "timer", "Таймер на 5 минут запущен."),
    ("засеки полчаса", "timer", "Таймер на 30 минут запущен."),
    ("timer for ten minutes", "timer", "Timer set for 10 minutes."),
    ("wake me up at 6:30", "alarm", "OK, I'll wake you tomorrow at 06:30."),
    ("разбуди через 40 минут", "alarm", "Хорошо, разбужу через 40 минут."),
    ("remind me at 7 to call Mom", "reminder", "OK, I'll remind you at 19:00: call Mom."),
    ("напомни через полчаса выключить духовку", "reminder",
     "Хорошо, напомню через 30 минут: выключить духовку."),
    ("remind me tomorrow at 9 to pay rent", "reminder",
     "OK, I'll remind you tomorrow at 09:00: pay rent."),
    ("поставь напоминание на 18:00: спортзал", "reminder", "Хорошо, напомню в 18:00: спортзал."),
    ("can you remind me to call the bank at 7:30", "reminder",
     "OK, I'll remind you at 19:30: call the bank."),
])
def test_setting_timers(book, text, kind, reply):
    answer = ask(book, text)
    assert answer.text == reply
    assert answer.skill == f"{kind}.set"
    (timer,) = book.timers.pending()
    assert timer.kind == kind and timer.due > NOW.timestamp()
    assert answer.events == [("timer", {"type": "timer.set", "timer": timer.as_dict})]


def test_timer_due_time_and_persistence(tmp_path):
    timers = TimerBook(tmp_path)
    SkillBook(timers=timers, state_dir=tmp_path).answer("quick_action", "timer for 90 seconds",
                                                         now=NOW)
    timers.close()
    reopened = TimerBook(tmp_path)  # a daemon restart
    (timer,) = reopened.pending()
    assert timer.due == pytest.approx(NOW.timestamp() + 90)
    assert timer.duration_s == 90 and timer.lang == "en"
    assert reopened.next_due() == timer.due
    assert reopened.due(NOW.timestamp() + 89) == []
    assert [t.id for t in reopened.due(NOW.timestamp() + 90)] == [timer.id]
    reopened.close()


def test_cancel_dismiss_and_snooze(book):
    timers = book.timers
    ask(book, "set a timer for 5 minutes")
    ask(book, "отмени таймер")
    assert timers.pending() == []
    assert ask(book, "cancel the timer").text == "There are no timers to cancel."
    # a bare "stop" never cancels a timer that is not ringing
    ask(book, "set a timer for 5 minutes")
    assert ask(book, "stop").text == "Nothing is ringing."
    assert len(timers.pending()) == 1
    # ... but a bare "cancel that" right after setting one does
    assert ask(book, "cancel that").text == "Timer cancelled."
    # a fired alarm rings: "stop" dismisses it, "snooze" re-arms it
    alarm = timers.add("alarm", NOW.timestamp() - 5, lang="en", now=NOW.timestamp() - 60)
    timers.mark_fired(alarm.id, NOW.timestamp() - 1)
    assert ask(book, "stop").text == "Stopped."
    assert timers.get(alarm.id).state == "dismissed"
    alarm2 = timers.add("alarm", NOW.timestamp() - 5, label="", lang="ru")
    timers.mark_fired(alarm2.id, NOW.timestamp() - 1)
    reply = ask(book, "отложи будильник на 5 минут")
    assert reply.text == "Отложил на 5 минут."
    assert timers.get(alarm2.id).state == "dismissed"
    (again,) = timers.pending()
    assert again.kind == "alarm" and again.due == pytest.approx(NOW.timestamp() + 300)
    ask(book, "set a timer for 1 minute")
    assert ask(book, "cancel all timers").skill == "timer.cancel"
    assert timers.pending("timer") == []


def test_alert_texts(book):
    ask(book, "поставь таймер на 5 минут")
    ask(book, "remind me in 10 minutes to check the oven")
    ask(book, "wake me in an hour")
    by_kind = {t.kind: t for t in book.timers.pending()}
    at = NOW + timedelta(minutes=5)
    assert alert_text(by_kind["timer"], at) == "Время вышло! Таймер на 5 минут закончился."
    assert alert_text(by_kind["reminder"], at) == "Reminder: check the oven."
    assert alert_text(by_kind["alarm"], at) == "Wake up! It's 13:05."


def test_timer_too_far_ahead_is_refused(book):
    reply = ask(book, "set a timer for 200 hours")
    assert reply.skill == "timer.too_long" and book.timers.pending() == []


@pytest.mark.parametrize("text", [
    "засекай время", "start the stopwatch", "set a timer", "remind me to call mom",
    "включи джаз", "next", "lights pls", "поставь что-нибудь спокойное",
])
def test_unparseable_quick_actions_fall_through(book, text):
    assert ask(book, text) is None
    assert book.timers.pending() == []


def test_complex_and_unknown_intents_have_no_skill(book):
    assert ask(book, "explain photosynthesis", "complex") is None
    assert ask(book, "whatever", "nonsense") is None


# ---- remember ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, fact, tags", [
    ("remember that the spare key is under the mat", "the spare key is under the mat", []),
    ("TARS, remember that Anna's birthday is May 12", "Anna's birthday is May 12", []),
    ("запомни, что ключ под ковриком", "ключ под ковриком", []),
    ("запомни: код от шкафчика 4512", "код от шкафчика 4512", []),
    ("add milk to the shopping list", "milk", ["shopping"]),
    ("запиши в список покупок хлеб", "хлеб", ["shopping"]),
])
def test_remember_stores_through_memory(book, text, fact, tags):
    reply = ask(book, text)
    assert reply.data["stored"] is True
    assert book.recorded.facts == [(fact, tags)]


def test_remember_without_memory_says_why(tmp_path):
    skills = SkillBook(memory=None, memory_off_reason="the embedder is not in this bundle",
                       state_dir=tmp_path)
    reply = skills.answer("quick_action", "remember that the key is under the mat", now=NOW)
    assert reply.data == {"stored": False}
    assert reply.text == "I can't remember things right now: the embedder is not in this bundle."


# ---- device actions ------------------------------------------------------------------------------
def test_unconfigured_action_says_how_to_set_it_up(book):
    reply = ask(book, "turn on the lights")
    assert reply.skill == "action.lights_on" and reply.data["configured"] is False
    assert "[actions.lights_on]" in reply.text


def test_configured_command_gets_only_the_parsed_percentage(tmp_path):
    out = tmp_path / "argv.txt"
    script = ("import sys, os; open(sys.argv[1], 'w').write(repr(sys.argv[2:]) + "
              "os.environ['TARS_PERCENT'])")
    actions = ActionBook.from_config({
        "volume_set": {"command": [sys.executable, "-c", script, str(out), "{percent}"],
                       "reply": "Volume is now {percent}%."},
    })
    skills = SkillBook(actions=actions, state_dir=tmp_path)
    reply = skills.answer("quick_action", "set volume to 30; rm -rf / $(reboot)", now=NOW)
    assert reply.text == "Volume is now 30%." and reply.data["ok"] is True
    assert out.read_text() == "['30']30"


def test_event_action_and_a_user_defined_action(tmp_path):
    actions = ActionBook.from_config({
        "lights_off": {"event": "lights.off"},
        "garage_open": {"phrases": ["open the garage", "открой гараж"], "event": "garage.open",
                        "reply": "Opening the garage.", "reply_ru": "Открываю гараж."},
    })
    skills = SkillBook(actions=actions, state_dir=tmp_path)
    reply = skills.answer("quick_action", "выключи свет в спальне", now=NOW)
    assert reply.text == "Выключаю свет."
    assert reply.events == [("action", {"action": "lights_off", "event": "lights.off",
                                        "percent": None})]
    assert skills.answer("quick_action", "ТАРС, открой гараж", now=NOW).text == "Открываю гараж."


def test_failing_command_is_reported_in_one_line(tmp_path):
    actions = ActionBook.from_config({
        "mute": {"command": [sys.executable, "-c", "import sys; sys.exit('no mixer found')"]},
        "unmute": {"command": ["/nonexistent/amixer", "set", "Master", "unmute"]},
    })
    skills = SkillBook(actions=actions, state_dir=tmp_path)
    reply = skills.answer("quick_action", "mute", now=NOW)
    assert reply.data["ok"] is False and "no mixer found" in reply.text and "\n" not in reply.text
    reply = skills.answer("quick_action", "unmute", now=NOW)
    assert "command not found: /nonexistent/amixer" in reply.text


@pytest.mark.parametrize("table, key", [
    ({"garage": {"event": "x"}}, "actions.garage.phrases"),
    ({"mute": {"command": 5}}, "actions.mute.command"),
    ({"mute": {"command": []}}, "actions.mute.command"),
    ({"mute": {"event": ""}}, "actions.mute.event"),
    ({"mute": {"event": "x", "timeout_s": 0}}, "actions.mute.timeout_s"),
    ({"mute": "amixer"}, "actions.mute"),
])
def test_bad_action_config_names_the_key(table, key):
    with pytest.raises(ActionConfigError, match=key.replace(".", r"\.")):
        ActionBook.from_config(table)


@pytest.mark.parametrize("text, action", [
    ("play the next song", "music_next"), ("сними с паузы", "music_resume"),
    ("unmute please", "unmute"), ("mute", "mute"), ("включи звук обратно", "unmute"),
    ("switch the hallway light on", "lights_on"), ("свет на кухне выключи", "lights_off"),
    ("яркость на 50 процентов", "lights_set"), ("громкость на тридцать", "volume_set"),
])
def test_action_matching(text, action):
    found = ActionBook.from_config(None).match(tokenize(text))
    assert found is not None and found[0].name == action


# ---- against the reflex's own dataset ---------------------------------------------------------------
DATA = Path(__file__).resolve().parent.parent / "export" / "data"


def dataset_rows():
    for path in sorted(DATA.glob("intents_*.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) == 3 and fields[0] != "complex":
                yield fields[0], fields[2]


def test_every_utterance_of_the_simple_intents_gets_an_answer(book):
    """Each greeting/farewell/time/status utterance the reflex was trained on is answered by
    its skill; quick actions mostly are (the rest — stopwatch, "play some jazz" — go on)."""
    if not list(DATA.glob("intents_*.tsv")):
        pytest.skip("export/data/intents_*.tsv (the reflex's dataset) is not in this checkout")
    answered: dict[str, list[bool]] = {}
    for intent, text in dataset_rows():
        answered.setdefault(intent, []).append(ask(book, text, intent) is not None)
    for intent in ("greeting", "farewell", "time", "status"):
        assert all(answered[intent]), intent
    share = sum(answered["quick_action"]) / len(answered["quick_action"])
    assert share >= 0.9, share


@pytest.mark.parametrize("text, intent", [
    ("where is the spare key?", "status"), ("где ключ от гаража", "status"),
    ("who wrote war and peace", "time"), ("tell me a story", "status"),
])
def test_a_confidently_wrong_intent_is_passed_on(book, text, intent):
    assert ask(book, text, intent) is None

"""Deadline durations, reminders and firing plans, without broker or database."""

from datetime import UTC, date, datetime, timedelta

import pytest

from phoihop.calendar import default_calendar, load_calendar
from phoihop.deadlines import (
    OVERDUE,
    PENDING,
    DeadlinePolicy,
    next_fire_at,
    parse_duration,
    plan_firing,
    plan_reminders,
)
from phoihop.errors import ConfigError, ValidationError

# Friday 13 February 2026, 10:00 in Hai Phong: the day before the Tết break.
BEFORE_TET = datetime(2026, 2, 13, 3, 0, tzinfo=UTC)


def make_doc(due_in_minutes=120, reminders=(60, 30), start=None):
    start = start or datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    due_at = start + timedelta(minutes=due_in_minutes)
    doc = {
        "_id": "d1",
        "state": PENDING,
        "due_at": due_at,
        "reminders": plan_reminders(due_at, reminders, start),
    }
    doc["next_fire_at"] = next_fire_at(doc)
    return doc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", (90.0, "minutes")),
        ("2h", (2.0, "hours")),
        ("1.5d", (1.5, "days")),
        ("3wd", (3.0, "working_days")),
        ("5s", (5.0, "seconds")),
    ],
    ids=["minutes", "hours", "days", "working-days", "seconds"],
)
def test_durations_are_read_with_their_unit(text, expected):
    assert parse_duration(text) == expected


def test_duration_without_unit_is_refused_naming_the_kind():
    with pytest.raises(ConfigError) as refused:
        DeadlinePolicy({"kinds": {"verification": {"duration": "3"}}})

    assert "deadlines.kinds.verification.value.duration" in refused.value.fields


def test_severity_overrides_the_kind_duration():
    policy = DeadlinePolicy(
        {
            "kinds": {
                "verification": {"duration": "24h", "by_severity": {"critical": "4h"}}
            }
        }
    )
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    assert policy.due_at("verification", "critical", start) == start + timedelta(
        hours=4
    )
    assert policy.due_at("verification", "low", start) == start + timedelta(hours=24)
    assert policy.due_at("verification", None, start) == start + timedelta(hours=24)


def test_configuration_overrides_the_service_defaults():
    policy = DeadlinePolicy(
        {"kinds": {"initial_info": {"duration": "90m"}}},
        defaults={"initial_info": {"duration": "2h", "article": "7.6.d"}},
    )

    assert policy.duration("initial_info") == (90.0, "minutes")


def test_unknown_kind_is_a_validation_error_listing_known_kinds():
    policy = DeadlinePolicy({}, defaults={"reply": {"duration": "1h"}})

    with pytest.raises(ValidationError) as refused:
        policy.due_at("nothing")

    assert "reply" in refused.value.fields["kind"]


def test_working_day_deadline_skips_the_tet_break():
    policy = DeadlinePolicy({"kinds": {"handling": {"duration": "1wd"}}})

    due = policy.due_at("handling", None, BEFORE_TET)

    # Tết 2026 runs from Saturday 14 to Sunday 22 February.
    assert due == datetime(2026, 2, 23, 3, 0, tzinfo=UTC)


def test_calendar_knows_lunar_holidays_and_make_up_saturdays():
    calendar = default_calendar()

    assert not calendar.is_working_day(date(2026, 2, 17))
    assert not calendar.is_working_day(date(2025, 4, 7))  # Hung Kings' day
    assert calendar.is_working_day(date(2025, 4, 26))  # a make-up Saturday
    assert not calendar.is_working_day(date(2025, 5, 2))  # its bridge day


def test_working_days_from_a_saturday_count_from_monday():
    saturday_noon = datetime(2026, 3, 7, 5, 0, tzinfo=UTC)

    due = default_calendar().add_working_days(saturday_noon, 1)

    assert due == datetime(2026, 3, 9, 17, 0, tzinfo=UTC)  # Tuesday 00:00 local


def test_city_days_off_and_worked_days_come_from_the_holidays_file(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text(
        "version: 1\n"
        "days_off: [{date: 2026-03-04, reason: typhoon}]\n"
        "working_days: [{date: 2026-03-07, reason: make-up day}]\n"
        "not_days_off: [{date: 2026-11-24, reason: worked in the city}]\n",
        encoding="utf-8",
    )

    calendar = load_calendar(path)

    assert calendar.holiday_name(date(2026, 3, 4)) == "typhoon"
    assert calendar.is_working_day(date(2026, 3, 7))
    assert calendar.is_working_day(date(2026, 11, 24))


def test_bad_holidays_file_names_the_field(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text("version: 1\ndays_off: [{date: soon}]\n", encoding="utf-8")

    with pytest.raises(ConfigError) as refused:
        load_calendar(path)

    assert "holidays.days_off" in refused.value.fields


def test_reminders_already_past_at_start_are_skipped():
    doc = make_doc(due_in_minutes=45, reminders=(60, 30))

    assert [item["skipped"] for item in doc["reminders"]] == [True, False]
    assert doc["next_fire_at"] == doc["due_at"] - timedelta(minutes=30)


def test_each_reminder_fires_in_turn_then_overdue():
    doc = make_doc()
    first = doc["due_at"] - timedelta(minutes=60)

    changes, name, extra = plan_firing(doc, first)
    assert (name, extra) == ("deadline.due_soon", {"minutes_before": 60.0})
    doc.update(changes)
    assert doc["next_fire_at"] == doc["due_at"] - timedelta(minutes=30)

    changes, name, extra = plan_firing(doc, doc["next_fire_at"])
    assert extra == {"minutes_before": 30.0}
    doc.update(changes)
    assert doc["next_fire_at"] == doc["due_at"]

    changes, name, _ = plan_firing(doc, doc["due_at"])
    assert name == "deadline.overdue"
    assert changes["state"] == OVERDUE
    assert changes["next_fire_at"] is None


def test_missed_reminders_fire_only_the_latest():
    doc = make_doc()
    late = doc["due_at"] - timedelta(minutes=10)

    changes, name, extra = plan_firing(doc, late)

    assert extra == {"minutes_before": 30.0}
    assert [item["skipped"] for item in changes["reminders"]] == [True, False]


def test_restart_after_due_time_goes_straight_to_overdue():
    doc = make_doc()

    changes, name, _ = plan_firing(doc, doc["due_at"] + timedelta(hours=1))

    assert name == "deadline.overdue"
    assert all(item["skipped"] for item in changes["reminders"])

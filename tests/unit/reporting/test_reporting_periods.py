"""Reporting periods in Hai Phong's calendar, and the errors for bad ones."""

from datetime import UTC, date, datetime

import pytest

from phoihop.errors import ValidationError
from services.reporting.periods import current_period_code, parse_period


def test_month_starts_and_ends_at_local_midnight():
    period = parse_period("month", "2026-11")

    assert period.start_utc == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert period.end_utc == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert period.label == "tháng 11 năm 2026"
    assert period.code == "2026-11"


def test_event_late_on_the_last_local_day_is_in_the_month():
    period = parse_period("month", "2026-11")

    assert period.contains(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert not period.contains(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))


def test_december_ends_at_the_new_year():
    period = parse_period("month", "2026-12")

    assert period.last == date(2026, 12, 31)
    assert period.end == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("kind", "value", "first", "last", "label"),
    [
        (
            "quarter",
            "2026-Q4",
            date(2026, 10, 1),
            date(2026, 12, 31),
            "quý IV năm 2026",
        ),
        ("year", "2026", date(2026, 1, 1), date(2026, 12, 31), "năm 2026"),
        ("week", "2026-W45", date(2026, 11, 2), date(2026, 11, 8), None),
    ],
    ids=["quarter", "year", "iso-week"],
)
def test_named_periods_cover_their_days(kind, value, first, last, label):
    period = parse_period(kind, value)

    assert (period.first, period.last) == (first, last)
    if label:
        assert period.label == label


def test_range_includes_both_named_days():
    period = parse_period("range", start="2026-11-01", end="2026-11-15")

    assert period.first == date(2026, 11, 1)
    assert period.last == date(2026, 11, 15)
    assert period.label == "từ ngày 01/11/2026 đến ngày 15/11/2026"


@pytest.mark.parametrize(
    ("kind", "value", "start", "end", "field"),
    [
        ("month", "2026-13", None, None, "period"),
        ("month", None, None, None, "period"),
        ("quarter", "2026-Q5", None, None, "period"),
        ("week", "2026-W60", None, None, "period"),
        ("year", "1890", None, None, "period"),
        ("range", None, "2026-11-15", "2026-11-01", "end"),
        ("range", None, "2026-11-01", None, "end"),
        ("range", None, "01/11/2026", "2026-11-15", "start"),
        ("decade", "2020", None, None, "kind"),
    ],
    ids=[
        "month-13",
        "month-missing",
        "quarter-5",
        "week-60",
        "year-1890",
        "range-backwards",
        "range-open",
        "range-bad-date",
        "unknown-kind",
    ],
)
def test_bad_period_is_refused_naming_the_field(kind, value, start, end, field):
    with pytest.raises(ValidationError) as refused:
        parse_period(kind, value, start, end)

    assert field in refused.value.fields


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("week", "2026-W53"),
        ("month", "2027-01"),
        ("quarter", "2027-Q1"),
        ("year", "2027"),
    ],
    ids=["week", "month", "quarter", "year"],
)
def test_current_period_is_taken_in_local_time(kind, code):
    # 18:00 UTC on 31 December is already Friday 1 January 2027 in Hai
    # Phong: ISO week 53 of 2026.
    now = datetime(2026, 12, 31, 18, 0, tzinfo=UTC)

    assert current_period_code(kind, now) == code
    assert parse_period(kind, code).contains(now)

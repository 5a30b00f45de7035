"""The rules of the 2-hour initial-information clock (Art. 7.6.d): who owes
it, whether it came in time, and how a reporting period adds up."""

from datetime import UTC, date, datetime, timedelta

import pytest

from phoihop.agencies import shipped_registry
from phoihop.errors import ValidationError
from services.press.clock import (
    CANCELLED,
    EXEMPT,
    GIVEN,
    OVERDUE,
    RUNNING,
    compliance_report,
    outcome,
    parse_period,
    responsible_agency,
)

# The districts the regulation names were valid until 2025-06-30.
BEFORE_REFORM = date(2025, 3, 1)
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry():
    return shipped_registry()


def test_sector_department_owes_the_information(registry):
    code = responsible_agency(
        registry,
        ["dic", "police", "local-le-chan", "dept-health"],
        sector="health",
        locality="le-chan",
        on=BEFORE_REFORM,
    )

    assert code == "dept-health"


def test_locality_owes_it_when_no_sector_department_is_assigned(registry):
    code = responsible_agency(
        registry,
        ["dic", "police", "local-le-chan"],
        sector="health",
        locality="le-chan",
        on=BEFORE_REFORM,
    )

    assert code == "local-le-chan"


def test_dic_owes_it_when_neither_is_assigned(registry):
    code = responsible_agency(
        registry, ["dic", "police"], sector=None, locality=None, on=BEFORE_REFORM
    )

    assert code == "dic"


def test_department_not_assigned_to_the_case_does_not_owe_it(registry):
    code = responsible_agency(
        registry, ["dic"], sector="health", locality=None, on=BEFORE_REFORM
    )

    assert code == "dic"


def test_information_within_two_hours_is_on_time_with_minutes():
    result = outcome(T0, T0 + timedelta(hours=2), T0 + timedelta(minutes=95))

    assert result == {"on_time": True, "minutes": 95.0}


def test_information_after_the_limit_is_late():
    result = outcome(T0, T0 + timedelta(hours=2), T0 + timedelta(minutes=121))

    assert result == {"on_time": False, "minutes": 121.0}


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2025-03", "2025-02-28T17:00:00+00:00", "2025-03-31T17:00:00+00:00"),
        ("2025-Q4", "2025-09-30T17:00:00+00:00", "2025-12-31T17:00:00+00:00"),
        ("2025", "2024-12-31T17:00:00+00:00", "2025-12-31T17:00:00+00:00"),
        (
            {"start": "2025-03-01", "end": "2025-03-02"},
            "2025-02-28T17:00:00+00:00",
            "2025-03-01T17:00:00+00:00",
        ),
        (
            {"start": "2025-03-01T00:00:00Z", "end": "2025-03-01T06:00:00+00:00"},
            "2025-03-01T00:00:00+00:00",
            "2025-03-01T06:00:00+00:00",
        ),
    ],
    ids=["month", "quarter", "year", "dates", "instants"],
)
def test_period_is_read_in_hai_phong_time(period, start, end):
    got = parse_period(period)

    assert [moment.isoformat() for moment in got] == [start, end]


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ("2025-13", "period"),
        ("last month", "period"),
        ({"start": "2025-03-01"}, "period.end"),
        ({"start": "2025-03-02", "end": "2025-03-01"}, "period.end"),
        ({"start": "yesterday", "end": "2025-03-01"}, "period.start"),
    ],
    ids=["month-13", "words", "no-end", "end-before-start", "bad-start"],
)
def test_bad_period_is_refused_naming_the_field(period, field):
    with pytest.raises(ValidationError) as refused:
        parse_period(period)

    assert field in refused.value.fields


def clock(agency, status, due_in_minutes, **extra):
    return {
        "agency": agency,
        "status": status,
        "due_at": T0 + timedelta(minutes=due_in_minutes),
        **extra,
    }


def test_compliance_counts_on_time_late_missing_and_pending():
    now = T0 + timedelta(hours=3)
    clocks = [
        clock("dept-health", GIVEN, 120, given_at=T0, on_time=True, minutes=40.0),
        clock("dept-health", GIVEN, 120, given_at=T0, on_time=False, minutes=150.0),
        clock("local-le-chan", OVERDUE, 120),
        clock("local-le-chan", RUNNING, 240),
        clock("dic", CANCELLED, 120),
        clock("dic", EXEMPT, 120),
        clock("dic", RUNNING, 60),
    ]

    report = compliance_report(clocks, T0, T0 + timedelta(days=1), now)

    assert (report["on_time"], report["late"], report["missing"]) == (1, 1, 2)
    assert report["pending"] == 1
    assert (report["cancelled"], report["exempt"]) == (1, 1)
    assert report["on_time_rate"] == 0.25
    assert report["median_minutes"] == 95.0
    assert report["by_agency"]["dept-health"] == {
        "on_time": 1,
        "late": 1,
        "missing": 0,
        "pending": 0,
    }
    assert report["by_agency"]["dic"]["missing"] == 1


def test_empty_period_has_no_rate():
    report = compliance_report([], T0, T0 + timedelta(days=1), T0)

    assert report["on_time_rate"] is None
    assert report["on_time"] == report["missing"] == 0

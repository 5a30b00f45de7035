"""Working days in Hai Phong, for deadlines the rules count in working days.

Public holidays come from the statutory list for Vietnam (the ``holidays``
package: lunar New Year, Hung Kings' day and the Government's yearly
bridge days and make-up Saturdays) and from ``phoihop/data/holidays.yaml``,
where DIC records what the city decides. Days are counted in Hai Phong's
time zone; datetimes go in and come out as aware UTC.

API::

    from phoihop.calendar import default_calendar

    calendar = default_calendar()
    calendar.is_working_day(date(2026, 2, 17))      # False: Tết
    calendar.add_working_days(start, 3)             # aware UTC datetime
    calendar.working_days_between(start, end)       # whole working days
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

import holidays
import yaml
from marshmallow import RAISE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError

from phoihop.errors import ConfigError
from phoihop.i18n import DISPLAY_TZ

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "holidays.yaml"

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

# A loop guard: no run of this many days without a working day exists.
_MAX_SKIP_DAYS = 60


class _DatedReasonSchema(Schema):
    class Meta:
        unknown = RAISE

    date = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


class CalendarFileSchema(Schema):
    class Meta:
        unknown = RAISE

    version = fields.Integer(required=True, validate=validate.Equal(1))
    country = fields.String(load_default="VN", validate=validate.Length(equal=2))
    weekend = fields.List(
        fields.String(validate=validate.OneOf(WEEKDAYS)),
        load_default=lambda: ["saturday", "sunday"],
    )
    days_off = fields.List(fields.Nested(_DatedReasonSchema), load_default=list)
    working_days = fields.List(fields.Nested(_DatedReasonSchema), load_default=list)
    not_days_off = fields.List(fields.Nested(_DatedReasonSchema), load_default=list)


def _as_local(value):
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISPLAY_TZ)


class WorkingCalendar:
    """Which days public bodies work, and arithmetic in working days."""

    def __init__(
        self,
        country="VN",
        weekend=("saturday", "sunday"),
        days_off=None,
        working_days=None,
        not_days_off=None,
    ):
        self.country = country
        self.weekend = frozenset(WEEKDAYS.index(day) for day in weekend)
        self.days_off = dict(days_off or {})
        self.working_days = dict(working_days or {})
        self.not_days_off = dict(not_days_off or {})
        self._statutory = holidays.country_holidays(country)

    def holiday_name(self, day):
        """Why ``day`` is not worked, or None when it is a working day."""
        if day in self.working_days:
            return None
        if day in self.days_off:
            return self.days_off[day]
        if day not in self.not_days_off:
            name = self._statutory.get(day)
            if name:
                return name
        if day.weekday() in self.weekend and day not in self._weekend_workdays(day):
            return "weekend"
        return None

    def _weekend_workdays(self, day):
        # The package fills a year's make-up Saturdays when it first computes
        # that year; asking for the day makes sure it has.
        day in self._statutory  # noqa: B015 - populates the year
        return self._statutory.weekend_workdays

    def is_working_day(self, day):
        return self.holiday_name(day) is None

    def next_working_day(self, day):
        """The first working day after ``day``."""
        for _ in range(_MAX_SKIP_DAYS):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise ConfigError(
            f"no working day within {_MAX_SKIP_DAYS} days after {day}",
            {"calendar": "check days_off in the holidays file"},
        )

    def add_working_days(self, start, count):
        """``start`` moved forward by ``count`` working days.

        The local time of day is kept. A start on a day without work counts
        from the beginning of the next working day, so one working day from
        a Saturday report ends when Monday ends (Tuesday 00:00).
        """
        if count < 0:
            raise ValueError("count must not be negative")
        local = _as_local(start)
        day = local.date()
        clock = local.timetz().replace(tzinfo=None)
        if not self.is_working_day(day):
            day = self.next_working_day(day)
            clock = time(0, 0)
        whole = int(count)
        for _ in range(whole):
            day = self.next_working_day(day)
        result = datetime.combine(day, clock, tzinfo=DISPLAY_TZ)
        fraction = count - whole
        if fraction:
            result += timedelta(days=fraction)

        return result.astimezone(UTC)

    def working_days_between(self, start, end):
        """Whole working days after ``start``'s day up to ``end``'s day."""
        first, last = _as_local(start).date(), _as_local(end).date()
        count = 0
        day = first
        while day < last:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1

        return count


def load_calendar(path=None):
    """Read and validate a holidays file; ConfigError names the field."""
    path = Path(path or DEFAULT_PATH)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        data = CalendarFileSchema().load(raw)
    except FileNotFoundError as exc:
        raise ConfigError(f"holidays file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"holidays file {path} is not valid YAML: {exc}") from exc
    except SchemaError as exc:
        raise ConfigError(
            f"holidays file {path} is invalid",
            {f"holidays.{key}": str(value) for key, value in exc.messages.items()},
        ) from exc

    def by_day(items):
        return {item["date"]: item["reason"] for item in items}

    return WorkingCalendar(
        country=data["country"],
        weekend=data["weekend"],
        days_off=by_day(data["days_off"]),
        working_days=by_day(data["working_days"]),
        not_days_off=by_day(data["not_days_off"]),
    )


@lru_cache(maxsize=4)
def default_calendar(path=None):
    """The calendar of the shipped (or named) holidays file, loaded once."""
    return load_calendar(path)


def local_day(value):
    """The calendar day in Hai Phong of an aware datetime (or a date)."""
    if isinstance(value, datetime):
        return _as_local(value).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"expected a date or datetime, got {type(value).__name__}")

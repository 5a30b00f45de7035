"""Reporting periods: weeks, months, quarters, years and date ranges.

A period is a run of calendar days in Hai Phong (Asia/Ho_Chi_Minh), the way
an officer names it ("tháng 11 năm 2026"). It is turned into UTC instants,
the start included and the end excluded, to select events by the time they
occurred: the event of 23:30 on 30 November, local time, is in November even
though it is 16:30 UTC.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from phoihop.errors import ValidationError
from phoihop.i18n import DISPLAY_TZ

ROMAN_QUARTERS = {1: "I", 2: "II", 3: "III", 4: "IV"}

_MONTH = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})$")
_QUARTER = re.compile(r"^(?P<year>\d{4})-?Q(?P<quarter>[1-4])$", re.IGNORECASE)
_WEEK = re.compile(r"^(?P<year>\d{4})-?W(?P<week>\d{1,2})$", re.IGNORECASE)
_YEAR = re.compile(r"^(?P<year>\d{4})$")

# Reports cover the platform's years; anything else is a typing mistake.
FIRST_YEAR = 2000
LAST_YEAR = 2100


def local_midnight_utc(day):
    """The UTC instant at which ``day`` begins in Hai Phong."""
    return datetime.combine(day, time(0), tzinfo=DISPLAY_TZ).astimezone(UTC)


def _vi_date(day):
    return day.strftime("%d/%m/%Y")


@dataclass(frozen=True)
class Period:
    """Local days ``[first, end)``; ``last`` is the last day included."""

    granularity: str
    code: str
    first: date
    end: date

    @property
    def last(self):
        return self.end - timedelta(days=1)

    @property
    def start_utc(self):
        return local_midnight_utc(self.first)

    @property
    def end_utc(self):
        return local_midnight_utc(self.end)

    @property
    def label(self):
        """How the period is named in a report's title (Vietnamese)."""
        if self.granularity == "month":
            return f"tháng {self.first.month} năm {self.first.year}"
        if self.granularity == "quarter":
            quarter = (self.first.month - 1) // 3 + 1
            return f"quý {ROMAN_QUARTERS[quarter]} năm {self.first.year}"
        if self.granularity == "year":
            return f"năm {self.first.year}"
        if self.granularity == "week":
            year, week, _ = self.first.isocalendar()
            return (
                f"tuần {week} năm {year} (từ ngày {_vi_date(self.first)} "
                f"đến ngày {_vi_date(self.last)})"
            )
        return f"từ ngày {_vi_date(self.first)} đến ngày {_vi_date(self.last)}"

    def to_dict(self):
        return {
            "granularity": self.granularity,
            "code": self.code,
            "start": self.start_utc.isoformat(),
            "end": self.end_utc.isoformat(),
            "label": self.label,
            "first_day": self.first.isoformat(),
            "last_day": self.last.isoformat(),
        }

    def contains(self, instant):
        return self.start_utc <= instant < self.end_utc


def _refuse(field, reason):
    raise ValidationError(f"invalid period: {reason}", {field: reason})


def _year(text, field):
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        _refuse(field, f"year {year} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return year


def _as_date(value, field):
    if isinstance(value, datetime):
        return value.astimezone(DISPLAY_TZ).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        _refuse(field, f"{value!r} is not a date (YYYY-MM-DD)")


def month_period(year, month):
    first = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return Period("month", f"{year:04d}-{month:02d}", first, end)


def parse_period(granularity, value=None, start=None, end=None):
    """The period an officer names: ``("month", "2026-11")``,
    ``("quarter", "2026-Q4")``, ``("week", "2026-W45")``, ``("year",
    "2026")`` or ``("range", start="2026-11-01", end="2026-11-15")`` with
    both days included. Bad input raises ValidationError naming the field.
    """
    value = (str(value).strip() if value is not None else "") or None
    if granularity == "range":
        if start is None or end is None:
            _refuse("start" if start is None else "end", "a range needs both days")
        first, last = _as_date(start, "start"), _as_date(end, "end")
        if last < first:
            _refuse("end", "the last day comes before the first")
        _year(str(first.year), "start")
        _year(str(last.year), "end")
        code = f"{first.isoformat()}_{last.isoformat()}"
        return Period("range", code, first, last + timedelta(days=1))
    if value is None:
        _refuse("period", f"name the {granularity}")

    if granularity == "month":
        match = _MONTH.match(value)
        if not match or not 1 <= int(match["month"]) <= 12:
            _refuse("period", f"{value!r} is not a month (YYYY-MM)")
        return month_period(_year(match["year"], "period"), int(match["month"]))
    if granularity == "quarter":
        match = _QUARTER.match(value)
        if not match:
            _refuse("period", f"{value!r} is not a quarter (YYYY-Qn)")
        year, quarter = _year(match["year"], "period"), int(match["quarter"])
        first = date(year, 3 * quarter - 2, 1)
        end = month_period(year, 3 * quarter).end
        return Period("quarter", f"{year:04d}-Q{quarter}", first, end)
    if granularity == "week":
        match = _WEEK.match(value)
        if not match:
            _refuse("period", f"{value!r} is not an ISO week (YYYY-Www)")
        year, week = _year(match["year"], "period"), int(match["week"])
        try:
            first = date.fromisocalendar(year, week, 1)
        except ValueError:
            _refuse("period", f"{year} has no week {week}")
        return Period(
            "week", f"{year:04d}-W{week:02d}", first, first + timedelta(days=7)
        )
    if granularity == "year":
        match = _YEAR.match(value)
        if not match:
            _refuse("period", f"{value!r} is not a year (YYYY)")
        year = _year(match["year"], "period")
        return Period("year", f"{year:04d}", date(year, 1, 1), date(year + 1, 1, 1))

    _refuse("kind", f"{granularity!r} is not one of week, month, quarter, year, range")


def current_period_code(granularity, now):
    """The code of the week, month, quarter or year ``now`` falls in."""
    day = now.astimezone(DISPLAY_TZ).date()
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    if granularity == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if granularity == "year":
        return f"{day.year:04d}"
    return f"{day.year:04d}-{day.month:02d}"

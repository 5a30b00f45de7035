"""The 2-hour initial-information clock of Art. 7.6.d, as plain rules.

An agency whose sector or locality has an incident gives city media initial
information no later than 2 hours after it arises. The product starts the
clock when the incident case is assigned; these functions say who owes the
information, whether it came in time, and how an agency's record reads over
a reporting period. The durable timer itself is ``phoihop.deadlines``.
"""

import re
from datetime import UTC, date, datetime, timedelta

from phoihop.errors import ValidationError
from phoihop.i18n import DISPLAY_TZ

DEADLINE_KIND = "press.initial_info"
ARTICLE = "7.6.d"

# Status of a case's clock.
RUNNING = "running"
GIVEN = "given"
OVERDUE = "overdue"
CANCELLED = "cancelled"
EXEMPT = "exempt"

# Compliance outcomes.
ON_TIME = "on_time"
LATE = "late"
MISSING = "missing"
PENDING = "pending"


def responsible_agency(
    registry, assigned, sector=None, locality=None, on=None, named=()
):
    """Who owes the initial information, among the agencies assigned.

    Art. 7.6.d lays it on the department of the sector, or else the local
    committee of the locality, where the incident arose. The sector comes
    first: it is the department that answers for the matter; the locality's
    committee owes it when no sector department takes part. ``named`` are
    the answerable agencies routing computed (its registry may be newer);
    they count when this registry finds none. DIC, the lead, owes it when
    none was assigned.
    """
    assigned = list(dict.fromkeys(assigned))
    for scope in ({"sector": sector}, {"locality": locality}):
        if not any(scope.values()):
            continue
        answerable = registry.responsible_for(on=on, **scope)
        for code in assigned:
            if code in answerable:
                return code
    for code in named:
        if code in assigned and code in registry:
            return code

    return registry.lead.code


def outcome(started_at, due_at, given_at):
    """Whether information given at ``given_at`` met the clock, and after
    how many minutes from its start."""
    minutes = (given_at - started_at).total_seconds() / 60

    return {"on_time": given_at <= due_at, "minutes": round(minutes, 1)}


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")


def _local_midnight(day):
    return datetime(day.year, day.month, day.day, tzinfo=DISPLAY_TZ).astimezone(UTC)


def _parse_instant(value, name):
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationError(
                "invalid reporting period",
                {f"period.{name}": "an ISO 8601 date or date-time"},
            ) from exc
        if len(str(value)) == 10:
            return _local_midnight(moment.date())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)

    return moment.astimezone(UTC)


def _add_months(day, months):
    total = day.month - 1 + months
    return date(day.year + total // 12, total % 12 + 1, 1)


def _calendar_period(text):
    """First day and length in months of ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``."""
    if match := _MONTH.match(text):
        year, month, months = int(match[1]), int(match[2]), 1
    elif match := _QUARTER.match(text):
        year, month, months = int(match[1]), (int(match[2]) - 1) * 3 + 1, 3
    elif match := _YEAR.match(text):
        year, month, months = int(match[1]), 1, 12
    else:
        raise ValidationError(
            "invalid reporting period",
            {"period": "{start, end}, or YYYY, YYYY-Qn or YYYY-MM"},
        )
    if not 1 <= month <= 12 or year < 1:
        raise ValidationError("invalid reporting period", {"period": "no such month"})

    return date(year, month, 1), months


def parse_period(period):
    """A reporting period as ``(start, end)`` UTC instants, end excluded.

    Accepts ``{"start": ..., "end": ...}`` (dates are read as midnight in
    Hai Phong), or the text ``2025``, ``2025-Q3`` or ``2025-07`` for a
    calendar year, quarter or month in Hai Phong.
    """
    if isinstance(period, dict):
        missing = [key for key in ("start", "end") if not period.get(key)]
        if missing:
            raise ValidationError(
                "invalid reporting period",
                {f"period.{key}": "required" for key in missing},
            )
        start = _parse_instant(period["start"], "start")
        end = _parse_instant(period["end"], "end")
    else:
        first, months = _calendar_period(str(period or "").strip())
        start = _local_midnight(first)
        end = _local_midnight(_add_months(first, months))
    if end <= start:
        raise ValidationError(
            "invalid reporting period", {"period.end": "must come after start"}
        )

    return start, end


def classify(clock, now):
    """The compliance outcome of one clock record, or None if it does not
    count (cancelled, or exempt because the case is classified)."""
    if clock["status"] in (CANCELLED, EXEMPT):
        return None
    if clock.get("given_at") is not None:
        return ON_TIME if clock.get("on_time") else LATE
    if clock["due_at"] <= now:
        return MISSING

    return PENDING


def _tally():
    return {ON_TIME: 0, LATE: 0, MISSING: 0, PENDING: 0}


def compliance_report(clocks, start, end, now):
    """Counts of on-time, late, missing and pending initial information for
    the clocks that fell due in ``[start, end)``, in all and per agency."""
    total = _tally()
    by_agency = {}
    excluded = {CANCELLED: 0, EXEMPT: 0}
    minutes = []
    for clock in clocks:
        result = classify(clock, now)
        if result is None:
            excluded[clock["status"]] += 1
            continue
        total[result] += 1
        by_agency.setdefault(clock["agency"], _tally())[result] += 1
        if clock.get("minutes") is not None:
            minutes.append(clock["minutes"])
    decided = total[ON_TIME] + total[LATE] + total[MISSING]

    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "article": ARTICLE,
        **total,
        "cancelled": excluded[CANCELLED],
        "exempt": excluded[EXEMPT],
        "on_time_rate": round(total[ON_TIME] / decided, 4) if decided else None,
        "median_minutes": _median(minutes),
        "by_agency": dict(sorted(by_agency.items())),
    }


def _median(values):
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]

    return round((ordered[middle - 1] + ordered[middle]) / 2, 1)


def due_at(started_at, limit_minutes):
    return started_at + timedelta(minutes=limit_minutes)

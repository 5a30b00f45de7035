"""Event types emitted by the reporting service, and the requests its RPC
methods take (the gateway validates with the same schemas).

The reporting service compiles the periodic reports DIC sends to the City
People's Committee (Art. 8.2, 8.3 of 664/QĐ-UBND) and the result reports an
agency sends to it, copied to DIC (Art. 7.6.c). Each generated report is
announced with ``report.generated``, carrying the hash of the document and
the head of the event log it was computed from, so that the report anchors
the hash chain in a document that leaves the system.
"""

from marshmallow import (
    RAISE,
    Schema,
    fields,
    pre_load,
    validate,
    validates_schema,
)
from marshmallow import ValidationError as SchemaError

from phoihop.cases import STATES
from phoihop.constants import CLASSIFICATIONS
from phoihop.events import UtcDateTime, event_type

# Periods a report may cover; ``range`` takes a start and an end date.
GRANULARITIES = ("week", "month", "quarter", "year", "range")

# The City report of Art. 8.2/8.3, and one agency's results (Art. 7.6.c).
CITY_REPORT = "city_periodic"
AGENCY_RESULTS = "agency_results"
REPORT_KINDS = (CITY_REPORT, AGENCY_RESULTS)

FORMATS = ("docx", "xlsx")

_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")
_AGENCY = validate.Regexp(r"^[a-z][a-z0-9_-]{1,63}$", error="an agency code")


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class PeriodSchema(_Strict):
    """A reporting period: local calendar days, the end excluded."""

    granularity = fields.String(required=True, validate=validate.OneOf(GRANULARITIES))
    code = fields.String(required=True, validate=validate.Length(min=4, max=40))
    start = UtcDateTime(required=True)
    end = UtcDateTime(required=True)
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))

    @validates_schema
    def _check_order(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            raise SchemaError("the end must come after the start", "end")


class ReportFileSchema(_Strict):
    format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sha256 = fields.String(required=True, validate=_SHA256)
    size_bytes = fields.Integer(required=True, validate=validate.Range(min=1))


class LogHeadSchema(_Strict):
    """The last event-log entry the report was computed from."""

    seq = fields.Integer(required=True, validate=validate.Range(min=0))
    hash = fields.String(required=True, validate=_SHA256)


@event_type("report.generated", description="a periodic or agency result report")
class ReportGeneratedPayload(_Strict):
    report_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    report_kind = fields.String(required=True, validate=validate.OneOf(REPORT_KINDS))
    period = fields.Nested(PeriodSchema, required=True)
    agency = fields.String(load_default=None, allow_none=True, validate=_AGENCY)
    # The SHA-256 of the Word document, the report of record.
    sha256 = fields.String(required=True, validate=_SHA256)
    format = fields.List(
        fields.String(validate=validate.OneOf(FORMATS)),
        required=True,
        validate=validate.Length(min=1),
    )
    files = fields.List(fields.Nested(ReportFileSchema), required=True)
    log_head = fields.Nested(LogHeadSchema, required=True)
    totals = fields.Dict(
        keys=fields.String(), values=fields.Integer(), load_default=dict
    )


# RPC requests ------------------------------------------------------------


class ReportRequest(_Strict):
    """What ``generate_report`` takes: the period and, for Art. 7.6.c, the
    agency whose results are reported."""

    kind = fields.String(required=True, validate=validate.OneOf(GRANULARITIES))
    period = fields.String(load_default=None, allow_none=True)
    start = fields.Date(load_default=None, allow_none=True)
    end = fields.Date(load_default=None, allow_none=True)
    agency = fields.String(load_default=None, allow_none=True, validate=_AGENCY)

    @validates_schema
    def _check_period(self, data, **kwargs):
        if data.get("kind") == "range":
            missing = [name for name in ("start", "end") if not data.get(name)]
            if missing:
                raise SchemaError(
                    "a date range needs its first and last day", missing[0]
                )
        elif not data.get("period"):
            raise SchemaError(
                "name the period, e.g. 2026-11, 2026-Q4, 2026-W45 or 2026",
                "period",
            )


class PeriodFilterSchema(_Strict):
    start = fields.Date(load_default=None, allow_none=True)
    end = fields.Date(load_default=None, allow_none=True)


class CaseFilterSchema(_Strict):
    """Filters of ``list_cases``: every one optional, all of them combined."""

    state = fields.List(fields.String(validate=validate.OneOf(STATES)))
    agency = fields.String(load_default=None, allow_none=True, validate=_AGENCY)
    category = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )
    period = fields.Nested(PeriodFilterSchema, load_default=None, allow_none=True)
    text = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=200)
    )
    classification = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(CLASSIFICATIONS)
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))

    @pre_load
    def _one_state(self, data, **kwargs):
        # A single state may be given as a string, several as a list.
        if isinstance(data, dict) and isinstance(data.get("state"), str):
            return {**data, "state": [data["state"]]}
        return data

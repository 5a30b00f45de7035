"""Event types emitted by the intake service (docs/events.md).

Reports come in (``report.received``) or are quarantined
(``report.quarantined``); a report opens a case (``case.opened``) or joins an
open one (``case.report_attached``); near-duplicates are proposed to an
officer (``case.merge_proposed``) who may merge them (``case.merged``); an
officer confirms the triage (``case.triaged``), which routing acts on.
"""

from marshmallow import Schema, fields, validate

from phoihop.cases import MERGED, RECEIVED, STATES, TRIAGED
from phoihop.constants import CLASSIFICATIONS
from phoihop.events import UtcDateTime, event_type
from phoihop.reports import CHANNELS, REPORTER_KINDS, SEVERITIES

_id = validate.Length(min=1, max=100)
_channel = validate.OneOf(CHANNELS)
_classification = validate.OneOf(CLASSIFICATIONS)
_previous = fields.String(
    load_default=None, allow_none=True, validate=validate.OneOf(STATES)
)


class ContactPayload(Schema):
    name = fields.String(load_default=None, allow_none=True)
    phone = fields.String(load_default=None, allow_none=True)
    email = fields.String(load_default=None, allow_none=True)


class ReporterPayload(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(REPORTER_KINDS))
    agency = fields.String(load_default=None, allow_none=True)
    officer = fields.String(load_default=None, allow_none=True)
    organisation = fields.String(load_default=None, allow_none=True)
    contact = fields.Nested(ContactPayload, load_default=None, allow_none=True)


class AttachmentPayload(Schema):
    sha256 = fields.String(required=True)
    content_type = fields.String(load_default="application/octet-stream")
    size = fields.Integer(required=True)
    filename = fields.String(load_default=None, allow_none=True)


class ContentItemPayload(Schema):
    url = fields.String(load_default=None, allow_none=True)
    canonical_url = fields.String(load_default=None, allow_none=True)
    platform = fields.String(load_default=None, allow_none=True)
    captured_text = fields.String(load_default="")
    posted_at = UtcDateTime(load_default=None, allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentPayload), load_default=list)


class AboutPayload(Schema):
    sector = fields.String(load_default=None, allow_none=True)
    locality = fields.String(load_default=None, allow_none=True)
    text = fields.String(load_default="")


class SuggestionPayload(Schema):
    """A triage suggestion and the rule that fired; never a decision."""

    category = fields.String(required=True)
    rule = fields.String(required=True)
    matched = fields.String(load_default="")
    legal_basis = fields.List(fields.String(), load_default=list)


@event_type("report.received", description="a report was parsed and stored")
class ReportReceivedPayload(Schema):
    report_id = fields.String(required=True, validate=_id)
    channel = fields.String(required=True, validate=_channel)
    received_at = UtcDateTime(required=True)
    reporter = fields.Nested(ReporterPayload, required=True)
    content_items = fields.List(fields.Nested(ContentItemPayload), required=True)
    attachments = fields.List(fields.Nested(AttachmentPayload), load_default=list)
    about = fields.Nested(AboutPayload, required=True)
    incident = fields.Boolean(required=True)
    classification = fields.String(required=True, validate=_classification)
    idempotency_key = fields.String(load_default=None, allow_none=True)


@event_type(
    "report.quarantined", description="an input could not be parsed or validated"
)
class ReportQuarantinedPayload(Schema):
    quarantine_id = fields.String(required=True, validate=_id)
    channel = fields.String(required=True, validate=_channel)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), load_default=dict)
    size_bytes = fields.Integer(required=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Length(equal=64))


@event_type("case.opened", description="a report became a new case")
class CaseOpenedPayload(Schema):
    case_id = fields.String(required=True, validate=_id)
    report_id = fields.String(required=True, validate=_id)
    channel = fields.String(required=True, validate=_channel)
    title = fields.String(required=True)
    content_items = fields.List(fields.Nested(ContentItemPayload), required=True)
    about = fields.Nested(AboutPayload, required=True)
    suggested_categories = fields.List(fields.String(), required=True)
    suggestions = fields.List(fields.Nested(SuggestionPayload), load_default=list)
    incident = fields.Boolean(required=True)
    classification = fields.String(required=True, validate=_classification)
    severity = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(SEVERITIES)
    )
    state = fields.String(required=True, validate=validate.Equal(RECEIVED))
    previous_state = _previous


@event_type(
    "case.report_attached", description="a duplicate report joined an open case"
)
class CaseReportAttachedPayload(Schema):
    case_id = fields.String(required=True, validate=_id)
    report_id = fields.String(required=True, validate=_id)
    channel = fields.String(required=True, validate=_channel)
    matched_by = fields.String(required=True, validate=validate.OneOf(("url", "text")))
    reporter = fields.Nested(ReporterPayload, load_default=None, allow_none=True)
    reports_count = fields.Integer(load_default=None, allow_none=True)


@event_type("case.merge_proposed", description="near-duplicate text, for an officer")
class CaseMergeProposedPayload(Schema):
    proposal_id = fields.String(required=True, validate=_id)
    case_id = fields.String(required=True, validate=_id)
    candidate_case_id = fields.String(required=True, validate=_id)
    similarity = fields.Float(required=True, validate=validate.Range(min=0, max=1))
    threshold = fields.Float(required=True, validate=validate.Range(min=0, max=1))


@event_type("case.merged", description="an officer confirmed a merge")
class CaseMergedPayload(Schema):
    case_id = fields.String(required=True, validate=_id)
    into_case_id = fields.String(required=True, validate=_id)
    proposal_id = fields.String(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    state = fields.String(required=True, validate=validate.Equal(MERGED))
    previous_state = _previous


@event_type("case.triaged", description="an officer confirmed the triage")
class CaseTriagedPayload(Schema):
    case_id = fields.String(required=True, validate=_id)
    categories = fields.List(
        fields.String(), required=True, validate=validate.Length(min=1)
    )
    legal_basis_suggested = fields.List(fields.String(), required=True)
    sector = fields.String(load_default=None, allow_none=True)
    locality = fields.String(load_default=None, allow_none=True)
    incident = fields.Boolean(required=True)
    journalists_involved = fields.Boolean(required=True)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    classification = fields.String(required=True, validate=_classification)
    posted_at = UtcDateTime(load_default=None, allow_none=True)
    state = fields.String(required=True, validate=validate.Equal(TRIAGED))
    previous_state = _previous

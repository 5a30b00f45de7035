"""The normalised report: what any channel's input becomes (Art. 5.1).

A report says who reported (an agency officer, or a citizen whose contact is
kept minimal), which content items (URL, platform, captured text, attachments
by SHA-256), what it is about (sector, locality, free text), suggested
categories, the incident flag, the classification, and a reference to the
raw input kept for audit. The intake service and the gateway share these
schemas: the gateway validates and documents the API form with
``ReportInputSchema`` and shows stored reports with ``ReportSchema``.
"""

import base64
import binascii

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from phoihop.constants import CLASSIFICATIONS
from phoihop.events import UtcDateTime
from phoihop.normalise import UrlError, canonical_url

# Art. 5.1 names phone, SMS, email, electronic documents (edXML through the
# shared document-management application) and post; the others are the API
# form, batch files, partners' sharing formats and agency adapters.
CHANNELS = (
    "api",
    "email",
    "sms",
    "phone",
    "post",
    "edxml",
    "csv",
    "xlsx",
    "misp",
    "stix",
    "adapter",
)
REPORTER_KINDS = ("agency", "citizen", "partner", "anonymous")
SEVERITIES = ("low", "medium", "high", "critical")

# Ceilings of the schema, which the API description publishes; the intake
# service's configuration may set lower limits (deploy/config/intake.yaml),
# never higher ones, so a published maximum is never refused.
MAX_TEXT_CHARS = 100_000
MAX_CONTENT_ITEMS = 200
MAX_ATTACHMENTS = 50
MAX_SHORT = 500


class StrictBoolean(fields.Boolean):
    """Only true or false: "yes" or 1 for a flag is a mistake worth naming."""

    def __init__(self, **kwargs):
        super().__init__(truthy={True}, falsy={False}, **kwargs)


def _short(**kwargs):
    return fields.String(validate=validate.Length(max=MAX_SHORT), **kwargs)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ContactSchema(_Strict):
    """How to reach a citizen reporter; every part optional and minimal."""

    name = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200)
    )
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            r"^\+?[0-9 .()-]{3,40}$", error="digits, spaces, + . ( ) -"
        ),
    )
    email = fields.Email(load_default=None, allow_none=True)


class ReporterSchema(_Strict):
    """Who reported: an agency and officer, a partner, or a citizen."""

    kind = fields.String(required=True, validate=validate.OneOf(REPORTER_KINDS))
    agency = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=64)
    )
    officer = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=200)
    )
    organisation = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_SHORT)
    )
    contact = fields.Nested(ContactSchema, load_default=None, allow_none=True)

    @validates_schema
    def _agency_needs_code(self, data, **kwargs):
        if data["kind"] == "agency" and not data.get("agency"):
            raise ValidationError("an agency reporter needs its agency code", "agency")


class AttachmentSchema(_Strict):
    """A stored file, referred to by its SHA-256."""

    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 hex digits"),
    )
    content_type = _short(load_default="application/octet-stream")
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    filename = _short(load_default=None, allow_none=True)


class AttachmentInputSchema(_Strict):
    """A file sent with a report, its bytes in base64."""

    filename = _short(load_default=None, allow_none=True)
    content_type = _short(load_default="application/octet-stream")
    data_base64 = fields.String(required=True)

    @validates("data_base64")
    def _is_base64(self, value, **kwargs):
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("not valid base64") from exc


def _check_url(value):
    try:
        canonical_url(value)
    except UrlError as exc:
        raise ValidationError(exc.reason) from exc


class ContentItemSchema(_Strict):
    """One piece of reported content: where it is and what it said."""

    url = fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(max=4000), _check_url],
    )
    canonical_url = fields.String(dump_only=True)
    platform = _short(load_default=None, allow_none=True)
    captured_text = fields.String(
        load_default="", validate=validate.Length(max=MAX_TEXT_CHARS)
    )
    posted_at = UtcDateTime(load_default=None, allow_none=True)
    attachments = fields.List(
        fields.Nested(AttachmentSchema),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
    )

    @validates_schema
    def _something_reported(self, data, **kwargs):
        if not (
            data.get("url")
            or data.get("captured_text", "").strip()
            or data.get("attachments")
        ):
            raise ValidationError(
                "a content item needs a URL, captured text or an attachment", "url"
            )


class AboutSchema(_Strict):
    """What the report is about, as the reporter or officer put it."""

    sector = _short(load_default=None, allow_none=True)
    locality = _short(load_default=None, allow_none=True)
    text = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT_CHARS))


class RawSchema(_Strict):
    """The raw input kept for audit, by reference."""

    sha256 = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    content_type = _short(load_default="application/octet-stream")


class ReportInputSchema(_Strict):
    """The report form of the API (and of every channel after parsing)."""

    channel = fields.String(load_default="api", validate=validate.OneOf(CHANNELS))
    received_at = UtcDateTime(load_default=None, allow_none=True)
    reporter = fields.Nested(ReporterSchema, required=True)
    title = _short(load_default=None, allow_none=True)
    content_items = fields.List(
        fields.Nested(ContentItemSchema),
        load_default=list,
        validate=validate.Length(max=MAX_CONTENT_ITEMS),
    )
    attachments = fields.List(
        fields.Nested(AttachmentInputSchema),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
    )
    about = fields.Nested(AboutSchema, load_default=dict)
    suggested_categories = fields.List(
        fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]*$")),
        load_default=list,
        validate=validate.Length(max=50),
    )
    incident = StrictBoolean(load_default=False)
    classification = fields.String(
        load_default="internal", validate=validate.OneOf(CLASSIFICATIONS)
    )
    idempotency_key = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=300)
    )
    # Channel-specific facts (email Message-ID and subject, SMS short code,
    # edXML document id, ...), kept as they came.
    source = fields.Dict(keys=fields.String(), load_default=dict)

    @validates_schema
    def _something_reported(self, data, **kwargs):
        if not (
            data.get("content_items")
            or data.get("attachments")
            or (data.get("about") or {}).get("text", "").strip()
        ):
            raise ValidationError(
                "a report needs at least one content item, an attachment or a text",
                "content_items",
            )


class ReportSchema(Schema):
    """A stored, normalised report as the intake service returns it."""

    report_id = fields.String()
    case_id = fields.String(allow_none=True)
    channel = fields.String()
    received_at = UtcDateTime()
    reporter = fields.Nested(ReporterSchema)
    title = fields.String(allow_none=True)
    content_items = fields.List(fields.Nested(ContentItemSchema))
    attachments = fields.List(fields.Nested(AttachmentSchema))
    about = fields.Nested(AboutSchema)
    suggested_categories = fields.List(fields.String())
    incident = fields.Boolean()
    classification = fields.String()
    idempotency_key = fields.String(allow_none=True)
    source = fields.Dict()
    raw = fields.Nested(RawSchema, allow_none=True)
    matched_by = fields.String(allow_none=True)


class QuarantineEntrySchema(Schema):
    """An input that could not be parsed or validated, kept with the reason."""

    quarantine_id = fields.String()
    channel = fields.String()
    reason = fields.String()
    fields_ = fields.Dict(data_key="fields")
    size_bytes = fields.Integer()
    sha256 = fields.String()
    received_at = UtcDateTime()
    status = fields.String()
    resubmitted_as = fields.List(fields.String())
    actor = fields.Dict(allow_none=True)


class MergeProposalSchema(Schema):
    """A near-duplicate pair an officer confirms or dismisses."""

    proposal_id = fields.String()
    case_id = fields.String()
    candidate_case_id = fields.String()
    similarity = fields.Float()
    threshold = fields.Float()
    status = fields.String()
    proposed_at = UtcDateTime()
    decided_at = UtcDateTime(allow_none=True)
    decided_by = fields.Dict(allow_none=True)

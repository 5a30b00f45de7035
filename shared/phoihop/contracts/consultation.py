"""Event types emitted by the consultation service, and the requests its RPC
methods take (the gateway validates with the same schemas and builds its
OpenAPI from them).

Consultation covers Art. 5.2 and Art. 6.4-6.5 of 664/QĐ-UBND: written-opinion
rounds and meetings, the appraisal, the handling decision, its measures and
their handling results. Every event that moves a case carries ``state`` and
``previous_state``.
"""

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from phoihop.cases import STATES
from phoihop.events import UtcDateTime, event_type

# Opinion positions in a written round (Art. 5.2.b).
AGREE = "agree"
DISAGREE = "disagree"
ABSTAIN = "abstain"
POSITIONS = (AGREE, DISAGREE, ABSTAIN)

# Consultation modes (Art. 5.2.a meeting, 5.2.b written opinions).
WRITTEN = "written"
MEETING = "meeting"

# Why a written round closed.
CLOSED_ALL_ANSWERED = "all_answered"
CLOSED_DUE = "due"
CLOSED_BY_LEAD = "closed_by_lead"
CLOSE_REASONS = (CLOSED_ALL_ANSWERED, CLOSED_DUE, CLOSED_BY_LEAD)

# What the votes of a closed round add up to.
AGREED = "agreed"
NOT_AGREED = "not_agreed"
SPLIT = "split"
NO_ANSWERS = "no_answers"
ROUND_OUTCOMES = (AGREED, NOT_AGREED, SPLIT, NO_ANSWERS)

# Appraisal outcomes; "does not violate" protects criticism and press work
# (Art. 4.2) and ends the case in ``rejected``.
VIOLATES = "violates"
DOES_NOT_VIOLATE = "does_not_violate"
INSUFFICIENT_EVIDENCE = "insufficient_evidence"
OUTCOMES = (VIOLATES, DOES_NOT_VIOLATE, INSUFFICIENT_EVIDENCE)

# Measures of a handling decision.
REMOVAL_REQUEST = "removal_request"
SANCTION_PROPOSAL = "sanction_proposal"
POLICE_REFERRAL = "police_referral"
OFFICIAL_INFORMATION = "official_information"
REBUTTAL = "rebuttal"
NO_ACTION = "no_action"
MEASURE_KINDS = (
    REMOVAL_REQUEST,
    SANCTION_PROPOSAL,
    POLICE_REFERRAL,
    OFFICIAL_INFORMATION,
    REBUTTAL,
    NO_ACTION,
)

# Where a removal request goes: the platform, or the Ministry (Art. 7.1.g).
PLATFORM = "platform"
MINISTRY = "ministry"
REMOVAL_TARGETS = (PLATFORM, MINISTRY)

# Handling results of a measure (Art. 7.6.c, Art. 8.2).
DONE = "done"
PARTLY_DONE = "partly_done"
NOT_POSSIBLE = "not_possible"
RESULTS = (DONE, PARTLY_DONE, NOT_POSSIBLE)

_AGENCY = validate.Regexp(r"^[a-z][a-z0-9_-]{1,63}$", error="an agency code")
_CODE = validate.Length(min=1, max=64)
_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lowercase hex digits")
_TEXT = 20_000


def _agency(**kwargs):
    return fields.String(validate=_AGENCY, **kwargs)


def _codes(**kwargs):
    return fields.List(fields.String(validate=_CODE), **kwargs)


def _unique(values, name):
    seen = set()
    for value in values:
        if value in seen:
            raise ValidationError(f"{value} is listed twice", name)
        seen.add(value)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ActorRef(_Strict):
    agency = _agency(required=True)
    officer = fields.String(load_default=None, allow_none=True)


class AttachmentSchema(_Strict):
    """A file given with an opinion or as evidence, known by its hash."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    sha256 = fields.String(required=True, validate=_SHA256)
    content_type = fields.String(load_default=None, allow_none=True)
    size_bytes = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0)
    )


class EvidenceSchema(_Strict):
    """What shows a measure was carried out: a link, a file, or a statement."""

    description = fields.String(
        required=True, validate=validate.Length(min=1, max=2000)
    )
    url = fields.Url(load_default=None, allow_none=True)
    attachment = fields.Nested(AttachmentSchema, load_default=None, allow_none=True)


# RPC requests ------------------------------------------------------------


class OpenRoundRequest(_Strict):
    """DIC asks the invited agencies one question in writing (Art. 5.2.b)."""

    question = fields.String(required=True, validate=validate.Length(min=1, max=_TEXT))
    invited = fields.List(_agency(), required=True, validate=validate.Length(min=1))
    # Without it, the round runs as long as the configured written_round
    # deadline (by the case's severity).
    due_at = UtcDateTime(load_default=None, allow_none=True)

    @validates_schema
    def _check_invited(self, data, **kwargs):
        _unique(data.get("invited", []), "invited")


class OpinionRequest(_Strict):
    """One agency's answer in a round; ``agency`` only when DIC records an
    answer received on paper (Art. 5.1.b) for the agency named."""

    position = fields.String(required=True, validate=validate.OneOf(POSITIONS))
    reasoning = fields.String(required=True, validate=validate.Length(min=1, max=_TEXT))
    legal_basis = _codes(load_default=list)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    agency = _agency(load_default=None, allow_none=True)


class OfficerSchema(_Strict):
    agency = _agency(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="", validate=validate.Length(max=200))


class ConveneMeetingRequest(_Strict):
    """DIC calls a meeting to check, verify and appraise (Art. 5.2.a)."""

    agenda = fields.List(
        fields.String(validate=validate.Length(min=1, max=2000)),
        required=True,
        validate=validate.Length(min=1),
    )
    starts_at = UtcDateTime(required=True)
    place = fields.String(load_default=None, allow_none=True)
    link = fields.Url(load_default=None, allow_none=True)
    invited = fields.List(_agency(), required=True, validate=validate.Length(min=1))
    officers = fields.List(fields.Nested(OfficerSchema), load_default=list)

    @validates_schema
    def _check_where(self, data, **kwargs):
        if not data.get("place") and not data.get("link"):
            raise ValidationError(
                "give the place, or the link of an online meeting", "place"
            )
        _unique(data.get("invited", []), "invited")


class AttendanceEntry(_Strict):
    agency = _agency(required=True)
    officer = fields.String(required=True, validate=validate.Length(min=1, max=200))
    present = fields.Boolean(load_default=True)
    role = fields.String(load_default="", validate=validate.Length(max=200))


class AttendanceRequest(_Strict):
    attendance = fields.List(
        fields.Nested(AttendanceEntry), required=True, validate=validate.Length(min=1)
    )


class MinutesRequest(_Strict):
    """The minutes and the conclusions the meeting agreed."""

    minutes = fields.String(required=True, validate=validate.Length(min=1, max=100_000))
    conclusions = fields.List(
        fields.String(validate=validate.Length(min=1, max=_TEXT)),
        required=True,
        validate=validate.Length(min=1),
    )


class AppraisalRequest(_Strict):
    """The outcome of verification on a case."""

    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    legal_basis = _codes(load_default=list)
    # Art. 4.2: why handling would not obstruct press freedom or free speech.
    art_4_2_consideration = fields.String(
        required=True, validate=validate.Length(min=1, max=_TEXT)
    )
    summary = fields.String(load_default="", validate=validate.Length(max=_TEXT))
    reason = fields.String(load_default="", validate=validate.Length(max=_TEXT))
    # The date the content was posted, when triage did not confirm one.
    posted_at = UtcDateTime(load_default=None, allow_none=True)

    @validates_schema
    def _check_outcome(self, data, **kwargs):
        _unique(data.get("legal_basis", []), "legal_basis")
        if data.get("outcome") == VIOLATES and not data.get("legal_basis"):
            raise ValidationError(
                "a violation must cite at least one provision of Art. 3 "
                "(Press Law Art. 9, Cybersecurity Law Art. 8.1, Decree 72 Art. 5)",
                "legal_basis",
            )
        if data.get("outcome") == DOES_NOT_VIOLATE and not data.get("reason"):
            raise ValidationError(
                "say why the content is not harmful information", "reason"
            )


class MeasureRequest(_Strict):
    kind = fields.String(required=True, validate=validate.OneOf(MEASURE_KINDS))
    agency = _agency(required=True)
    # Without it, the configured measure deadline (by severity) applies.
    due_at = UtcDateTime(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=_TEXT))
    target = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REMOVAL_TARGETS)
    )
    platform = fields.String(load_default=None, allow_none=True)
    sanction_code = fields.String(load_default=None, allow_none=True, validate=_CODE)

    @validates_schema
    def _check_kind(self, data, **kwargs):
        kind = data.get("kind")
        if kind == REMOVAL_REQUEST and not data.get("target"):
            raise ValidationError(
                "a removal request goes to the platform or to the Ministry "
                "(Art. 7.1.g)",
                "target",
            )
        if kind != REMOVAL_REQUEST and data.get("target"):
            raise ValidationError("only a removal request has a target", "target")
        if kind == SANCTION_PROPOSAL and not data.get("sanction_code"):
            raise ValidationError(
                "a sanction proposal cites the sanction provision "
                "(Decree 15/2020 Art. 101)",
                "sanction_code",
            )
        if kind != SANCTION_PROPOSAL and data.get("sanction_code"):
            raise ValidationError(
                "only a sanction proposal cites a sanction provision", "sanction_code"
            )


class DecisionRequest(_Strict):
    """The handling plan; ``legal_basis`` defaults to the confirmed codes."""

    measures = fields.List(
        fields.Nested(MeasureRequest), required=True, validate=validate.Length(min=1)
    )
    legal_basis = _codes(load_default=None, allow_none=True)
    summary = fields.String(load_default="", validate=validate.Length(max=_TEXT))


class ResultRequest(_Strict):
    """A handling result of one measure (Art. 7.6.c, Art. 8.2); difficulties
    are what the reporting service compiles for Art. 8.3."""

    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    evidence = fields.List(fields.Nested(EvidenceSchema), load_default=list)
    note = fields.String(load_default="", validate=validate.Length(max=_TEXT))
    difficulties = fields.String(load_default="", validate=validate.Length(max=_TEXT))
    # Set only when DIC records a result received on paper for the agency.
    agency = _agency(load_default=None, allow_none=True)

    @validates_schema
    def _check_evidence(self, data, **kwargs):
        if data.get("result") in (DONE, PARTLY_DONE) and not data.get("evidence"):
            raise ValidationError(
                "a measure carried out (even in part) needs its evidence", "evidence"
            )
        if data.get("result") in (PARTLY_DONE, NOT_POSSIBLE) and not data.get("note"):
            raise ValidationError("say what could not be done and why", "note")


class ReasonRequest(_Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=_TEXT))


class CloseRequest(_Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=_TEXT))


# Events ------------------------------------------------------------------


class _Moving(Schema):
    """Fields of every event that moves (or may move) a case."""

    state = fields.String(required=True, validate=validate.OneOf(STATES))
    previous_state = fields.String(required=True, validate=validate.OneOf(STATES))


class TallySchema(Schema):
    agree = fields.Integer(required=True, validate=validate.Range(min=0))
    disagree = fields.Integer(required=True, validate=validate.Range(min=0))
    abstain = fields.Integer(required=True, validate=validate.Range(min=0))
    missing = fields.Integer(required=True, validate=validate.Range(min=0))


class DissentSchema(Schema):
    agency = _agency(required=True)
    position = fields.String(required=True, validate=validate.OneOf(POSITIONS))
    reasoning = fields.String(required=True)
    legal_basis = _codes(load_default=list)


@event_type("consultation.opened", description="DIC opened a written-opinion round")
class ConsultationOpened(_Moving):
    consultation_id = fields.String(required=True)
    mode = fields.String(required=True, validate=validate.OneOf((WRITTEN,)))
    question = fields.String(required=True)
    invited = fields.List(_agency(), required=True)
    due_at = UtcDateTime(required=True)
    cycle = fields.Integer(load_default=1, validate=validate.Range(min=1))


@event_type(
    "consultation.opinion_requested",
    description="one invited agency is asked for its written opinion",
)
class OpinionRequested(Schema):
    consultation_id = fields.String(required=True)
    agency = _agency(required=True)
    question = fields.String(required=True)
    due_at = UtcDateTime(required=True)


@event_type(
    "consultation.opinion_submitted",
    description="an invited agency answered a round, or revised its answer",
)
class OpinionSubmitted(Schema):
    consultation_id = fields.String(required=True)
    agency = _agency(required=True)
    position = fields.String(required=True, validate=validate.OneOf(POSITIONS))
    reasoning = fields.String(required=True)
    legal_basis = _codes(required=True)
    attachments = fields.List(fields.Nested(AttachmentSchema), load_default=list)
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    late = fields.Boolean(load_default=False)
    recorded_by = fields.Nested(ActorRef, load_default=None, allow_none=True)


@event_type(
    "consultation.closed", description="a written round is over, with its tally"
)
class ConsultationClosed(Schema):
    consultation_id = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(CLOSE_REASONS))
    tally = fields.Nested(TallySchema, required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(ROUND_OUTCOMES))
    dissent = fields.List(fields.Nested(DissentSchema), required=True)
    missing = fields.List(_agency(), required=True)
    legal_basis_proposed = fields.Dict(
        keys=fields.String(), values=fields.Integer(), load_default=dict
    )


@event_type("meeting.convened", description="DIC convened a meeting (Art. 5.2.a)")
class MeetingConvened(_Moving):
    meeting_id = fields.String(required=True)
    agenda = fields.List(fields.String(), required=True)
    starts_at = UtcDateTime(required=True)
    place = fields.String(load_default=None, allow_none=True)
    link = fields.String(load_default=None, allow_none=True)
    invited = fields.List(_agency(), required=True)
    officers = fields.List(fields.Nested(OfficerSchema), load_default=list)
    cycle = fields.Integer(load_default=1, validate=validate.Range(min=1))


class _AttendanceOut(Schema):
    agency = _agency(required=True)
    officer = fields.String(required=True)
    present = fields.Boolean(required=True)
    role = fields.String(load_default="")


@event_type(
    "meeting.minutes_approved",
    description="the minutes of a meeting were approved and now count",
)
class MinutesApproved(Schema):
    meeting_id = fields.String(required=True)
    attendance = fields.List(fields.Nested(_AttendanceOut), required=True)
    conclusions = fields.List(fields.String(), required=True)
    approved_by = fields.Nested(ActorRef, required=True)


class _Basis(Schema):
    consultations = fields.List(fields.String(), load_default=list)
    meetings = fields.List(fields.String(), load_default=list)


@event_type("case.appraised", description="the outcome of verification on a case")
class CaseAppraised(_Moving):
    appraisal_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    legal_basis = _codes(required=True)
    art_4_2_consideration = fields.String(required=True)
    appraised_by = fields.Nested(ActorRef, required=True)
    posted_at = UtcDateTime(load_default=None, allow_none=True)
    summary = fields.String(load_default="")
    basis = fields.Nested(_Basis, load_default=dict)


@event_type("case.rejected", description="not harmful information (Art. 3, Art. 4.2)")
class CaseRejected(_Moving):
    reason = fields.String(required=True)
    appraisal_id = fields.String(load_default=None, allow_none=True)


class _MeasureOut(Schema):
    measure_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEASURE_KINDS))
    agency = _agency(required=True)
    due_at = UtcDateTime(required=True)
    sanction_code = fields.String(load_default=None, allow_none=True)
    target = fields.String(load_default=None, allow_none=True)


@event_type("case.decided", description="the handling plan, citing its legal basis")
class CaseDecided(_Moving):
    decision_id = fields.String(required=True)
    legal_basis = _codes(required=True, validate=validate.Length(min=1))
    measures = fields.List(
        fields.Nested(_MeasureOut), required=True, validate=validate.Length(min=1)
    )
    summary = fields.String(load_default="")
    appraisal_id = fields.String(required=True)


@event_type(
    "measure.assigned",
    description="one measure of a decision, to the agency that carries it out",
)
class MeasureAssigned(_Moving):
    measure_id = fields.String(required=True)
    decision_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEASURE_KINDS))
    agency = _agency(required=True)
    due_at = UtcDateTime(required=True)
    sanction_code = fields.String(load_default=None, allow_none=True)
    target = fields.String(load_default=None, allow_none=True)
    platform = fields.String(load_default=None, allow_none=True)
    description = fields.String(load_default="")
    legal_basis = _codes(load_default=list)


class _EvidenceOut(Schema):
    description = fields.String(required=True)
    url = fields.String(load_default=None, allow_none=True)
    attachment = fields.Nested(AttachmentSchema, load_default=None, allow_none=True)


@event_type("measure.reported", description="the handling result of one measure")
class MeasureReported(Schema):
    measure_id = fields.String(required=True)
    decision_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(MEASURE_KINDS))
    agency = _agency(required=True)
    result = fields.String(required=True, validate=validate.OneOf(RESULTS))
    evidence = fields.List(fields.Nested(_EvidenceOut), required=True)
    note = fields.String(load_default="")
    difficulties = fields.String(load_default="")
    revision = fields.Integer(required=True, validate=validate.Range(min=1))
    late = fields.Boolean(load_default=False)
    recorded_by = fields.Nested(ActorRef, load_default=None, allow_none=True)


class _ResultCounts(Schema):
    done = fields.Integer(required=True)
    partly_done = fields.Integer(required=True)
    not_possible = fields.Integer(required=True)


@event_type("case.resolved", description="every measure of the decision is reported")
class CaseResolved(_Moving):
    reason = fields.String(load_default="")
    decision_id = fields.String(required=True)
    results = fields.Nested(_ResultCounts, required=True)


@event_type("case.closed", description="DIC closed the case")
class CaseClosed(_Moving):
    reason = fields.String(load_default="")


@event_type(
    "case.reopened", description="a closed or rejected case goes back to verification"
)
class CaseReopened(_Moving):
    reason = fields.String(required=True, validate=validate.Length(min=1))
    cycle = fields.Integer(required=True, validate=validate.Range(min=2))

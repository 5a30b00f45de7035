"""What the press service accepts: its configuration section and the
requests of its RPC methods (the gateway validates with the same schemas).

A bad value is refused with the field named and the reason, in the error's
``fields``.
"""

from datetime import timedelta

from marshmallow import (
    RAISE,
    Schema,
    fields,
    validate,
    validates_schema,
)
from marshmallow import ValidationError as SchemaError

from phoihop.constants import CLASSIFICATIONS
from phoihop.deadlines import DeadlinePolicySchema, parse_duration
from phoihop.errors import ValidationError

# The deadline kind of the 2-hour clock of Art. 7.6.d.
INITIAL_INFO_KIND = "initial_info"

_AGENCY = validate.Regexp(r"^[a-z][a-z0-9_-]{1,63}$", error="an agency code")
_TEXT = 20_000
_TITLE = 500


class _Strict(Schema):
    class Meta:
        unknown = RAISE


# Configuration -------------------------------------------------------------


class RegistrySettings(_Strict):
    """Where the agency registry is read from (``phoihop.agencies``)."""

    path = fields.String(load_default=None, allow_none=True)
    extra_paths = fields.List(fields.String(), load_default=list)


class DisclosureSettings(_Strict):
    """What may not leave in a statement (Art. 4: protect state secrets).

    ``refused_case_levels``: a case at one of these levels gives no
    statement at all. ``protected_item_levels``: the captured text of a
    content item at one of these levels may not be repeated in a statement.
    An item's level is the strictest the case has had since it was opened.
    """

    refused_case_levels = fields.List(
        fields.String(validate=validate.OneOf(CLASSIFICATIONS)),
        load_default=lambda: ["confidential", "secret"],
    )
    protected_item_levels = fields.List(
        fields.String(validate=validate.OneOf(CLASSIFICATIONS)),
        load_default=lambda: ["internal", "confidential", "secret"],
    )


class PressSettings(_Strict):
    """The ``press:`` section of ``deploy/config/press.yaml``.

    ``deadlines`` is read by ``phoihop.deadlines`` (the durable clock); its
    kind ``initial_info`` is the 2-hour limit of Art. 7.6.d and its
    reminders, checked here so that a limit in working days, or a reminder
    before the clock even starts, stops the service at start.
    """

    deadlines = fields.Dict(load_default=dict)
    templates_dir = fields.String(load_default=None, allow_none=True)
    legal_basis_path = fields.String(load_default=None, allow_none=True)
    # A default is used as given, not loaded: build it through the schema so
    # that its own defaults apply.
    registry = fields.Nested(
        RegistrySettings, load_default=lambda: RegistrySettings().load({})
    )
    disclosure = fields.Nested(
        DisclosureSettings, load_default=lambda: DisclosureSettings().load({})
    )
    list_limit = fields.Integer(
        load_default=200, validate=validate.Range(min=1, max=10_000)
    )

    @validates_schema
    def _check_clock(self, data, **kwargs):
        policy = data.get("deadlines") or {}
        try:
            loaded = DeadlinePolicySchema().load(policy)
        except SchemaError as exc:
            raise SchemaError({"deadlines": exc.messages}) from exc
        rule = loaded["kinds"].get(INITIAL_INFO_KIND)
        if rule is None:
            return
        amount, unit = parse_duration(rule["duration"])
        if unit == "working_days":
            raise SchemaError(
                "Art. 7.6.d counts clock hours: use s, m, h or d, not wd",
                "deadlines.kinds.initial_info.duration",
            )
        minutes = timedelta(**{unit: amount}).total_seconds() / 60
        reminders = rule.get("reminders_minutes") or loaded["reminders_minutes"]
        late = [offset for offset in reminders if offset >= minutes]
        if late:
            raise SchemaError(
                f"each reminder must fall after the clock starts: under "
                f"{minutes:g} minutes before the due time",
                "deadlines.kinds.initial_info.reminders_minutes",
            )


# RPC requests --------------------------------------------------------------


def _text(**kwargs):
    return fields.String(validate=validate.Length(max=_TEXT), **kwargs)


def _measures(**kwargs):
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=2000)),
        validate=validate.Length(max=50),
        **kwargs,
    )


class ActorRequest(_Strict):
    """Who calls a mutating method: the gateway passes the caller."""

    agency = fields.String(required=True, validate=_AGENCY)
    officer = fields.String(required=True, validate=validate.Length(min=1, max=200))


class DraftRequest(_Strict):
    """A new initial-information or official statement.

    ``agency`` is who issues it; by default the agency that owes the case's
    initial information, or the caller's agency.
    """

    agency = fields.String(load_default=None, allow_none=True, validate=_AGENCY)
    facts = _text(load_default=None, allow_none=True)
    leadership_position = _text(load_default=None, allow_none=True)
    first_measures = _measures(load_default=list)
    title = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=_TITLE)
    )
    body = _text(load_default=None, allow_none=True)


class ResultsDraftRequest(_Strict):
    facts = _text(load_default=None, allow_none=True)
    title = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=_TITLE)
    )
    body = _text(load_default=None, allow_none=True)


class UpdateRequest(_Strict):
    """Changes to a draft. A change to facts, position or measures redraws
    the body from the template unless ``body`` is given too. ``revision``,
    when given, must be the statement's current one (no lost updates)."""

    title = fields.String(validate=validate.Length(min=1, max=_TITLE))
    body = fields.String(validate=validate.Length(min=1, max=_TEXT))
    facts = _text()
    leadership_position = _text()
    first_measures = _measures()
    revision = fields.Integer(validate=validate.Range(min=1))

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"revision"}:
            raise SchemaError(
                "give at least one of title, body, facts, leadership_position, "
                "first_measures",
                "changes",
            )


class DistributeRequest(_Strict):
    recipients = fields.List(
        fields.String(validate=_AGENCY),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1),
    )


def flatten_errors(messages, prefix=""):
    """marshmallow's nested messages as ``{"a.b.c": "reason"}``.

    A ``Dict`` field nests a value's errors under ``"value"``; that level is
    dropped so the path reads as the configuration is written.
    """
    flat = {}
    for key, value in messages.items():
        name = prefix if key == "value" and prefix else f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_errors(value, f"{name.rstrip('.')}."))
        else:
            flat[name.rstrip(".")] = "; ".join(str(item) for item in value)

    return flat


def load_request(schema, data, what, prefix=""):
    """Load ``data`` with ``schema``; refuse naming every bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValidationError(
            f"invalid {what}", {prefix.rstrip(".") or what: "an object"}
        )
    try:
        return schema().load(data)
    except SchemaError as exc:
        raise ValidationError(
            f"invalid {what}", flatten_errors(exc.messages, prefix)
        ) from exc

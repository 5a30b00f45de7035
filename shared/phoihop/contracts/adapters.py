"""Event types emitted by the adapter host: delivery receipts.

Each time an adapter carries an event to its agency, the host records a
receipt: when, through which transports, after how many attempts. The case
timeline shows that the City Police was notified of an assignment, and the
press service can see which press agencies a statement reached. When a
delivery fails for good the host says so with ``adapter.delivery_failed``,
so that a dead letter never goes unnoticed on the dashboard.

Neither event moves a case, and neither carries content: the host never
delivers ``adapter.*`` events to adapters, so a receipt cannot loop.
"""

from marshmallow import Schema, fields, validate

from phoihop.events import UtcDateTime, event_type

_CODE = validate.Length(min=1, max=64)


class ReceiptSchema(Schema):
    """What one transport reported: a status, a message id, a file."""

    transport = fields.String(required=True, validate=_CODE)
    status = fields.Integer(load_default=None, allow_none=True)
    message_id = fields.String(load_default=None, allow_none=True)
    file = fields.String(load_default=None, allow_none=True)
    queue = fields.String(load_default=None, allow_none=True)
    elapsed_ms = fields.Float(load_default=None, allow_none=True)
    recipients = fields.Integer(load_default=None, allow_none=True)
    bytes = fields.Integer(load_default=None, allow_none=True)


# What a transport's receipt may say; the host keeps only these keys.
RECEIPT_KEYS = frozenset(ReceiptSchema._declared_fields)


class _Delivery(Schema):
    adapter = fields.String(required=True, validate=_CODE)
    agency = fields.String(required=True, validate=_CODE)
    event_id = fields.String(required=True)
    event_type = fields.String(required=True)
    attempts = fields.Integer(required=True, validate=validate.Range(min=1))
    redacted = fields.Boolean(load_default=False)


@event_type(
    "adapter.delivered", description="an adapter carried an event to its agency"
)
class DeliveredPayload(_Delivery):
    delivered_at = UtcDateTime(required=True)
    transports = fields.List(fields.String(validate=_CODE), required=True)
    receipts = fields.List(fields.Nested(ReceiptSchema), load_default=list)


@event_type(
    "adapter.delivery_failed",
    description="a delivery failed for good and went to the dead-letter queue",
)
class DeliveryFailedPayload(_Delivery):
    failed_at = UtcDateTime(required=True)
    error = fields.String(required=True, validate=validate.Length(max=2000))
    dead_letter_queue = fields.String(required=True)
    # The earlier event of the same case this one waits behind, when the
    # case is held to keep its order (not a failure of this event itself).
    held_behind = fields.String(load_default=None, allow_none=True)

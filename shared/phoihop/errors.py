"""The library's exceptions: one root, one subclass per way things go wrong.

Errors that cross nameko RPC are registered with ``deserialize_to_instance``
so the caller gets the real type back (and the gateway can map it to a
status code) instead of a generic ``RemoteError``.
"""

from nameko.exceptions import deserialize_to_instance


class PhoihopError(Exception):
    """Root of every error the product raises on purpose."""

    code = "error"

    def __init__(self, message, fields=None):
        super().__init__(message, fields)
        self.message = message
        self.fields = fields or {}

    def __str__(self):
        if not self.fields:
            return self.message
        return f"{self.message}: {self.fields}"

    def to_dict(self):
        return {"code": self.code, "message": self.message, "fields": self.fields}


@deserialize_to_instance
class ConfigError(PhoihopError):
    """Raised when a configuration file or value is missing or invalid."""

    code = "config_error"


@deserialize_to_instance
class ValidationError(PhoihopError):
    """Raised when input or an event fails its schema; ``fields`` names why."""

    code = "validation_error"


@deserialize_to_instance
class UnknownEventType(PhoihopError):
    """Raised when an event type is not in the registry."""

    code = "unknown_event_type"


@deserialize_to_instance
class NotFound(PhoihopError):
    """Raised when a case, report or other record does not exist."""

    code = "not_found"


@deserialize_to_instance
class Conflict(PhoihopError):
    """Raised when the request clashes with the record's current state."""

    code = "conflict"


@deserialize_to_instance
class IllegalTransition(Conflict):
    """Raised when a case is asked to move to a state it cannot reach."""

    code = "illegal_transition"


@deserialize_to_instance
class Forbidden(PhoihopError):
    """Raised when the caller may not see or do what it asked."""

    code = "forbidden"


@deserialize_to_instance
class Unauthenticated(PhoihopError):
    """Raised when a request carries no valid credential."""

    code = "unauthenticated"


@deserialize_to_instance
class ServiceUnavailable(PhoihopError):
    """Raised when the broker or the database cannot be reached."""

    code = "service_unavailable"


# Exceptions a service lists in ``expected_exceptions`` so that nameko logs
# them as warnings: they are the caller's mistake, not ours.
EXPECTED_ERRORS = (
    ValidationError,
    UnknownEventType,
    NotFound,
    Conflict,
    Forbidden,
    Unauthenticated,
)

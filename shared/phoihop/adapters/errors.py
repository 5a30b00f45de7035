"""What can go wrong in an adapter, and what the runner does about it.

The runner retries a delivery that raised ``DeliveryFailed`` (or any error
it does not know) with back-off, and dead-letters at once a delivery that
raised ``DeliveryRefused``: no retry can cure it.
"""

from phoihop.errors import ConfigError, PhoihopError


class AdapterError(PhoihopError):
    """Root of the errors of the adapter SDK."""

    code = "adapter_error"


class DeliveryFailed(AdapterError):
    """Raised when a delivery may succeed later (receiver down, timeout, 5xx)."""

    code = "delivery_failed"


class DeliveryRefused(AdapterError):
    """Raised when the receiver refused the delivery for good (4xx, bad
    address); the event goes to the dead-letter queue without retries."""

    code = "delivery_refused"


class PluginError(AdapterError):
    """Raised when an adapter plugin cannot be loaded or is not an adapter."""

    code = "plugin_error"


class AdapterConfigError(ConfigError):
    """Raised when the configuration of one adapter is missing or invalid."""

    code = "adapter_config_error"


class ApiError(AdapterError):
    """Raised when the public API refused an answer; ``status`` is the HTTP
    status and ``fields`` the gateway's reasons per field."""

    code = "api_error"

    def __init__(self, message, fields=None, status=None, error_code=None):
        super().__init__(message, fields)
        self.status = status
        self.error_code = error_code


class ApiRefused(ApiError, DeliveryRefused):
    """Raised when the API answered 4xx: the answer itself is wrong."""

    code = "api_refused"


class ApiUnavailable(ApiError, DeliveryFailed):
    """Raised when the API could not be reached or answered 5xx or 429."""

    code = "api_unavailable"

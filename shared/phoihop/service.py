"""What every phoihop service has: logging context, config check, health.

A service class inherits ``ServiceBase``; nameko collects the inherited
``health`` RPC method like any other entrypoint.
"""

from nameko.rpc import rpc

from phoihop.config import Config
from phoihop.errors import EXPECTED_ERRORS
from phoihop.logging import LogContext


class ServiceBase:
    """Base class of the services; sub-classes set ``name``."""

    name = None
    log = LogContext()
    settings = Config()

    @rpc(expected_exceptions=EXPECTED_ERRORS)
    def health(self):
        """Answer that the service is up; the local stack's status uses it."""
        return {"service": self.name, "status": "ok"}

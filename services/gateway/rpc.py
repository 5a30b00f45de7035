"""RPC to the other services with a deadline.

nameko's ``RpcProxy`` waits for a reply for ever. The gateway must answer
its callers, so every call here has a timeout: a service that does not
answer in time gives ``ServiceUnavailable`` (HTTP 503), and so does a
service that is not running at all. The request message carries the same
time as its AMQP expiration, so a call that timed out while it waited in
the queue is dropped by the broker instead of being carried out later,
when nobody is waiting for its answer.
"""

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError
from nameko.rpc import RpcProxy

from phoihop.errors import PhoihopError, ServiceUnavailable
from phoihop.logging import get_logger
from services.gateway.errors import UpstreamError, from_rpc_error

log = get_logger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0


class ServiceRpc(RpcProxy):
    """Dependency: a proxy of one service whose calls time out.

    ``setup()`` (once, at container start) reads the timeout from the
    gateway's section of the config; each worker gets a ``TimedProxy``.
    """

    def __init__(self, target_service, timeout=None, **options):
        super().__init__(target_service, **options)
        self.timeout = timeout

    def setup(self):
        section = self.container.config.get("gateway") or {}
        if self.timeout is None:
            self.timeout = float(
                section.get("rpc_timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
            )
        # Seconds, as kombu takes them; the broker drops the request once
        # nobody waits for its answer any more.
        self.options.setdefault("expiration", self.timeout)
        super().setup()

    def get_dependency(self, worker_ctx):
        return TimedProxy(
            super().get_dependency(worker_ctx), self.target_service, self.timeout
        )


class TimedProxy:
    """What a worker gets: ``proxy.method(*args, **kwargs)`` with a deadline."""

    def __init__(self, proxy, service, timeout):
        self._proxy = proxy
        self._service = service
        self._timeout = timeout

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        return lambda *args, **kwargs: self._call(method, args, kwargs)

    def _call(self, method, args, kwargs):
        timer = None
        try:
            reply = getattr(self._proxy, method).call_async(*args, **kwargs)
            timer = eventlet.Timeout(self._timeout)
            return reply.result()
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            log.warning(
                "rpc_timeout",
                service=self._service,
                method=method,
                timeout=self._timeout,
            )
            raise ServiceUnavailable(
                f"the {self._service} service did not answer within "
                f"{self._timeout:g} s",
                {"service": self._service},
            ) from None
        except (OSError, OperationalError) as exc:
            log.warning("rpc_broker_unreachable", service=self._service, error=str(exc))
            raise ServiceUnavailable(
                "the message broker cannot be reached", {"service": self._service}
            ) from exc
        except PhoihopError:
            raise
        except Exception as exc:
            mapped = from_rpc_error(self._service, method, exc)
            if mapped is None:
                raise
            if isinstance(mapped, UpstreamError):
                detail = exc.value if isinstance(exc, RemoteError) else str(exc)
                log.error(
                    "rpc_upstream_error",
                    service=self._service,
                    method=method,
                    error_type=type(exc).__name__,
                    error=str(detail)[:500],
                )
            raise mapped from exc
        finally:
            if timer is not None:
                timer.cancel()

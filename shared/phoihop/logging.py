"""Structured logs: structlog configured once, ids bound per worker call.

On a terminal the output is readable console lines; elsewhere (services under
the local stack, containers, CI) one JSON object per line. ``case_id``,
``event_id`` and ``correlation_id`` are bound through context variables by
the ``LogContext`` dependency provider, so every line a worker writes carries
them. Passwords in URIs and values of secret-looking keys are masked.
"""

import logging
import re
import sys

import structlog
from nameko.extensions import DependencyProvider

_configured = False

_URI_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):(?P<pw>[^@/\s]+)@"
)
_SECRET_KEYS = re.compile(
    r"(password|passwd|secret|token|api_key|apikey|authorization)", re.I
)
MASK = "***"


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written.

    Binding the stream object at configuration time breaks when it is
    swapped later and closed (a command run inside another process, a
    captured test): every later log line would raise on the closed file.
    """

    def write(self, text):
        return sys.stderr.write(text)

    def flush(self):
        sys.stderr.flush()

    def isatty(self):
        return sys.stderr.isatty()


STDERR = _Stderr()


def mask_secrets(text):
    """Mask the password part of every URI found in ``text``."""
    return _URI_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def _mask_processor(_logger, _method, event_dict):
    for key, value in list(event_dict.items()):
        if _SECRET_KEYS.search(key) and value not in (None, ""):
            event_dict[key] = MASK
        elif isinstance(value, str) and "://" in value:
            event_dict[key] = mask_secrets(value)

    return event_dict


def configure_logging(service=None, level="INFO", json=None, force=False):
    """Configure structlog and the standard library logging once.

    ``json`` defaults to "not a terminal". Call again with ``force=True``
    (tests do) to change the settings.
    """
    global _configured
    if _configured and not force:
        return
    if json is None:
        json = not sys.stderr.isatty()

    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    if service:
        shared.insert(0, _bind_service(service))
    renderer = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info
            if json
            else structlog.dev.set_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=STDERR),
        cache_logger_on_first_use=False,
    )

    # Library logs (nameko, kombu, pymongo) go through the same renderer so an
    # operator reads one format; they are kept at WARNING to avoid chatter.
    handler = logging.StreamHandler(STDERR)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    # py-amqp warns about every late ack on a channel a short-lived RPC
    # proxy is closing; harmless, and it drowns what matters.
    logging.getLogger("amqp").setLevel(logging.ERROR)
    _configured = True


def _bind_service(service):
    def processor(_logger, _method, event_dict):
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def get_logger(name=None):
    return structlog.get_logger(name)


def bind_ids(case_id=None, event_id=None, correlation_id=None, **extra):
    """Bind ids for the current worker; None values are not bound."""
    values = {
        "case_id": case_id,
        "event_id": event_id,
        "correlation_id": correlation_id,
        **extra,
    }
    structlog.contextvars.bind_contextvars(
        **{key: value for key, value in values.items() if value is not None}
    )


class LogContext(DependencyProvider):
    """Binds the ids of each worker call into the logging context.

    ``setup()`` (once, at container start) configures logging for the service.
    ``worker_setup()`` runs before each worker: it clears the context and binds
    the ids found in the worker's context data (set by the event entrypoint
    from the envelope, or by an RPC caller). ``worker_result()`` writes the one
    summary line of the call, and ``worker_teardown()`` clears the context.
    """

    def setup(self):
        configure_logging(self.container.service_name)

    def worker_setup(self, worker_ctx):
        structlog.contextvars.clear_contextvars()
        data = worker_ctx.context_data
        bind_ids(
            case_id=data.get("case_id"),
            event_id=data.get("event_id"),
            correlation_id=data.get("correlation_id") or worker_ctx.call_id_stack[0],
            entrypoint=worker_ctx.entrypoint.method_name,
        )

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        log = get_logger("phoihop.worker")
        if exc_info is None:
            log.debug("worker_done")
            return
        expected = getattr(worker_ctx.entrypoint, "expected_exceptions", ())
        if expected and isinstance(exc_info[1], expected):
            log.warning("worker_refused", error=str(exc_info[1]))
        else:
            log.error("worker_failed", error=repr(exc_info[1]), exc_info=exc_info)

    def worker_teardown(self, worker_ctx):
        structlog.contextvars.clear_contextvars()

    def get_dependency(self, worker_ctx):
        return get_logger(self.container.service_name)

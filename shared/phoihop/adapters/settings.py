"""The ``adapters`` section of the configuration, and adapters built from it.

One entry per adapter under ``instances``::

    adapters:
      gateway_url: ${PHOIHOP_GATEWAY_URL:http://127.0.0.1:8000}
      defaults: {prefetch: 20, concurrency: 4, max_attempts: 20}
      instances:
        police:
          plugin: police               # entry-point name (default: the key)
          api_key_env: POLICE_API_KEY  # the adapter's own API key, if it answers
          options: {auto_answer: false}
          transports:
            - {kind: webhook, url: "https://...", secret_env: POLICE_HOOK_SECRET}
        departments:
          plugin: department
          agencies: "dept-*"           # one adapter per matching agency

Nothing runs without an entry here: installing a package that declares an
adapter does not by itself send any event anywhere. Secrets are named by
their environment variable, never written. An entry that cannot be built
(unknown plugin, missing secret, bad transport) is reported by name and
skipped; the others run.
"""

import fnmatch
import os
from dataclasses import dataclass, field

from marshmallow import RAISE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from phoihop.adapters.adapter import DELIVERED, Adapter
from phoihop.adapters.client import ApiClient
from phoihop.adapters.errors import AdapterConfigError
from phoihop.adapters.ledger import DEFAULT_RETENTION_DAYS
from phoihop.adapters.runner import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_PREFETCH,
    DEFAULT_RETRY_DELAYS,
    RunnerSettings,
)
from phoihop.adapters.templates import check_templates
from phoihop.adapters.topology import (
    NAME_PATTERN,
    queue_name,
    remote_queue_name,
    topic_matches,
)
from phoihop.adapters.transports import TransportContext, build_transport
from phoihop.adapters.transports.base import ENV_NAME
from phoihop.constants import EVENTS_EXCHANGE
from phoihop.logging import get_logger

log = get_logger(__name__)

HOST = "host"
REMOTE = "remote"
RUN_MODES = (HOST, REMOTE)

_NAME = validate.Regexp(NAME_PATTERN, error="lower-case ASCII letters, digits, - and _")


class LimitsSchema(Schema):
    """Prefetch, concurrency and retries of one adapter."""

    class Meta:
        unknown = RAISE

    prefetch = fields.Integer(validate=validate.Range(min=1, max=1000))
    concurrency = fields.Integer(validate=validate.Range(min=1, max=64))
    max_attempts = fields.Integer(validate=validate.Range(min=1, max=1000))
    retry_delays = fields.List(
        fields.Float(validate=validate.Range(min=0.01, max=86400)),
        validate=validate.Length(min=1),
    )


class InstanceSchema(LimitsSchema):
    plugin = fields.String(load_default=None, allow_none=True, validate=_NAME)
    agency = fields.String(load_default=None, allow_none=True, validate=_NAME)
    agencies = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
    )
    run = fields.String(load_default=HOST, validate=validate.OneOf(RUN_MODES))
    enabled = fields.Boolean(load_default=True)
    # May hold {AGENCY} (the code in capitals, "-" as "_") for an entry that
    # expands to many agencies; transports may use {AGENCY} and {agency}.
    api_key_env = fields.String(load_default=None, allow_none=True)
    options = fields.Dict(keys=fields.String(), load_default=dict)
    templates = fields.Dict(keys=fields.String(), load_default=dict)
    transports = fields.List(fields.Dict(), load_default=list)
    # Routing keys of a remote adapter whose plugin is not installed here.
    bindings = fields.List(fields.String(validate=validate.Length(min=1, max=255)))

    @validates_schema
    def _check(self, data, **kwargs):
        if data.get("agency") and data.get("agencies"):
            raise SchemaError("give agency or agencies, not both", "agencies")


class AdaptersSectionSchema(Schema):
    """The ``adapters`` section of ``deploy/config/adapters.yaml``."""

    class Meta:
        unknown = RAISE

    gateway_url = fields.String(load_default=None, allow_none=True)
    retention_days = fields.Integer(
        load_default=DEFAULT_RETENTION_DAYS, validate=validate.Range(min=1, max=3650)
    )
    # Run only these adapters in this process (split them across hosts).
    only = fields.List(fields.String(), load_default=None, allow_none=True)
    # Further registry files (the wards and communes DIC loads).
    registry_extra_paths = fields.List(fields.String(), load_default=list)
    defaults = fields.Nested(LimitsSchema, load_default=dict)
    instances = fields.Dict(
        keys=fields.String(validate=_NAME),
        values=fields.Dict(),
        load_default=dict,
    )


@dataclass
class InstanceSpec:
    """One adapter to run, resolved from the configuration."""

    name: str
    plugin: str | None
    cls: type | None
    agency: str
    run: str
    options: dict
    templates: dict
    transports: list
    api_key_env: str | None
    keys: tuple
    limits: dict = field(default_factory=dict)

    @property
    def queue(self):
        return queue_name(self.name)

    @property
    def remote_queue(self):
        return remote_queue_name(self.name)


@dataclass
class Plan:
    """What the configuration asks for: instances to run and broken ones."""

    instances: list = field(default_factory=list)
    broken: dict = field(default_factory=dict)
    disabled: list = field(default_factory=list)


def load_section(raw, where="adapters"):
    """Validate the raw ``adapters`` section; raise AdapterConfigError."""
    try:
        return AdaptersSectionSchema().load(raw or {})
    except SchemaError as exc:
        raise AdapterConfigError(
            f"{where}: invalid configuration", _flat(exc.messages, where)
        ) from exc


def _flat(messages, prefix):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, name))
        else:
            flat[name] = "; ".join(str(item) for item in value)
    return flat


def keys_for(cls, agency):
    """Routing keys of adapter class ``cls`` serving ``agency``."""
    keys = [sub.routing_key(agency) for _, sub in cls.subscriptions()]
    return tuple(dict.fromkeys(keys))


def _check_keys(keys, agency, where):
    for key in keys:
        if key in ("#", "*.#", "#.#"):
            raise AdapterConfigError(
                f"{where}: an adapter may not bind every event",
                {
                    f"{where}.bindings": (
                        "bind agency.<code>.# and the types its duties need"
                    )
                },
            )
        if key.startswith("agency.") and not topic_matches(f"agency.{agency}.#", key):
            raise AdapterConfigError(
                f"{where}: binds the copies of another agency",
                {f"{where}.bindings": f"{key} is not under agency.{agency}."},
            )


def plan_instances(section, discovery, registry):
    """Resolve every configured instance; errors are collected by name."""
    plan = Plan()
    defaults = {
        "prefetch": DEFAULT_PREFETCH,
        "concurrency": DEFAULT_CONCURRENCY,
        "max_attempts": DEFAULT_MAX_ATTEMPTS,
        "retry_delays": list(DEFAULT_RETRY_DELAYS),
        **section.get("defaults", {}),
    }
    only = set(section.get("only") or ())
    for key, raw in section.get("instances", {}).items():
        where = f"adapters.instances.{key}"
        try:
            data = InstanceSchema().load(raw or {})
        except SchemaError as exc:
            plan.broken[key] = AdapterConfigError(
                f"{where}: invalid configuration", _flat(exc.messages, where)
            )
            continue
        if not data["enabled"]:
            plan.disabled.append(key)
            continue
        for name, agency in _expand(key, data, registry):
            if only and name not in only and key not in only:
                continue
            try:
                plan.instances.append(
                    _resolve(name, agency, data, defaults, discovery, registry)
                )
            except AdapterConfigError as exc:
                plan.broken[name] = exc

    return plan


def _expand(key, data, registry):
    """(instance name, agency) pairs of one configuration entry."""
    pattern = data.get("agencies")
    if not pattern:
        return [(key, data.get("agency"))]
    if registry is None:
        raise AdapterConfigError(f"adapters.instances.{key}: needs the agency registry")
    # Agencies valid today; DIC's later files (wards, communes) join here.
    codes = [code for code in registry.codes() if fnmatch.fnmatchcase(code, pattern)]

    return [(code, code) for code in codes]


def _resolve(name, agency, data, defaults, discovery, registry):
    where = f"adapters.instances.{name}"
    plugin_name = data.get("plugin") or name
    plugin = discovery.plugins.get(plugin_name) if discovery else None
    if plugin is None and data["run"] == HOST:
        broken = discovery.broken.get(plugin_name) if discovery else None
        reason = broken.error if broken else "no installed package declares it"
        raise AdapterConfigError(
            f"{where}: adapter plugin {plugin_name!r} is not available",
            {f"{where}.plugin": reason},
        )
    cls = plugin.cls if plugin else None
    agency = agency or (cls.agency if cls else None)
    if not agency:
        raise AdapterConfigError(
            f"{where}: no agency", {f"{where}.agency": "give the agency code it serves"}
        )
    if registry is not None and agency not in registry:
        raise AdapterConfigError(
            f"{where}: agency {agency!r} is not in the registry",
            {f"{where}.agency": "unknown agency code"},
        )
    if cls is not None and cls.agency and cls.agency != agency:
        raise AdapterConfigError(
            f"{where}: plugin {plugin_name!r} serves {cls.agency!r}, not {agency!r}",
            {f"{where}.agency": f"must be {cls.agency!r} or absent"},
        )
    if cls is not None:
        keys = keys_for(cls, agency)
    elif data.get("bindings"):
        keys = tuple(dict.fromkeys(data["bindings"]))
    else:
        raise AdapterConfigError(
            f"{where}: a remote adapter not installed here needs its bindings",
            {f"{where}.bindings": "list the routing keys it receives"},
        )
    _check_keys(keys, agency, where)
    api_key_env = _for_agency(data.get("api_key_env"), agency)
    if api_key_env is not None:
        try:
            ENV_NAME(api_key_env)
        except SchemaError as exc:
            raise AdapterConfigError(
                f"{where}: invalid api_key_env",
                {f"{where}.api_key_env": "; ".join(exc.messages)},
            ) from exc
    limits = {**defaults, **{k: data[k] for k in LimitsSchema().fields if k in data}}

    return InstanceSpec(
        name=name,
        plugin=plugin_name if cls else None,
        cls=cls,
        agency=agency,
        run=data["run"],
        options=data["options"],
        templates=check_templates(data["templates"], f"{where}.templates"),
        transports=_for_agency(data["transports"], agency),
        api_key_env=api_key_env,
        keys=keys,
        limits=limits,
    )


def env_part(agency):
    """An agency code as it appears in a variable name: DEPT_HEALTH."""
    return agency.upper().replace("-", "_")


def _for_agency(value, agency):
    """``value`` with {agency} and {AGENCY} replaced, in every string."""
    if isinstance(value, str):
        return value.replace("{AGENCY}", env_part(agency)).replace("{agency}", agency)
    if isinstance(value, list):
        return [_for_agency(item, agency) for item in value]
    if isinstance(value, dict):
        return {key: _for_agency(item, agency) for key, item in value.items()}
    return value


def runner_settings(spec, exchange=EVENTS_EXCHANGE, remote_side=False):
    """How to consume the queue of ``spec``.

    On the host: ``adapter.<name>``, declared with the adapter's keys. On an
    agency's machine (``remote_side``): ``adapter.<name>.remote``, which
    must already exist.
    """
    limits = spec.limits
    return RunnerSettings(
        queue=spec.remote_queue if remote_side else spec.queue,
        keys=spec.keys,
        declare=not remote_side,
        remote=spec.run == REMOTE and not remote_side,
        exchange=exchange,
        prefetch=limits["prefetch"],
        concurrency=limits["concurrency"],
        max_attempts=limits["max_attempts"],
        retry_delays=tuple(limits["retry_delays"]),
    )


class ForwardingAdapter(Adapter):
    """The host's stand-in for an adapter an agency runs itself: every
    event of its queue goes, redacted, to ``adapter.<name>.remote``."""

    description = "hands events to an adapter run by the agency"

    def __init__(self, *args, keys=(), **kwargs):
        self._keys = tuple(keys)
        super().__init__(*args, **kwargs)

    def routing_keys(self):
        return list(self._keys)

    def dispatch(self, event):
        self.deliver(event)
        return DELIVERED


def build_adapter(
    spec, registry, amqp_uri=None, gateway_url=None, environ=None, remote_side=False
):
    """Build the adapter object of ``spec`` with its transports and client.

    On the host a ``run: remote`` spec becomes a ``ForwardingAdapter``;
    on the agency's machine (``remote_side``) it is the agency's own class.
    """
    environ = os.environ if environ is None else environ
    forwarding = spec.run == REMOTE and not remote_side
    context = TransportContext(
        adapter=spec.name,
        agency=spec.agency,
        registry=registry,
        amqp_uri=amqp_uri,
        environ=environ,
        templates=spec.templates,
    )
    if forwarding:
        transports = [build_transport({"kind": "remote"}, context)]
    else:
        transports = [
            build_transport(settings, context, index)
            for index, settings in enumerate(spec.transports)
        ]
    api = None
    key = environ.get(spec.api_key_env) if spec.api_key_env else None
    if spec.api_key_env and not key and not forwarding:
        # Not an error by itself: an adapter that must answer refuses to
        # start without its client (see its setup), the others deliver.
        log.debug(
            "adapter_api_key_missing", adapter=spec.name, variable=spec.api_key_env
        )
    if key and not forwarding:
        if not gateway_url:
            raise AdapterConfigError(
                f"adapter {spec.name!r} answers through the API "
                "but no gateway_url is set",
                {"adapters.gateway_url": "the gateway's base URL"},
            )
        api = ApiClient(gateway_url, key, agency=spec.agency, adapter=spec.name)
    kwargs = {
        "agency": spec.agency,
        "options": spec.options,
        "transports": transports,
        "api": api,
        "registry": registry,
    }
    if forwarding:
        return ForwardingAdapter(spec.name, keys=spec.keys, **kwargs)

    return spec.cls(spec.name, **kwargs)

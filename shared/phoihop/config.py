"""Service configuration: one YAML file per service, environment overrides.

Each service reads ``deploy/config/<service>.yaml``. A value may be written
``${VAR:default}`` (or ``${VAR}`` when there is no sensible default) and is
then taken from the environment; the substituted text is parsed as YAML, so
``${PORT:8000}`` is an integer. The result is validated at start, and an
error names the file, the key and the problem.
"""

import os
import re
from pathlib import Path

import yaml
from marshmallow import INCLUDE, Schema, fields, validate
from marshmallow import ValidationError as SchemaError
from nameko.extensions import DependencyProvider

from phoihop.constants import (
    AMQP_URI_KEY,
    DB_PREFIX_KEY,
    EVENTS_EXCHANGE,
    EXCHANGE_KEY,
    MONGODB_URI_KEY,
)
from phoihop.errors import ConfigError

# ${VAR} or ${VAR:default}; the default may be empty and may contain colons.
_ENV_PATTERN = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<default>[^}]*))?\}"
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = Path(
    os.environ.get("PHOIHOP_CONFIG_DIR", PROJECT_ROOT / "deploy" / "config")
)


class BaseConfigSchema(Schema):
    """Keys every service needs; service sections are validated separately."""

    class Meta:
        unknown = INCLUDE

    AMQP_URI = fields.String(
        required=True,
        validate=validate.Regexp(r"^amqps?://", error="must start with amqp://"),
    )
    MONGODB_URI = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^mongodb(\+srv)?://", error="must start with mongodb://"
        ),
    )
    DB_PREFIX = fields.String(
        load_default="phoihop",
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{1,40}$", error="letters, digits, - and _ only"
        ),
    )
    EVENTS_EXCHANGE = fields.String(load_default=EVENTS_EXCHANGE)
    max_workers = fields.Integer(
        load_default=10, validate=validate.Range(min=1, max=1000)
    )


def substitute_env(text, environ=None):
    """Replace ``${VAR:default}`` markers in ``text`` from ``environ``."""
    environ = os.environ if environ is None else environ
    missing = []

    def replace(match):
        name, default = match.group("name"), match.group("default")
        if name in environ:
            return environ[name]
        if default is None:
            missing.append(name)
            return ""
        return default

    result = _ENV_PATTERN.sub(replace, text)
    if missing:
        raise ConfigError(
            "environment variables without a default are not set",
            {name: "set this variable or give a default" for name in missing},
        )

    return result


def _substitute_tree(node, environ):
    # Substitute scalar by scalar so that a value like "${PORT:8000}" can
    # become an integer once parsed, as nameko's own loader does.
    if isinstance(node, dict):
        return {key: _substitute_tree(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute_tree(value, environ) for value in node]
    if isinstance(node, str) and "${" in node:
        return _scalar(substitute_env(node, environ))
    return node


_NUMBER_OR_BOOL = re.compile(r"^(-?\d+(\.\d+)?|true|false|True|False)$")


def _scalar(text):
    # Only numbers and booleans are converted: parsing any text as YAML would
    # cut a password at "#" or turn "no" into False.
    if _NUMBER_OR_BOOL.match(text.strip()):
        return yaml.safe_load(text)
    return text


def read_config_file(path, environ=None):
    """Read one YAML config file with environment substitution, unvalidated."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"configuration file {path} is not valid YAML: {exc}"
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys")

    return _substitute_tree(raw, os.environ if environ is None else environ)


def _flatten_errors(messages, prefix=""):
    flat = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten_errors(value, f"{name}."))
        else:
            flat[name] = "; ".join(str(item) for item in value)
    return flat


def validate_config(config, section=None, section_schema=None, source="config"):
    """Validate ``config`` and, if given, its ``section`` with its schema.

    Returns the config with defaults filled in. Raises ConfigError naming
    every bad key as ``section.key``.
    """
    try:
        loaded = BaseConfigSchema().load(config)
    except SchemaError as exc:
        raise ConfigError(
            f"{source}: invalid configuration", _flatten_errors(exc.messages)
        ) from exc

    if section and section_schema is not None:
        try:
            loaded[section] = section_schema().load(config.get(section) or {})
        except SchemaError as exc:
            raise ConfigError(
                f"{source}: invalid configuration",
                _flatten_errors(exc.messages, f"{section}."),
            ) from exc

    return loaded


def config_path(service):
    return CONFIG_DIR / f"{service}.yaml"


def load_service_config(service, section_schema=None, path=None, environ=None):
    """Read and validate the configuration of ``service``."""
    path = Path(path) if path else config_path(service)
    raw = read_config_file(path, environ)

    return validate_config(raw, service, section_schema, source=str(path))


class Config(DependencyProvider):
    """Validates the container's config at start and hands workers a section.

    ``setup()`` runs once when the container starts, before any entrypoint
    accepts work: a bad value stops the service there with a ConfigError.
    Each worker receives the validated section of its service (a dict).
    """

    def __init__(self, section_schema=None):
        self.section_schema = section_schema
        self.section = {}

    def setup(self):
        name = self.container.service_name
        loaded = validate_config(
            dict(self.container.config), name, self.section_schema, source=name
        )
        self.section = loaded.get(name, {})

    def get_dependency(self, worker_ctx):
        return self.section


def amqp_uri(config):
    return config[AMQP_URI_KEY]


def mongodb_uri(config):
    return config[MONGODB_URI_KEY]


def db_prefix(config):
    return config.get(DB_PREFIX_KEY) or "phoihop"


def exchange_name(config):
    return config.get(EXCHANGE_KEY) or EVENTS_EXCHANGE

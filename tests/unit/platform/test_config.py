"""Service configuration: environment substitution and validation."""

import pytest
from marshmallow import Schema, fields

from phoihop.config import load_service_config, substitute_env, validate_config
from phoihop.errors import ConfigError

BASE = {
    "AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/",
    "MONGODB_URI": "mongodb://127.0.0.1:27018/",
}


class ImapSchema(Schema):
    port = fields.Integer(required=True)


class SectionSchema(Schema):
    imap = fields.Nested(ImapSchema, required=True)


def test_env_value_replaces_marker_and_default_applies_when_unset():
    text = "${HOST:localhost}:${PORT:5672}"

    assert substitute_env(text, {"HOST": "rabbit"}) == "rabbit:5672"


def test_default_may_contain_colons():
    assert substitute_env("${URI:amqp://a:b@h:1/}", {}) == "amqp://a:b@h:1/"


def test_missing_variable_without_default_names_the_variable():
    with pytest.raises(ConfigError) as refused:
        substitute_env("${SECRET_KEY}", {})

    assert "SECRET_KEY" in refused.value.fields


def test_numbers_become_numbers_but_passwords_keep_their_hash(tmp_path):
    path = tmp_path / "svc.yaml"
    path.write_text(
        "AMQP_URI: ${AMQP:amqp://u:p#1@h/}\n"
        "MONGODB_URI: mongodb://h/\n"
        "max_workers: ${WORKERS:4}\n"
    )

    config = load_service_config("svc", path=path, environ={})

    assert config["max_workers"] == 4
    assert config["AMQP_URI"] == "amqp://u:p#1@h/"


def test_bad_key_is_named_with_its_section():
    raw = {**BASE, "svc": {"imap": {"port": "not a port"}}}

    with pytest.raises(ConfigError) as refused:
        validate_config(raw, "svc", SectionSchema, source="svc.yaml")

    assert refused.value.fields == {"svc.imap.port": "Not a valid integer."}


def test_wrong_scheme_for_broker_is_refused():
    with pytest.raises(ConfigError) as refused:
        validate_config({**BASE, "AMQP_URI": "http://x"})

    assert "AMQP_URI" in refused.value.fields


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_service_config("svc", path=tmp_path / "absent.yaml")


def test_every_shipped_service_config_validates():
    for service in (
        "intake",
        "routing",
        "consultation",
        "press",
        "reporting",
        "adapters",
        "gateway",
    ):
        config = load_service_config(service, environ={})
        assert config["AMQP_URI"].startswith("amqp://")

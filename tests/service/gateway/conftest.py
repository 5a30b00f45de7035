"""Fixtures of the gateway tests: a running gateway, its peers, keys."""

import gateway_peers as peers
import pytest
import requests

from phoihop.auth import CredentialStore
from phoihop.store import database_name, get_database, make_client
from phoihop.testing import free_port
from services.gateway.service import GatewayService

PEPPER = "test-pepper-not-a-secret"


@pytest.fixture(autouse=True)
def _pepper(monkeypatch):
    monkeypatch.setenv("PHOIHOP_API_KEY_PEPPER", PEPPER)
    peers.calls.clear()


@pytest.fixture
def gateway_config(service_config):
    return {
        **service_config,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}",
        "gateway": {
            "rpc_timeout_seconds": 2,
            "rate_limit_per_minute": 6000,
            "rate_limit_burst": 1000,
            "stream_heartbeat_seconds": 1,
        },
    }


@pytest.fixture
def start_gateway(container_factory, gateway_config):
    def start(config=None):
        container = container_factory(GatewayService, config or gateway_config)
        container.start()
        return container

    return start


@pytest.fixture
def start_peers(container_factory, gateway_config):
    def start(*services):
        for service in services or peers.PEERS:
            container_factory(service, gateway_config).start()

    return start


@pytest.fixture
def base_url(gateway_config):
    return f"http://{gateway_config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def gateway(start_gateway, start_peers, base_url):
    """A gateway with every peer service answering."""
    start_peers()
    start_gateway()
    return base_url


@pytest.fixture
def credentials(gateway_config):
    client = make_client(gateway_config["MONGODB_URI"])
    db = get_database(client, database_name(gateway_config["DB_PREFIX"], "gateway"))
    store = CredentialStore(db, pepper=PEPPER.encode())
    store.ensure_indexes()
    yield store
    client.close()


@pytest.fixture
def make_key(credentials):
    """``make_key(agency, *roles, clearance=...)`` -> an API key."""

    def make(agency, *roles, clearance="internal", **kwargs):
        _, key = credentials.create(
            agency,
            f"Cán bộ {agency}",
            list(roles) or ["officer"],
            clearance=clearance,
            **kwargs,
        )
        return key

    return make


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session

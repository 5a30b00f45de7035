"""Fixtures shared by every test layer.

``test_env`` finds the broker and the database once per run (see
``phoihop.testing``); ``service_config`` gives each test its own database
prefix on top of the run's own virtual host.
"""

import eventlet

# nameko's containers run on eventlet; patch before anything opens a socket.
eventlet.monkey_patch()

import pytest  # noqa: E402
import structlog  # noqa: E402

from phoihop.contracts import load_all  # noqa: E402
from phoihop.testing import TestEnvironment  # noqa: E402

load_all()


@pytest.fixture(scope="session")
def test_env():
    env = TestEnvironment()
    yield env
    env.close()


@pytest.fixture
def service_config(test_env):
    """A fresh nameko config: same broker vhost, a database prefix of its own."""
    return test_env.config()


@pytest.fixture(autouse=True)
def _reset_log_context():
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item, settings):
    """A test over its time limit fails; the rest of the run goes on.

    Under eventlet the test runs in a green thread, so the timeout plugin
    would fall back to its timer thread, which ends the whole process and
    loses every later result. An eventlet timeout is raised in the test's
    own green thread instead, at its next wait.
    """
    timer = eventlet.Timeout(
        settings.timeout,
        pytest.fail.Exception(f"Timeout: more than {settings.timeout:g} s"),
    )
    item.cancel_timeout = timer.cancel
    return True

"""``phoihop dev restart``: the local stack's processes, one at a time."""

import os
import subprocess
import sys

import pytest

from phoihop.stack import Stack, port_open
from phoihop.testing import free_port


@pytest.fixture
def local_stack(test_env, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PHOIHOP_VAR": str(tmp_path),
        "PHOIHOP_DB_PORT": str(port),
        "AMQP_URI": test_env.amqp_uri,
        "PHOIHOP_LANG": "en",
    }
    local = Stack(var=tmp_path, env=env, db_port=port)
    local.start_database()
    yield local, env
    local.stop_process("secantusdb")


def dev(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "phoihop.cli", "dev", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_restart_starts_the_database_again_with_its_data(local_stack):
    local, env = local_stack
    before = local.read_pid("secantusdb")

    result = dev(env, "restart", "secantusdb")

    assert result.returncode == 0, result.stderr
    after = local.read_pid("secantusdb")
    assert after and after != before
    assert port_open("127.0.0.1", local.db_port)


def test_restart_of_an_unknown_process_names_the_known_ones(local_stack):
    _, env = local_stack

    result = dev(env, "restart", "routng")

    assert result.returncode == 2
    assert "routng" in result.stderr
    assert "routing" in result.stderr


def test_up_says_what_it_started_and_what_was_running(local_stack):
    local, env = local_stack
    try:
        first = dev(env, "up", "routing")
        again = dev(env, "up", "routing")
    finally:
        local.stop_process("routing")

    assert first.returncode == 0, first.stderr
    assert "Started: routing" in first.stderr
    assert "Already running: secantusdb" in first.stderr
    assert "Already running: secantusdb, routing" in again.stderr
    assert "Started" not in again.stderr


def test_status_exits_1_when_a_process_is_down(local_stack):
    _, env = local_stack

    result = dev(env, "status")

    assert result.returncode == 1
    assert "secantusdb" in result.stdout and "not running" in result.stdout

"""The local stack: SecantusDB and every service as its own process.

State lives under ``var/``: ``var/db`` the database files, ``var/log`` one log
file per process, ``var/run`` their pid files. RabbitMQ is not started here;
it is expected on localhost and checked.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from kombu import Connection

from phoihop.config import PROJECT_ROOT
from phoihop.runner import SERVICES

VAR = Path(os.environ.get("PHOIHOP_VAR", PROJECT_ROOT / "var"))
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_DB_PORT = 27018


@dataclass
class ProcessStatus:
    name: str
    pid: int | None
    running: bool
    healthy: bool | None
    log: Path


def amqp_uri():
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def db_port():
    return int(os.environ.get("PHOIHOP_DB_PORT", DEFAULT_DB_PORT))


def mongodb_uri():
    default = f"mongodb://127.0.0.1:{db_port()}/?directConnection=true"
    return os.environ.get("MONGODB_URI", default)


def check_rabbitmq(uri=None, timeout=3):
    """Return None if RabbitMQ answers, else the reason it does not."""
    uri = uri or amqp_uri()
    try:
        with Connection(uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return str(exc) or type(exc).__name__
    return None


def _port_open(host, port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _pid_file(name):
    return VAR / "run" / f"{name}.pid"


def _log_file(name):
    return VAR / "log" / f"{name}.log"


def _read_pid(name):
    try:
        pid = int(_pid_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def _spawn(name, argv, env):
    for folder in ("run", "log"):
        (VAR / folder).mkdir(parents=True, exist_ok=True)
    log = open(_log_file(name), "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    _pid_file(name).write_text(str(process.pid))
    return process.pid


def start_database(wait_seconds=30):
    """Start SecantusDB on its port unless something already listens there."""
    if _port_open("127.0.0.1", db_port()):
        return _read_pid("secantusdb")
    (VAR / "db").mkdir(parents=True, exist_ok=True)
    server = Path(sys.executable).parent / "secantusd-py"
    pid = _spawn(
        "secantusdb",
        [
            str(server),
            "--host",
            "127.0.0.1",
            "--port",
            str(db_port()),
            "--storage-path",
            str(VAR / "db"),
            "--log-level",
            "WARNING",
        ],
        os.environ.copy(),
    )
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if _port_open("127.0.0.1", db_port()):
            return pid
        time.sleep(0.2)
    raise RuntimeError(f"SecantusDB did not start; see {_log_file('secantusdb')}")


def service_env():
    env = os.environ.copy()
    env.setdefault("AMQP_URI", amqp_uri())
    env.setdefault("MONGODB_URI", mongodb_uri())
    return env


def available_services():
    return [
        name
        for name in SERVICES
        if (PROJECT_ROOT / "services" / name / "service.py").exists()
    ]


def start_service(name, env=None):
    if _read_pid(name):
        return _read_pid(name)
    argv = [sys.executable, "-m", "phoihop.cli", "run", name]
    return _spawn(name, argv, env or service_env())


def stop_process(name, timeout=20):
    pid = _read_pid(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)
    return True


def kill_process(name):
    """kill -9, as a crash would; the fault tests use it."""
    pid = _read_pid(name)
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)


def health(name, timeout=5):
    """Ask a service for its health over RPC; True, False or None (no answer)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    try:
        with ClusterRpcProxy({"AMQP_URI": amqp_uri()}, timeout=timeout) as proxy:
            return getattr(proxy, name).health().get("status") == "ok"
    except Exception:  # noqa: BLE001 - a service that does not answer is not healthy
        return None


def status(with_health=True):
    names = ["secantusdb", *available_services()]
    result = []
    for name in names:
        pid = _read_pid(name)
        healthy = None
        if name == "secantusdb":
            healthy = _port_open("127.0.0.1", db_port())
        elif pid and with_health:
            healthy = health(name)
        result.append(
            ProcessStatus(name, pid, pid is not None, healthy, _log_file(name))
        )
    return result


def wait_healthy(names, timeout=60):
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in list(pending):
            if health(name, timeout=2):
                pending.discard(name)
        if pending:
            time.sleep(0.5)
    return sorted(pending)


def up(services=None):
    start_database()
    env = service_env()
    names = services or available_services()
    for name in names:
        start_service(name, env)
    return names


def down():
    stopped = [name for name in reversed(available_services()) if stop_process(name)]
    if stop_process("secantusdb"):
        stopped.append("secantusdb")
    return stopped


def parse_host(uri):
    parsed = urlparse(uri)
    return parsed.hostname or "127.0.0.1", parsed.port or 5672


def amqp_uri_masked():
    from phoihop.logging import mask_secrets

    return mask_secrets(amqp_uri())

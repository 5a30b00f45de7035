"""The local stack: SecantusDB and every service as its own process.

State lives under a ``var/`` folder: ``var/db`` the database files,
``var/log`` one log file per process, ``var/run`` their pid files. RabbitMQ is
not started here; it is expected on localhost and checked. The end-to-end and
fault tests run a ``Stack`` of their own in a temporary folder, on their own
virtual host and database prefix.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection

from phoihop.config import PROJECT_ROOT
from phoihop.logging import mask_secrets
from phoihop.runner import SERVICES

# The health probes open and close short-lived RPC proxies; py-amqp warns
# about each late ack on a closing channel, which is harmless noise here.
logging.getLogger("amqp").setLevel(logging.ERROR)

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


def amqp_uri_masked():
    return mask_secrets(amqp_uri())


def check_rabbitmq(uri=None, timeout=3):
    """Return None if RabbitMQ answers, else the reason it does not."""
    uri = uri or amqp_uri()
    try:
        with Connection(uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        return str(exc) or type(exc).__name__
    return None


def port_open(host, port):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def available_services():
    root = PROJECT_ROOT / "services"
    return [name for name in SERVICES if (root / name / "service.py").exists()]


def _read_local_env(var):
    """Secrets of a local stack (``var/local.env``, written by the demo)."""
    path = Path(var) / "local.env"
    values = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    return values


class Stack:
    """A database and services as processes, with pid files and logs.

    ``env`` overrides the environment the services see (broker, database,
    prefix); by default the local defaults are used.
    """

    def __init__(self, var=VAR, env=None, db_port=None):
        self.var = Path(var)
        self.db_port = db_port or int(
            os.environ.get("PHOIHOP_DB_PORT", DEFAULT_DB_PORT)
        )
        self.env = os.environ.copy()
        self.env.update(_read_local_env(self.var))
        self.env.update(env or {})
        self.env.setdefault("AMQP_URI", DEFAULT_AMQP_URI)
        self.env.setdefault(
            "MONGODB_URI", f"mongodb://127.0.0.1:{self.db_port}/?directConnection=true"
        )

    @property
    def amqp_uri(self):
        return self.env["AMQP_URI"]

    def pid_file(self, name):
        return self.var / "run" / f"{name}.pid"

    def log_file(self, name):
        return self.var / "log" / f"{name}.log"

    def read_pid(self, name):
        try:
            pid = int(self.pid_file(name).read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        # A zombie child still answers kill 0; reap it if it is ours.
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            finished = 0
        return None if finished == pid else pid

    def _spawn(self, name, argv):
        for folder in ("run", "log"):
            (self.var / folder).mkdir(parents=True, exist_ok=True)
        with open(self.log_file(name), "ab") as log:
            process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        self.pid_file(name).write_text(str(process.pid))
        return process.pid

    def start_database(self, wait_seconds=30):
        """Start SecantusDB on its port unless something already listens."""
        if port_open("127.0.0.1", self.db_port):
            return self.read_pid("secantusdb")
        (self.var / "db").mkdir(parents=True, exist_ok=True)
        server = Path(sys.executable).parent / "secantusd-py"
        argv = [
            str(server),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.db_port),
            "--storage-path",
            str(self.var / "db"),
            "--log-level",
            "WARNING",
        ]
        pid = self._spawn("secantusdb", argv)
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline:
            if port_open("127.0.0.1", self.db_port):
                return pid
            time.sleep(0.2)
        raise RuntimeError(
            f"SecantusDB did not start; see {self.log_file('secantusdb')}"
        )

    def start_service(self, name):
        pid = self.read_pid(name)
        if pid:
            return pid
        argv = [sys.executable, "-m", "phoihop.cli", "run", name]
        return self._spawn(name, argv)

    def stop_process(self, name, timeout=20):
        pid = self.read_pid(name)
        if pid is None:
            self.pid_file(name).unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.read_pid(name):
            time.sleep(0.2)
        if self.read_pid(name):
            os.kill(pid, signal.SIGKILL)
        self.pid_file(name).unlink(missing_ok=True)
        return True

    def kill_process(self, name):
        """kill -9, as a crash would; the fault tests use it."""
        pid = self.read_pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.read_pid(name):
                time.sleep(0.05)
        self.pid_file(name).unlink(missing_ok=True)

    def health(self, name, timeout=5):
        """Ask a service for its health over RPC: True, or None (no answer)."""
        from nameko.standalone.rpc import ClusterRpcProxy

        try:
            with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=timeout) as proxy:
                return getattr(proxy, name).health().get("status") == "ok"
        except Exception:  # noqa: BLE001 - a service that does not answer is not healthy
            return None

    def status(self, with_health=True):
        result = []
        for name in ["secantusdb", *available_services()]:
            pid = self.read_pid(name)
            healthy = None
            if name == "secantusdb":
                healthy = port_open("127.0.0.1", self.db_port)
            elif pid and with_health:
                healthy = self.health(name)
            result.append(
                ProcessStatus(name, pid, pid is not None, healthy, self.log_file(name))
            )
        return result

    def wait_healthy(self, names, timeout=60):
        """Wait until each service answers; returns those that never did."""
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                if self.health(name, timeout=2):
                    pending.discard(name)
            if pending:
                time.sleep(0.5)
        return sorted(pending)

    def up(self, services=None):
        self.start_database()
        names = services or available_services()
        for name in names:
            self.start_service(name)
        return names

    def down(self):
        stopped = [
            name for name in reversed(available_services()) if self.stop_process(name)
        ]
        if self.stop_process("secantusdb"):
            stopped.append("secantusdb")
        return stopped

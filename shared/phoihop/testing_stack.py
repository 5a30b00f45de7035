"""A whole stack of service processes for end-to-end and fault tests.

The services run as separate processes (``phoihop run <name>``), as in
production, on the test run's own virtual host and a database prefix of
their own, with logs in a temporary folder. ``kill`` is ``kill -9``.

A test may replace a service's configuration file (the fault tests give the
adapters service their own adapter set): the files of ``deploy/config`` are
copied to the work folder, the replacements written over them, and the
processes read that folder (``PHOIHOP_CONFIG_DIR``). An adapter its agency
runs itself (``phoihop adapters run``) is started with ``start_remote``
and is then killed and restarted like a service.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

from kombu import Connection

from phoihop.config import CONFIG_DIR, PROJECT_ROOT
from phoihop.stack import Stack, available_services
from phoihop.store import database_name, get_database, make_client
from phoihop.testing import free_port

REMOTE_PREFIX = "adapter-"
RPC_REPLY_PREFIX = "rpc.reply-"


class ServiceStack:
    """Services as processes for one test module."""

    def __init__(
        self, test_env, workdir, services=None, extra_env=None, config_files=None
    ):
        self.test_env = test_env
        self.db_prefix = f"e{uuid.uuid4().hex[:8]}"
        self.http_port = free_port()
        self.workdir = Path(workdir)
        self.config_dir = self._config_dir(config_files or {})
        env = {
            "AMQP_URI": test_env.amqp_uri,
            "MONGODB_URI": test_env.mongodb_uri,
            "PHOIHOP_DB_PREFIX": self.db_prefix,
            "PHOIHOP_EXCHANGE": test_env.exchange,
            "PHOIHOP_HTTP_ADDRESS": f"127.0.0.1:{self.http_port}",
            "PHOIHOP_GATEWAY_URL": f"http://127.0.0.1:{self.http_port}",
            "PHOIHOP_VAR": str(self.workdir),
            "PHOIHOP_CONFIG_DIR": str(self.config_dir),
            "PHOIHOP_LOG_LEVEL": "INFO",
            **(extra_env or {}),
        }
        self.stack = Stack(var=self.workdir, env=env, db_port=1)
        self.services = services or available_services()
        self.remotes = {}
        self._client = None
        self._cpu_of_killed = 0.0

    def _config_dir(self, files):
        folder = self.workdir / "config"
        folder.mkdir(parents=True, exist_ok=True)
        for path in Path(CONFIG_DIR).glob("*.yaml"):
            shutil.copy(path, folder / path.name)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def vhost(self):
        return unquote(urlparse(self.test_env.amqp_uri).path[1:]) or "/"

    def config(self):
        """A nameko config for test-side producers and RPC proxies."""
        return self.test_env.config(db_prefix=self.db_prefix)

    # Processes -------------------------------------------------------------

    def start(self, timeout=90):
        for name in self.services:
            self.stack.start_service(name)
        pending = self.stack.wait_healthy(self.services, timeout=timeout)
        if pending:
            logs = {name: self.tail_log(name) for name in pending}
            raise RuntimeError(f"services did not start: {pending}\n{logs}")
        return self

    def start_remote(self, adapter, config_path, state_path):
        """``phoihop adapters run <adapter>``: an adapter its agency runs."""
        name = REMOTE_PREFIX + adapter
        self.remotes[name] = [
            sys.executable,
            "-m",
            "phoihop.cli",
            "adapters",
            "run",
            adapter,
            "--config",
            str(config_path),
            "--state",
            str(state_path),
        ]
        self._spawn_remote(name)
        return name

    def _spawn_remote(self, name):
        for folder in ("run", "log"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        with open(self.stack.log_file(name), "ab") as log:
            process = subprocess.Popen(
                self.remotes[name],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.stack.env,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        self.stack.pid_file(name).write_text(str(process.pid))

    def kill(self, name):
        """kill -9 a service or a remote adapter, as a crash would."""
        self._cpu_of_killed += process_cpu_seconds(self.stack.read_pid(name))
        self.stack.kill_process(name)

    def cpu_seconds(self):
        """CPU time the stack's processes used so far, killed ones too."""
        names = [*self.services, *self.remotes]
        return self._cpu_of_killed + sum(
            process_cpu_seconds(self.stack.read_pid(name)) for name in names
        )

    def restart(self, name, timeout=60):
        if name in self.remotes:
            if self.stack.read_pid(name) is None:
                self._spawn_remote(name)
            return
        self.stack.start_service(name)
        pending = self.stack.wait_healthy([name], timeout=timeout)
        if pending:
            raise RuntimeError(f"{name} did not come back:\n{self.tail_log(name)}")

    def running(self, name):
        return self.stack.read_pid(name) is not None

    def stop(self):
        for name in self.remotes:
            self.stack.stop_process(name)
        for name in reversed(self.services):
            self.stack.stop_process(name)
        if self._client is not None:
            self._client.close()

    def tail_log(self, name, lines=40):
        try:
            text = self.stack.log_file(name).read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # What the stack holds ---------------------------------------------------

    def database(self, service):
        """The database of ``service``, read by the test to check outcomes."""
        if self._client is None:
            self._client = make_client(
                self.test_env.mongodb_uri, serverSelectionTimeoutMS=30000
            )
        return get_database(self._client, database_name(self.db_prefix, service))

    def queue_names(self):
        """Every durable queue of the run's virtual host but RPC reply
        queues (see ``backlog``)."""
        ctl = shutil.which("rabbitmqctl")
        output = subprocess.run(
            [ctl, "list_queues", "-p", self.vhost, "name", "durable", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        names = []
        for line in output.splitlines():
            parts = line.split()
            if parts and parts[0].startswith(RPC_REPLY_PREFIX):
                continue
            if len(parts) == 2 and parts[1] == "true":
                names.append(parts[0])
        return sorted(names)

    def queue_depths(self, names=None):
        """Messages ready in each queue, by passive declaration (kombu)."""
        names = self.queue_names() if names is None else names
        depths = {}
        with Connection(self.test_env.amqp_uri, connect_timeout=10) as connection:
            for name in names:
                channel = connection.channel()
                try:
                    _, count, _ = channel.queue_declare(name, passive=True)
                except Exception:  # noqa: BLE001 - a queue that vanished holds nothing
                    count = 0
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001 - closed by the refusal
                        pass
                depths[name] = count
        return depths

    def consumers(self, queue):
        """How many consumers read ``queue`` now (0 if it does not exist)."""
        with Connection(self.test_env.amqp_uri, connect_timeout=10) as connection:
            channel = connection.channel()
            try:
                return channel.queue_declare(queue, passive=True)[2]
            except Exception:  # noqa: BLE001 - no such queue: nobody reads it
                return 0

    def backlog(self):
        """Queues holding messages, ready or unacknowledged, with counts.

        RPC reply queues are left out: a reply that came after its caller
        gave up stays there until the queue expires, and is nobody's work.
        """
        ctl = shutil.which("rabbitmqctl")
        output = subprocess.run(
            [ctl, "list_queues", "-p", self.vhost, "name", "messages", "-q"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        counts = {}
        for line in output.splitlines():
            parts = line.split()
            if parts and parts[0].startswith(RPC_REPLY_PREFIX):
                continue
            if len(parts) == 2 and parts[1].isdigit() and int(parts[1]):
                counts[parts[0]] = int(parts[1])
        return counts


def process_cpu_seconds(pid):
    """User and system CPU time of a process (Linux /proc), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until(condition, timeout, interval=0.5):
    """Poll ``condition`` until it returns something true; that value, or
    None at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)

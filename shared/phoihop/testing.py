"""Finding a broker and a database for tests, each run isolated.

Order of preference, for each of RabbitMQ and MongoDB:
1. ``AMQP_URI`` / ``MONGODB_URI`` from the environment;
2. a container started with testcontainers when a Docker engine answers;
3. the local RabbitMQ on 127.0.0.1:5672 and a SecantusDB that we start.

Each test run gets its own RabbitMQ virtual host (or, when vhosts cannot be
created, its own exchange name) and each test its own database prefix, so
runs and tests never see each other's messages or data.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

from amqp.exceptions import ChannelError
from kombu import Connection

LOCAL_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

# Every test run works on a virtual host of its own, named with this prefix.
VHOST_PREFIX = "phoihop-test-"


def docker_available():
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine here"
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SecantusServer:
    """A throwaway SecantusDB process on a free port, data in a temp dir."""

    def __init__(self, port=None, data_dir=None):
        self.port = port or free_port()
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="phoihop-db-"))
        self.process = None

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout=30):
        server = Path(sys.executable).parent / "secantusd-py"
        self.log = open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(server),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.data_dir),
                "--log-level",
                "WARNING",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                sock.settimeout(0.3)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"SecantusDB did not start on port {self.port}")

    def stop(self, kill=False):
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self):
        self.stop()
        self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def with_vhost(uri, vhost):
    parsed = urlparse(uri)
    return urlunparse(parsed._replace(path="/" + quote(vhost, safe="")))


def create_vhost(vhost, user="guest"):
    """Create a vhost with full rights for ``user``; False if we cannot."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        subprocess.run(
            [ctl, "add_vhost", vhost], check=True, capture_output=True, timeout=60
        )
        subprocess.run(
            [ctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError):
        return False
    return True


def delete_vhost(vhost):
    ctl = shutil.which("rabbitmqctl")
    if ctl:
        subprocess.run([ctl, "delete_vhost", vhost], capture_output=True, timeout=60)


class TestEnvironment:
    """Broker and database for one test run; call ``close()`` at the end."""

    def __init__(self):
        self.run_id = uuid.uuid4().hex[:8]
        self._cleanups = []
        self.amqp_uri, self.exchange = self._find_broker()
        self.mongodb_uri = self._find_database()

    def _find_broker(self):
        base = os.environ.get("AMQP_URI")
        if not base and docker_available():
            from testcontainers.rabbitmq import RabbitMqContainer

            container = RabbitMqContainer("rabbitmq:3-management").start()
            self._cleanups.append(container.stop)
            host = container.get_container_host_ip()
            port = container.get_exposed_port(5672)
            return f"amqp://guest:guest@{host}:{port}/", "phoihop.events"
        base = base or LOCAL_AMQP_URI
        vhost = f"{VHOST_PREFIX}{self.run_id}"
        if create_vhost(vhost):
            self._cleanups.append(lambda: delete_vhost(vhost))
            return with_vhost(base, vhost), "phoihop.events"
        # No rights to create a vhost: isolate by exchange name instead.
        return base, f"phoihop.events.{self.run_id}"

    def _find_database(self):
        uri = os.environ.get("MONGODB_URI")
        if uri:
            return uri
        if docker_available():
            from testcontainers.mongodb import MongoDbContainer

            container = MongoDbContainer("mongo:7").with_command(
                "--replSet rs0 --bind_ip_all"
            )
            container.start()
            self._cleanups.append(container.stop)
            host = container.get_container_host_ip()
            port = container.get_exposed_port(27017)
            uri = f"mongodb://{host}:{port}/?directConnection=true"
            _initiate_replica_set(uri, host, port)
            return uri
        self.database_server = SecantusServer().start()
        self._cleanups.append(self.database_server.cleanup)
        return self.database_server.uri

    def config(self, db_prefix=None, **extra):
        """A nameko config dict for a service under test."""
        return {
            "AMQP_URI": self.amqp_uri,
            "MONGODB_URI": self.mongodb_uri,
            "DB_PREFIX": db_prefix or f"t{uuid.uuid4().hex[:10]}",
            "EVENTS_EXCHANGE": self.exchange,
            "max_workers": 10,
            **extra,
        }

    def close(self):
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


def _initiate_replica_set(uri, host, port):
    from pymongo import MongoClient

    client = MongoClient(uri)
    try:
        client.admin.command(
            "replSetInitiate",
            {"_id": "rs0", "members": [{"_id": 0, "host": f"{host}:{port}"}]},
        )
    except Exception:  # noqa: BLE001 - already initiated
        pass
    client.close()


def run_queues(amqp_uri):
    """The names of the queues on a test run's own virtual host ([] when
    the host is not a test run's, or ``rabbitmqctl`` is not at hand)."""
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/"))
    ctl = shutil.which("rabbitmqctl")
    if not vhost.startswith(VHOST_PREFIX) or ctl is None:
        return []
    listed = subprocess.run(
        [ctl, "list_queues", "-p", vhost, "name", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def purge_queues(amqp_uri, names, delete=False):
    """Empty (or delete) the named queues; one that is gone is skipped."""
    with Connection(amqp_uri) as connection:
        for name in names:
            channel = connection.channel()
            try:
                if delete:
                    channel.queue_delete(name)
                else:
                    channel.queue_purge(name)
            except ChannelError:
                pass  # deleted meanwhile: nothing to empty
            finally:
                channel.close()

"""Provisioning an adapter an agency runs itself: its queue and its user.

``provision_remote_adapter`` declares ``adapter.<name>.remote`` with its
dead letters (and, when the keys are known, the host-side queue with its
bindings, so that events are kept from now on), then creates or updates the
RabbitMQ user ``adapter-<name>`` with these rights in the virtual host:

- configure: none (it cannot declare, delete or bind anything);
- write: only ``adapter.<name>.remote.dlx``, where its runner puts the
  deliveries that failed for good;
- read: only ``adapter.<name>.remote``.

The user cannot read another agency's queue, nor the events exchange (which
binding a queue of its own to it would need), so it sees only what the host
hands it, already redacted for its clearance. RabbitMQ lets any user check
that a queue exists (a passive declare) and how many messages it holds;
that is all it learns about other queues.

Users and rights are set with ``rabbitmqctl`` on the broker's machine, or
with the management HTTP API from elsewhere. Passwords travel on standard
input or in the request body, never on a command line other users could
see with ``ps``.
"""

import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlparse, urlunparse

import requests
from kombu import Connection

from phoihop.adapters.topology import (
    dead_letter_exchange_name,
    declare_adapter_queue,
    declare_remote_queue,
    remote_queue_name,
)
from phoihop.constants import EVENTS_EXCHANGE
from phoihop.errors import ConfigError, ServiceUnavailable

USER_PREFIX = "adapter-"


@dataclass
class Provisioned:
    """What an agency needs to run its adapter; shown once."""

    name: str
    user: str
    password: str
    vhost: str
    queue: str
    amqp_uri: str
    permissions: tuple


def user_name(adapter):
    return f"{USER_PREFIX}{adapter}"


def permissions(adapter):
    """(configure, write, read) regular expressions for the agency's user."""
    queue = remote_queue_name(adapter)
    return (
        "^$",
        f"^{re.escape(dead_letter_exchange_name(queue))}$",
        f"^{re.escape(queue)}$",
    )


def vhost_of(amqp_uri):
    path = urlparse(amqp_uri).path
    return unquote(path[1:]) if path and path != "/" else "/"


def agency_uri(amqp_uri, user, password, host=None):
    """The broker URI the agency's runner connects with."""
    parsed = urlparse(amqp_uri)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    netloc += host or parsed.hostname or "127.0.0.1"
    if parsed.port and not host:
        netloc += f":{parsed.port}"
    return urlunparse(parsed._replace(netloc=netloc))


class RabbitMqCtl:
    """Users and rights through ``rabbitmqctl`` on the broker's machine."""

    def __init__(self, executable=None):
        self.executable = executable or shutil.which("rabbitmqctl")
        if not self.executable:
            raise ConfigError(
                "rabbitmqctl is not installed here",
                {"--management-url": "give the management API's URL instead"},
            )

    def _run(self, *args, stdin=None):
        try:
            result = subprocess.run(
                [self.executable, *args],
                input=stdin,
                capture_output=True,
                text=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceUnavailable(f"rabbitmqctl failed: {exc}") from exc
        return result

    def user_exists(self, user):
        result = self._run("list_users", "--quiet", "--no-table-headers")
        if result.returncode != 0:
            raise ServiceUnavailable(f"rabbitmqctl list_users: {result.stderr.strip()}")
        return any(line.split("\t")[0] == user for line in result.stdout.splitlines())

    def set_user(self, user, password):
        command = "change_password" if self.user_exists(user) else "add_user"
        result = self._run(command, user, stdin=password + "\n")
        if result.returncode != 0:
            raise ServiceUnavailable(f"rabbitmqctl {command}: {result.stderr.strip()}")

    def set_permissions(self, vhost, user, configure, write, read):
        result = self._run("set_permissions", "-p", vhost, user, configure, write, read)
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"rabbitmqctl set_permissions: {result.stderr.strip()}"
            )

    def delete_user(self, user):
        self._run("delete_user", user)


class ManagementApi:
    """Users and rights through the RabbitMQ management HTTP API."""

    def __init__(self, url, username, password, timeout=15):
        self.url = url.rstrip("/")
        self.auth = (username, password)
        self.timeout = timeout

    def _put(self, path, body):
        try:
            response = requests.put(
                self.url + path, json=body, auth=self.auth, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"management API unreachable: {exc}") from exc
        if response.status_code >= 300:
            raise ServiceUnavailable(
                f"management API answered {response.status_code}: {response.text[:300]}"
            )

    def set_user(self, user, password):
        self._put(
            f"/api/users/{quote(user, safe='')}", {"password": password, "tags": ""}
        )

    def set_permissions(self, vhost, user, configure, write, read):
        self._put(
            f"/api/permissions/{quote(vhost, safe='')}/{quote(user, safe='')}",
            {"configure": configure, "write": write, "read": read},
        )

    def delete_user(self, user):
        try:
            requests.delete(
                f"{self.url}/api/users/{quote(user, safe='')}",
                auth=self.auth,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"management API unreachable: {exc}") from exc


def provision_remote_adapter(
    name,
    amqp_uri,
    users,
    password=None,
    keys=(),
    exchange=None,
    public_host=None,
):
    """Declare the queues of remote adapter ``name`` and set its user.

    ``users`` is a ``RabbitMqCtl`` or a ``ManagementApi``; ``keys`` are the
    adapter's routing keys, when known here; ``amqp_uri`` must carry an
    administrator's credentials.
    """
    password = password or secrets.token_urlsafe(24)
    try:
        with Connection(amqp_uri, connect_timeout=10) as connection:
            channel = connection.channel()
            queue = declare_remote_queue(channel, name)
            if keys:
                declare_adapter_queue(channel, name, keys, exchange or EVENTS_EXCHANGE)
    except OSError as exc:
        raise ServiceUnavailable(f"cannot reach RabbitMQ: {exc}") from exc
    user = user_name(name)
    vhost = vhost_of(amqp_uri)
    rights = permissions(name)
    users.set_user(user, password)
    users.set_permissions(vhost, user, *rights)

    return Provisioned(
        name=name,
        user=user,
        password=password,
        vhost=vhost,
        queue=queue,
        amqp_uri=agency_uri(amqp_uri, user, password, public_host),
        permissions=rights,
    )
